import { join } from 'node:path'
import type { LatencyMessage } from '../drivers/latency'
import { BUILD_DIR, type BuildOutput } from './build'
import { runDriver } from './child'
import { GET_SECRET_EVENT } from './events'
import type { LatencySummary } from './stats'
import { latencyTargets, type TargetId, type Upstream } from './targets'

/** Part 1: cache-hit latency of each target, in-process, each in its own child process, one after another. */
export interface LatencyResult {
  readonly id: TargetId
  readonly label: string
  readonly summary: LatencySummary
  readonly firstStatus: number
}

export async function measureLatency(
  build: BuildOutput,
  upstream: Upstream,
  opts: { iterations: number; warmup: number; cpuProfile: boolean; log: (line: string) => void },
): Promise<LatencyResult[]> {
  const results: LatencyResult[] = []
  for (const target of latencyTargets(build, upstream)) {
    const execArgv = opts.cpuProfile
      ? [
          '--cpu-prof',
          '--cpu-prof-dir',
          join(BUILD_DIR, 'profiles'),
          '--cpu-prof-name',
          `${target.id}.cpuprofile`,
        ]
      : []
    const run = await runDriver<LatencyMessage>(
      build.drivers.latency,
      [target.bundle, String(opts.iterations), String(opts.warmup), JSON.stringify(GET_SECRET_EVENT)],
      target.env,
      { execArgv },
    )
    const { summary, firstStatus } = run.message
    if (firstStatus !== 200) throw new Error(`${target.label}: first response was ${firstStatus}, not 200`)
    results.push({ id: target.id, label: target.label, summary, firstStatus })
    opts.log(
      `  ${target.label.padEnd(44)} p50 ${fmtUs(summary.p50)}  p99 ${fmtUs(summary.p99)}  max ${fmtUs(summary.max)}  (${summary.count} calls, ${summary.errors} errors)`,
    )
  }
  return results
}

export function fmtUs(us: number): string {
  return us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(1)} µs`
}
