import type { RegisterEvent } from '../contract/register'
import type { Log } from '../lib/logger'
import type { MetricsSink } from '../lib/metrics'
import type { RegisterWriter } from '../lib/register'
import { classifyEvent, type IgnoreReason, type InvalidationScope } from './invalidation-event'

/**
 * What the invalidation function does with one event: classify it (pure), record an accepted move in the
 * register (the only write it may make), and say what happened in one log line and one metric. A register
 * failure is thrown, so Lambda retries the event (asynchronous invocation) and the errors alarm sees it.
 */
export interface InvalidationDeps {
  readonly scope: InvalidationScope
  readonly writer: RegisterWriter
  readonly log: Log
  readonly metrics?: MetricsSink
}

export type InvalidationOutcome =
  | {
      readonly outcome: 'recorded' | 'superseded'
      readonly secretName: string
      readonly event: RegisterEvent
      readonly versionId: string | undefined
    }
  | { readonly outcome: 'ignored'; readonly reason: IgnoreReason; readonly secretName: string | undefined }

const METRIC = {
  recorded: 'InvalidationRecorded',
  superseded: 'InvalidationSuperseded',
  ignored: 'InvalidationIgnored',
} as const

/** The event's id and type, clipped: an ignored event may come from anywhere and say anything. */
function describeEnvelope(event: unknown): { eventId?: string; detailType?: string } {
  if (typeof event !== 'object' || event === null) return {}
  const e = event as { id?: unknown; 'detail-type'?: unknown }
  return {
    ...(typeof e.id === 'string' ? { eventId: e.id.slice(0, 128) } : {}),
    ...(typeof e['detail-type'] === 'string' ? { detailType: e['detail-type'].slice(0, 64) } : {}),
  }
}

export async function recordInvalidation(
  event: unknown,
  deps: InvalidationDeps,
): Promise<InvalidationOutcome> {
  const classified = classifyEvent(event, deps.scope)
  let out: InvalidationOutcome
  if (!classified.accepted) {
    out = { outcome: 'ignored', reason: classified.reason, secretName: classified.secretName }
    deps.log.info('invalidation: event ignored', { ...out, ...describeEnvelope(event) })
  } else {
    const { change } = classified
    const outcome = await deps.writer.record(change)
    out = { outcome, secretName: change.secretName, event: change.event, versionId: change.versionId }
    deps.log.info(`invalidation: ${outcome}`, {
      ...out,
      eventId: change.eventId,
      at: new Date(change.at).toISOString(),
    })
  }
  deps.metrics?.count(METRIC[out.outcome])
  deps.metrics?.flush()
  return out
}
