import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { CloudTrailClient, LookupEventsCommand } from '@aws-sdk/client-cloudtrail'
import { CloudWatchLogsClient, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs'
import { secretAwsName } from '../infra/stack'
import { SERVICE_NAME } from '../infra/stage-declarations'
import type { AuditRecord } from '../src/lib/audit'
import { formatRows, parseSince, queryAudit } from './lib/audit-query'
import { MOTO_CREDENTIALS } from './lib/moto'
import { readAuditFile, readAuditLines } from './lib/audit-file'
import { AUDITED_FUNCTIONS, readCloudWatchStreams } from './lib/audit-sources'
import { formatChainReport, verifyAuditChains } from './lib/audit-verify'
import { defaultStateDir } from './lib/local-state'
import { quietToolEnv } from './lib/tool-env'

/**
 * `npm run audit -- --secret <name> [--principal <arn>] [--since 1h] [--stage local|dev|prod] [--cloudtrail] [--json]`
 * `npm run audit -- verify [--stage local|dev|prod] [--since 1d]`
 * Locally it reads the running stack's audit log (.broker/local.json names it); for dev and prod it reads
 * the HTTP functions' CloudWatch log groups with the caller's AWS credentials. `verify` checks every
 * container's chain of records (src/lib/audit.ts) and exits 1 on any gap, reordering or altered record.
 */
const HELP = `Usage: npm run audit -- --secret <name> [--principal <arn>] [--since 1h] [--stage local|dev|prod] [--cloudtrail] [--json] [--state .broker/local.json]
       npm run audit -- verify [--stage local|dev|prod] [--since 1d] [--state .broker/local.json]`

async function main(): Promise<void> {
  quietToolEnv()
  const { values, positionals } = parseArgs({
    options: {
      secret: { type: 'string' },
      principal: { type: 'string' },
      since: { type: 'string' },
      stage: { type: 'string', default: 'local' },
      cloudtrail: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      state: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: true,
  })
  if (values.help === true) return void process.stdout.write(`${HELP}\n`)
  const now = Date.now()
  if (positionals.length > 0) {
    if (positionals[0] !== 'verify' || positionals.length > 1) throw new Error(HELP)
    const since = values.since === undefined ? undefined : parseSince(values.since, now)
    const sources =
      values.stage === 'local'
        ? [localAuditFile(values.state)].map((f) => ({ name: f, lines: readAuditLines(f) }))
        : await readCloudWatchStreams(new CloudWatchLogsClient({}), values.stage, since ?? now - 86_400_000)
    const report = verifyAuditChains(sources)
    process.stdout.write(formatChainReport(report))
    if (report.problems.length > 0) process.exitCode = 1
    return
  }
  const query = {
    secret: values.secret,
    principal: values.principal,
    sinceMs: values.since === undefined ? undefined : parseSince(values.since, now),
  }
  const stage = values.stage
  let records: AuditRecord[]
  let local: { auditFile: string; motoEndpoint: string; region: string } | undefined
  if (stage === 'local') {
    local = readLocalState(values.state)
    records = readAuditFile(local.auditFile)
  } else {
    records = await readCloudWatch(stage, query.sinceMs ?? now - 86_400_000)
  }
  const rows = queryAudit(records, query)
  process.stdout.write(values.json ? `${JSON.stringify(rows, null, 2)}\n` : formatRows(rows))
  if (values.cloudtrail) await printCloudTrail(stage, values.secret, query.sinceMs, local)
}

function readLocalState(stateFile: string | undefined): {
  auditFile: string
  motoEndpoint: string
  region: string
} {
  const file = stateFile ?? join(defaultStateDir(), 'local.json')
  if (!existsSync(file))
    throw new Error('No local stack found (.broker/local.json is missing): run `npm start` first.')
  return JSON.parse(readFileSync(file, 'utf8')) as { auditFile: string; motoEndpoint: string; region: string }
}

function localAuditFile(stateFile: string | undefined): string {
  return readLocalState(stateFile).auditFile
}

async function readCloudWatch(stage: string, startTime: number): Promise<AuditRecord[]> {
  const logs = new CloudWatchLogsClient({})
  const out: AuditRecord[] = []
  for (const fn of AUDITED_FUNCTIONS) {
    let nextToken: string | undefined
    do {
      const page = await logs.send(
        new FilterLogEventsCommand({
          logGroupName: `/aws/lambda/${SERVICE_NAME}-${stage}-${fn}`,
          filterPattern: '{ $.audit = "secret.access" }',
          startTime,
          nextToken,
        }),
      )
      for (const e of page.events ?? []) {
        const start = e.message?.indexOf('{') ?? -1
        if (e.message !== undefined && start >= 0) out.push(JSON.parse(e.message.slice(start)) as AuditRecord)
      }
      nextToken = page.nextToken
    } while (nextToken !== undefined)
  }
  return out
}

async function printCloudTrail(
  stage: string,
  secret: string | undefined,
  sinceMs: number | undefined,
  local: { motoEndpoint: string; region: string } | undefined,
): Promise<void> {
  process.stdout.write(
    "\nCloudTrail (Secrets Manager's own record: rotations, PutSecretValue, and the broker role's reads — never the end caller):\n",
  )
  const client = new CloudTrailClient(
    local === undefined
      ? {}
      : { endpoint: local.motoEndpoint, region: local.region, credentials: MOTO_CREDENTIALS, maxAttempts: 1 },
  )
  try {
    const res = await client.send(
      new LookupEventsCommand({
        LookupAttributes: [{ AttributeKey: 'EventSource', AttributeValue: 'secretsmanager.amazonaws.com' }],
        ...(sinceMs === undefined ? {} : { StartTime: new Date(sinceMs) }),
      }),
    )
    const wanted = secret === undefined ? undefined : secretAwsName(stage, secret)
    const events = (res.Events ?? []).filter(
      (e) => wanted === undefined || (e.CloudTrailEvent ?? '').includes(wanted),
    )
    if (events.length === 0) process.stdout.write('No matching CloudTrail events.\n')
    for (const e of events)
      process.stdout.write(
        `${e.EventTime?.toISOString() ?? '-'}  ${e.EventName ?? '-'}  ${e.Username ?? '-'}\n`,
      )
  } catch (err) {
    const why =
      local === undefined
        ? err instanceof Error
          ? err.name
          : 'unknown error'
        : 'the local emulator (moto) does not implement CloudTrail LookupEvents'
    process.stdout.write(
      `CloudTrail is not available here: ${why}. The broker's audit log above is the record of who read what.\n`,
    )
  } finally {
    client.destroy()
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`npm run audit failed: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
