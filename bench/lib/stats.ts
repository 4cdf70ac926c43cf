/** Latency summaries in microseconds, from raw samples. */
export interface LatencySummary {
  readonly count: number
  readonly errors: number
  readonly p50: number
  readonly p90: number
  readonly p99: number
  readonly p999: number
  readonly max: number
  readonly mean: number
  /** [quantile, µs] pairs for the chart (a CDF). */
  readonly cdf: readonly (readonly [number, number])[]
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))
  return sorted[rank] as number
}

export function median(values: readonly number[]): number {
  return percentile(Float64Array.from(values).sort(), 0.5)
}

const CDF_QUANTILES = [
  ...Array.from({ length: 99 }, (_, i) => (i + 1) / 100),
  0.995,
  0.999,
  0.9995,
  0.9999,
  1,
]

export function summarise(samplesUs: Float64Array, errors: number): LatencySummary {
  const sorted = Float64Array.from(samplesUs).sort()
  let sum = 0
  for (const v of sorted) sum += v
  return {
    count: sorted.length,
    errors,
    p50: percentile(sorted, 0.5),
    p90: percentile(sorted, 0.9),
    p99: percentile(sorted, 0.99),
    p999: percentile(sorted, 0.999),
    max: sorted[sorted.length - 1] ?? Number.NaN,
    mean: sum / Math.max(1, sorted.length),
    cdf: [[0, sorted[0] ?? Number.NaN], ...CDF_QUANTILES.map((q) => [q, percentile(sorted, q)] as const)],
  }
}

export function round(n: number, digits = 1): number {
  const f = 10 ** digits
  return Math.round(n * f) / f
}
