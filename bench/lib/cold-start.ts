import type { ColdStartMessage } from '../drivers/cold-start'
import { HTTP_FUNCTIONS, type BuildOutput, type BundleInfo } from './build'
import { runDriver } from './child'
import { FUNCTION_EVENTS, GET_SECRET_EVENT, type EventSpec } from './events'
import { median, percentile } from './stats'
import { brokerEnv, peerEnv, type Upstream } from './targets'

/**
 * Part 3: bundle sizes, and fresh-process time to the first response, for every HTTP function and for
 * the peers (the Powertools handler is the reference). Samples are taken round-robin, so a noisy moment
 * on a shared machine spreads over all targets instead of landing on one.
 */
export interface ColdStartResult {
  readonly id: string
  readonly label: string
  readonly bundle: BundleInfo
  readonly samples: number
  /** Median ms from process start to the end of the bundle's top-level code (Lambda's Init, roughly). */
  readonly loadMs: number
  /** Median ms from process start to the first response (Init + first invocation, one upstream call). */
  readonly firstResponseMs: number
  readonly firstResponseP90Ms: number
  /** Median ms from spawn (in the parent) to the response's arrival over IPC. */
  readonly spawnToResponseMs: number
}

interface ColdTarget {
  readonly id: string
  readonly label: string
  readonly bundle: BundleInfo
  readonly spec: EventSpec
  readonly env: Record<string, string>
}

export async function measureColdStart(
  build: BuildOutput,
  upstream: Upstream,
  opts: { samples: number; log: (line: string) => void },
): Promise<ColdStartResult[]> {
  const targets: ColdTarget[] = [
    ...HTTP_FUNCTIONS.map((f) => ({
      id: `broker:${f}`,
      label: `broker ${f}`,
      bundle: build.functions[f],
      spec: FUNCTION_EVENTS[f] ?? GET_SECRET_EVENT,
      env: brokerEnv(upstream),
    })),
    {
      id: 'floor',
      label: 'floor (bare middy)',
      bundle: build.peers.floor,
      spec: GET_SECRET_EVENT,
      env: peerEnv(upstream),
    },
    {
      id: 'powertools',
      label: 'Powertools getSecret',
      bundle: build.peers.powertools,
      spec: GET_SECRET_EVENT,
      env: peerEnv(upstream),
    },
    {
      id: 'middy',
      label: '@middy/secrets-manager',
      bundle: build.peers['middy-secrets-manager'],
      spec: GET_SECRET_EVENT,
      env: peerEnv(upstream),
    },
    {
      id: 'no-cache',
      label: 'GetSecretValue every request',
      bundle: build.peers['no-cache'],
      spec: GET_SECRET_EVENT,
      env: peerEnv(upstream),
    },
  ]
  const runs = new Map<string, { load: number[]; first: number[]; wall: number[] }>(
    targets.map((t) => [t.id, { load: [], first: [], wall: [] }]),
  )
  // One unmeasured round first: the OS file cache, not the code, would otherwise make the first sample slow.
  for (let round = -1; round < opts.samples; round++) {
    for (const t of targets) {
      const run = await runDriver<ColdStartMessage>(
        build.drivers['cold-start'],
        [t.bundle.path, JSON.stringify(t.spec)],
        t.env,
      )
      if (run.message.status !== 200)
        throw new Error(`${t.label}: cold request answered ${run.message.status}`)
      if (round < 0) continue
      const r = runs.get(t.id)
      r?.load.push(run.message.loadedAtMs)
      r?.first.push(run.message.firstResponseAtMs)
      r?.wall.push(run.wallMs)
    }
  }
  return targets.map((t) => {
    const r = runs.get(t.id) ?? { load: [], first: [], wall: [] }
    const result: ColdStartResult = {
      id: t.id,
      label: t.label,
      bundle: t.bundle,
      samples: r.first.length,
      loadMs: median(r.load),
      firstResponseMs: median(r.first),
      firstResponseP90Ms: percentile(Float64Array.from(r.first).sort(), 0.9),
      spawnToResponseMs: median(r.wall),
    }
    opts.log(
      `  ${t.label.padEnd(32)} ${kb(t.bundle.bytes).padStart(9)} min ${kb(t.bundle.gzipBytes).padStart(9)} gz   load ${result.loadMs.toFixed(1)} ms  first response ${result.firstResponseMs.toFixed(1)} ms (median of ${result.samples})`,
    )
    return result
  })
}

export function kb(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KB`
}
