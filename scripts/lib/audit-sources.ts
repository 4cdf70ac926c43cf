import {
  DescribeLogStreamsCommand,
  GetLogEventsCommand,
  type CloudWatchLogsClient,
} from '@aws-sdk/client-cloudwatch-logs'
import { SERVICE_NAME } from '../../infra/stage-declarations'

/** The HTTP functions that write audit records (health writes none). */
export const AUDITED_FUNCTIONS = ['getSecret', 'batchGetSecrets', 'listSecrets', 'whoami'] as const

/** Every log stream of the audited functions, each in the order it was written (a stream is one container). */
export async function readCloudWatchStreams(
  logs: CloudWatchLogsClient,
  stage: string,
  startTime: number,
): Promise<{ name: string; lines: string[] }[]> {
  const sources: { name: string; lines: string[] }[] = []
  try {
    for (const fn of AUDITED_FUNCTIONS) {
      const logGroupName = `/aws/lambda/${SERVICE_NAME}-${stage}-${fn}`
      let streamsToken: string | undefined
      do {
        const streams = await logs.send(
          new DescribeLogStreamsCommand({ logGroupName, nextToken: streamsToken }),
        )
        for (const stream of streams.logStreams ?? []) {
          if (stream.logStreamName === undefined) continue
          const lines: string[] = []
          let token: string | undefined
          for (;;) {
            const page = await logs.send(
              new GetLogEventsCommand({
                logGroupName,
                logStreamName: stream.logStreamName,
                startFromHead: true,
                startTime,
                nextToken: token,
              }),
            )
            for (const e of page.events ?? []) if (e.message !== undefined) lines.push(e.message.trimEnd())
            if (page.nextForwardToken === undefined || page.nextForwardToken === token) break
            token = page.nextForwardToken
          }
          sources.push({ name: `${logGroupName}/${stream.logStreamName}`, lines })
        }
        streamsToken = streams.nextToken
      } while (streamsToken !== undefined)
    }
  } finally {
    logs.destroy()
  }
  return sources
}
