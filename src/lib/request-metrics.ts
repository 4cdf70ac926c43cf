import type { AuditFacts } from './http/route'
import { cacheMetric, outcomeMetric, type MetricCounts, type MetricTimings } from './metrics'
import { UPSTREAM_FAILURES, type UpstreamFailureKind } from './secrets'

/**
 * A request's metrics, from its audit facts: its outcome and cache state(s), the upstream calls made on its
 * behalf (count, latency, failures by kind), whether it was answered during a failure back-off, and the
 * invalidation register's part (reads, failures that made the container fall back to its shorter TTL,
 * secrets revalidated because they moved, revalidations for a caller ahead of the container). Pure, so the
 * audit line and the metrics cannot disagree.
 */
export function requestMetrics(facts: AuditFacts): { counts: MetricCounts; timings: MetricTimings } {
  const counts: MetricCounts = { [outcomeMetric(facts.outcome)]: 1 }
  const add = (name: keyof MetricCounts, n = 1): void => {
    counts[name] = (counts[name] ?? 0) + n
  }
  if (facts.cache !== undefined) add(cacheMetric(facts.cache))
  for (const item of facts.items ?? []) if (item.cache !== undefined) add(cacheMetric(item.cache))
  const timings: MetricTimings = {}
  const upstream = facts.upstream ?? []
  if (upstream.length > 0) {
    add('UpstreamCalls', upstream.length)
    timings.UpstreamLatency = upstream.map((c) => Math.round(c.durationMs * 100) / 100)
    for (const call of upstream) {
      if (call.failure !== undefined && call.failure in UPSTREAM_FAILURES)
        add(UPSTREAM_FAILURES[call.failure as UpstreamFailureKind].metric)
    }
  }
  if (facts.backedOff === true) add('UpstreamBackoff')
  const register = facts.register ?? []
  if (register.length > 0) add('RegisterReads', register.length)
  for (const call of register) {
    if (call.failure === 'throttled') add('RegisterThrottled')
    else if (call.failure !== undefined) add('RegisterUnavailable')
  }
  if (facts.invalidated !== undefined && facts.invalidated > 0) add('CacheInvalidated', facts.invalidated)
  if (facts.behind === true) add('RevalidatedBehind')
  return { counts, timings }
}
