import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics'

/**
 * Operational metrics in CloudWatch Embedded Metric Format. Dimensions are the service, the stage and the
 * route template (or the rotation step) only — bounded: never a principal or a secret name. The outcome and
 * cache state are in the metric name, so every combination is a fixed, known series. The HTTP functions put
 * a request's metrics into its audit line (`emfFields`); the rotation function flushes through Powertools.
 */
export const METRICS_NAMESPACE = 'SecretBroker'

export type MetricName =
  | 'RequestsAllowed'
  | 'RequestsDenied'
  | 'RequestsNotModified'
  | 'RequestsError'
  | 'CacheHit'
  | 'CacheMiss'
  | 'CacheRevalidated'
  | 'CacheStale'
  | 'UpstreamCalls'
  | 'UpstreamThrottled'
  | 'UpstreamServerError'
  | 'UpstreamTimeout'
  | 'UpstreamOtherError'
  | 'UpstreamBackoff'
  | 'AuditWriteFailed'
  | 'RotationStepSucceeded'
  | 'RotationStepFailed'
  /** HTTP: calls this request made to the invalidation register (GetItem of the generation, BatchGetItem of items). */
  | 'RegisterReads'
  /** HTTP: the register was throttled / could not be read; the container falls back to the shorter TTL. */
  | 'RegisterThrottled'
  | 'RegisterUnavailable'
  /** HTTP: secrets this request revalidated at once because the register said their AWSCURRENT moved. */
  | 'CacheInvalidated'
  /** HTTP: the request's If-None-Match named a version this container did not hold, so it revalidated first. */
  | 'RevalidatedBehind'
  /** The invalidation function: one event recorded, already recorded (or older than the record), or ignored. */
  | 'InvalidationRecorded'
  | 'InvalidationSuperseded'
  | 'InvalidationIgnored'

export type TimingName = 'UpstreamLatency' | 'RotationStepDuration'

export interface MetricsSink {
  count(name: MetricName, value?: number): void
  timing(name: TimingName, ms: number): void
  /** Write what was recorded since the last flush as one EMF document, with the given extra dimension. */
  flush(dimensions?: Record<string, string>): void
}

export function createMetrics(opts: { stage: string; service?: string }): MetricsSink {
  const metrics = new Metrics({
    namespace: METRICS_NAMESPACE,
    serviceName: opts.service ?? 'secret-broker',
    defaultDimensions: { stage: opts.stage },
  })
  let pending = false
  return {
    count(name, value = 1) {
      metrics.addMetric(name, MetricUnit.Count, value)
      pending = true
    },
    timing(name, ms) {
      metrics.addMetric(name, MetricUnit.Milliseconds, ms)
      pending = true
    },
    flush(dimensions) {
      if (!pending) return
      for (const [k, v] of Object.entries(dimensions ?? {})) metrics.addDimension(k, v)
      metrics.publishStoredMetrics()
      pending = false
    },
  }
}

export interface MemoryMetrics extends MetricsSink {
  readonly counts: Partial<Record<MetricName, number>>
  readonly timings: Partial<Record<TimingName, number[]>>
  readonly flushes: Record<string, string>[]
}

export function createMemoryMetrics(): MemoryMetrics {
  const m: MemoryMetrics = {
    counts: {},
    timings: {},
    flushes: [],
    count(name, value = 1) {
      m.counts[name] = (m.counts[name] ?? 0) + value
    },
    timing(name, ms) {
      ;(m.timings[name] ??= []).push(ms)
    },
    flush(dimensions) {
      m.flushes.push({ ...(dimensions ?? {}) })
    },
  }
  return m
}

const OUTCOME_METRIC = {
  allowed: 'RequestsAllowed',
  denied: 'RequestsDenied',
  'not-modified': 'RequestsNotModified',
  error: 'RequestsError',
} as const
const CACHE_METRIC = {
  hit: 'CacheHit',
  miss: 'CacheMiss',
  revalidated: 'CacheRevalidated',
  stale: 'CacheStale',
} as const

export function outcomeMetric(outcome: keyof typeof OUTCOME_METRIC): MetricName {
  return OUTCOME_METRIC[outcome]
}
export function cacheMetric(state: keyof typeof CACHE_METRIC): MetricName {
  return CACHE_METRIC[state]
}

export type MetricCounts = Partial<Record<MetricName, number>>
export type MetricTimings = Partial<Record<TimingName, number[]>>

export const SERVICE_NAME = 'secret-broker'

/**
 * The EMF members of one log line, added to `target`: `_aws` with the metric definitions, the dimension
 * values, and each metric's value (a list for timings). CloudWatch extracts them from any JSON line that
 * carries them, so they can ride on the audit record. Empty metrics are left out.
 */
export function addEmfFields(
  target: Record<string, unknown>,
  opts: {
    readonly stage: string
    readonly route: string
    readonly counts: MetricCounts
    readonly timings: MetricTimings
    readonly timestamp: number
  },
): Record<string, unknown> {
  const definitions: { Name: string; Unit: string }[] = []
  target['_aws'] = {
    Timestamp: opts.timestamp,
    CloudWatchMetrics: [
      { Namespace: METRICS_NAMESPACE, Dimensions: [['service', 'stage', 'route']], Metrics: definitions },
    ],
  }
  target['service'] = SERVICE_NAME
  target['stage'] = opts.stage
  target['route'] = opts.route
  for (const name in opts.counts) {
    const value = opts.counts[name as MetricName]
    if (value === undefined || value === 0) continue
    definitions.push({ Name: name, Unit: 'Count' })
    target[name] = value
  }
  for (const name in opts.timings) {
    const samples = opts.timings[name as TimingName]
    if (samples === undefined || samples.length === 0) continue
    definitions.push({ Name: name, Unit: 'Milliseconds' })
    target[name] = samples.length === 1 ? samples[0] : samples
  }
  return target
}

export function emfFields(opts: Parameters<typeof addEmfFields>[1]): Record<string, unknown> {
  return addEmfFields({}, opts)
}

const definitionsBySignature = new Map<string, string>()

/**
 * The EMF members of a line as JSON text to append to a record's own JSON (without braces): the `_aws`
 * metadata, the dimension values and the metric values. The metric definitions depend only on which metrics
 * a request has, so their JSON is made once per combination; only the timestamp and the values change.
 */
export function emfMembersJson(opts: {
  readonly dimensionsJson: string
  readonly counts: MetricCounts
  readonly timings: MetricTimings
  readonly timestamp: number
}): string {
  let signature = ''
  let values = ''
  for (const name in opts.counts) {
    const value = opts.counts[name as MetricName]
    if (value === undefined || value === 0) continue
    signature += `${name}:C,`
    values += `,"${name}":${value}`
  }
  for (const name in opts.timings) {
    const samples = opts.timings[name as TimingName]
    if (samples === undefined || samples.length === 0) continue
    signature += `${name}:M,`
    values += `,"${name}":${samples.length === 1 ? String(samples[0]) : JSON.stringify(samples)}`
  }
  let definitions = definitionsBySignature.get(signature)
  if (definitions === undefined) {
    const metrics = signature
      .split(',')
      .filter((s) => s !== '')
      .map((s) => {
        const [name, unit] = s.split(':')
        return { Name: name, Unit: unit === 'M' ? 'Milliseconds' : 'Count' }
      })
    definitions = JSON.stringify([
      { Namespace: METRICS_NAMESPACE, Dimensions: [['service', 'stage', 'route']], Metrics: metrics },
    ])
    definitionsBySignature.set(signature, definitions)
  }
  return `"_aws":{"Timestamp":${opts.timestamp},"CloudWatchMetrics":${definitions}},${opts.dimensionsJson}${values}`
}

/** The dimension values other than the route (which the audit record carries): `"service":…,"stage":…`. */
export function serviceDimensionsJson(stage: string): string {
  return `"service":${JSON.stringify(SERVICE_NAME)},"stage":${JSON.stringify(stage)}`
}
