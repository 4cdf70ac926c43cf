import type { BundleInfo } from './build'
import type { CatalogBenchResult } from './catalog'
import { catalogGoals, renderCatalogMarkdown } from './catalog-report'
import { kb, type ColdStartResult } from './cold-start'
import type { HttpLoadResult } from './http-load'
import { fmtUs, type LatencyResult } from './latency'
import type { RotationResult } from './rotation'
import {
  FLEET,
  HOURS_PER_MONTH,
  PRICE_PER_10K_CALLS_USD,
  type CallsResult,
  type ColdBurstResult,
} from './upstream-calls'

/** latest.json's shape, the goals the figures are held against, and latest.md. */
export interface BenchReport {
  generatedAt: string
  machine: {
    cpuModel: string
    cpuCount: number
    totalMemGiB: number
    freeMemGiB: number
    os: string
    node: string
    arch: string
  }
  git: { commit: string; dirty: boolean }
  settings: {
    iterations: number
    warmup: number
    coldSamples: number
    httpRequests: number
    httpConnections: number
    decisions?: number
  }
  bundles: { functions: BundleInfo[]; peers: BundleInfo[] }
  latency: LatencyResult[] | undefined
  calls: { hour: CallsResult[]; coldBurst: ColdBurstResult[] } | undefined
  coldStart: ColdStartResult[] | undefined
  http: HttpLoadResult | { notMeasured: string } | undefined
  rotation: RotationResult | undefined
  /** Part 6 (`catalog`): the catalog at organization scale. */
  catalog?: CatalogBenchResult | undefined
  goals: Goal[]
  durationS: number
}

export interface Goal {
  readonly goal: string
  readonly met: boolean
  readonly detail: string
}

/** 400 KB = 400 × 1024 bytes, the unit every size in the report uses. */
export const MAX_BUNDLE_BYTES = 400 * 1024
const SIMULATED_VERSIONS = 2

export function evaluateGoals(r: BenchReport): Goal[] {
  const goals: Goal[] = []
  const lat = (id: string): LatencyResult | undefined => r.latency?.find((l) => l.id === id)
  const broker = lat('broker')
  const floor = lat('floor')
  const pt = lat('powertools')
  const middy = lat('middy')
  if (broker !== undefined && floor !== undefined) {
    const ratio = broker.summary.p50 / floor.summary.p50
    goals.push({
      goal: 'cache-hit p50 ≤ 3× the floor',
      met: ratio <= 3,
      detail: `${fmtUs(broker.summary.p50)} vs ${fmtUs(floor.summary.p50)} = ${ratio.toFixed(2)}×`,
    })
  }
  for (const peer of [pt, middy]) {
    if (broker === undefined || peer === undefined) continue
    goals.push({
      goal: `cache-hit p50 no slower than ${peer.label}`,
      met: broker.summary.p50 <= peer.summary.p50,
      detail: `${fmtUs(broker.summary.p50)} vs ${fmtUs(peer.summary.p50)} (${(broker.summary.p50 / peer.summary.p50).toFixed(2)}×)`,
    })
  }
  const brokerHour = r.calls?.hour.find((c) => c.id === 'broker')
  if (brokerHour !== undefined) {
    const { getSecretValue, describeSecret } = brokerHour.hour
    goals.push({
      goal: '≤ 1 GetSecretValue per secret per container per version change',
      met: getSecretValue <= SIMULATED_VERSIONS,
      detail: `${getSecretValue} GetSecretValue for ${SIMULATED_VERSIONS} versions in the hour`,
    })
    goals.push({
      goal: '1 DescribeSecret per TTL',
      met: describeSecret <= Math.ceil(3600 / 300),
      detail: `${describeSecret} DescribeSecret in 3600 s at TTL 300 s (at most ${Math.ceil(3600 / 300)})`,
    })
  }
  const burst = r.calls?.coldBurst.find((c) => c.target === 'broker')
  if (burst !== undefined) {
    const calls = burst.message.getSecretValue + burst.message.describeSecret
    goals.push({
      goal: 'exactly 1 upstream call for 100 concurrent cold requests',
      met: calls === 1,
      detail: `${calls} call(s), ${burst.message.errors} errors`,
    })
  }
  for (const b of r.bundles.functions) {
    goals.push({
      goal: `${b.name} bundle < 400 KB minified`,
      met: b.bytes < MAX_BUNDLE_BYTES,
      detail: `${kb(b.bytes)} (${kb(b.gzipBytes)} gzipped)`,
    })
  }
  const ptCold = r.coldStart?.find((c) => c.id === 'powertools')
  for (const c of r.coldStart?.filter((x) => x.id.startsWith('broker:')) ?? []) {
    if (ptCold === undefined) break
    goals.push({
      goal: `${c.label} cold start no slower than the Powertools handler`,
      met: c.firstResponseMs <= ptCold.firstResponseMs,
      detail: `${c.firstResponseMs.toFixed(1)} ms vs ${ptCold.firstResponseMs.toFixed(1)} ms to first response (medians)`,
    })
  }
  if (r.catalog !== undefined) goals.push(...catalogGoals(r.catalog))
  return goals
}

function table(header: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]): string => `| ${cells.map(String).join(' | ')} |`
  // A column is right-aligned when every cell in it reads as a figure.
  const figure = /^(\*\*)?[$]?[\d.,]+( ?(µs|ms|s|KB|×))?(\*\*)?$/
  const align = header.map((_, i) =>
    i > 0 && rows.length > 0 && rows.every((r) => figure.test(String(r[i] ?? ''))) ? '---:' : '---',
  )
  return [line(header), line(align), ...rows.map(line)].join('\n')
}

const usd = (n: number): string =>
  `$${n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`
const int = (n: number): string => n.toLocaleString('en-US')

export function renderMarkdown(r: BenchReport): string {
  const out: string[] = []
  out.push('# secret-broker benchmark: latest run', '')
  out.push(
    `Generated ${r.generatedAt} by \`npm run bench\` in ${r.durationS} s · commit \`${r.git.commit.slice(0, 12)}\`${r.git.dirty ? ' (working tree had uncommitted changes)' : ''} · Node ${r.machine.node} · ${r.machine.cpuCount} × ${r.machine.cpuModel} · ${r.machine.totalMemGiB} GiB · ${r.machine.os} ${r.machine.arch}.`,
    '',
    'Local figures on a shared machine, against moto on loopback. What they do and do not say about AWS: docs/PERFORMANCE.md.',
    '',
  )
  out.push(
    '## Goals',
    '',
    table(
      ['goal', 'met', 'figures'],
      r.goals.map((g) => [g.goal, g.met ? 'yes' : '**no**', g.detail]),
    ),
    '',
  )

  if (r.latency !== undefined) {
    out.push(
      `## 1. Cache-hit latency, in-process (${int(r.settings.iterations)} invocations each, after ${int(r.settings.warmup)} warm-up)`,
      '',
    )
    const floor = r.latency.find((l) => l.id === 'floor')
    out.push(
      table(
        ['handler', 'p50', 'p90', 'p99', 'p99.9', 'max', 'p50 ÷ floor', 'non-200'],
        r.latency.map((l) => [
          l.label,
          fmtUs(l.summary.p50),
          fmtUs(l.summary.p90),
          fmtUs(l.summary.p99),
          fmtUs(l.summary.p999),
          fmtUs(l.summary.max),
          floor === undefined ? '' : `${(l.summary.p50 / floor.summary.p50).toFixed(2)}×`,
          l.summary.errors,
        ]),
      ),
      '',
      '![latency distributions](latency.svg)',
      '',
    )
  }

  if (r.calls !== undefined) {
    out.push(
      '## 2. Upstream calls per container: one simulated hour, 10 req/s, one rotation at 33:07.65',
      '',
      `Monthly fleet cost: the hour × ${HOURS_PER_MONTH} h × ${FLEET.containers} warm containers × ${FLEET.secrets} secrets, at ${usd(PRICE_PER_10K_CALLS_USD)} per 10,000 calls.`,
      '',
      table(
        [
          'handler',
          'setting',
          'GetSecretValue',
          'DescribeSecret',
          'old version served after rotation (this run)',
          'at most (by design)',
          'fleet calls / month',
          'fleet $ / month',
        ],
        r.calls.hour.map((c) => [
          c.label,
          c.setting,
          int(c.hour.getSecretValue),
          int(c.hour.describeSecret),
          c.hour.servedOldVersionForS === undefined
            ? ''
            : c.worstCaseStaleS === 'container-lifetime' && c.hour.servedOldVersionForS > 0
              ? `${c.hour.servedOldVersionForS.toFixed(1)} s (to the end of the hour)`
              : `${c.hour.servedOldVersionForS.toFixed(1)} s`,
          c.worstCaseStaleS === 'container-lifetime' ? 'the life of the container' : `${c.worstCaseStaleS} s`,
          int(c.monthlyCallsFleet),
          usd(c.monthlyCostUsd),
        ]),
      ),
      '',
      '100 concurrent requests to a cold container (each upstream call takes 5 ms):',
      '',
      table(
        ['handler', 'GetSecretValue', 'DescribeSecret', 'non-200'],
        r.calls.coldBurst.map((c) => [
          c.label,
          c.message.getSecretValue,
          c.message.describeSecret,
          c.message.errors,
        ]),
      ),
      '',
    )
  }

  if (r.coldStart !== undefined) {
    out.push(
      `## 3. Bundles and cold start (fresh \`node\` process, median of ${r.settings.coldSamples})`,
      '',
      '"load" is process start → the bundle\'s top-level code done (the Init phase, roughly); "first response" adds the first invocation, including one GetSecretValue to moto where the handler reads a secret.',
      '',
      table(
        ['function', 'minified', 'gzipped', 'load ms', 'first response ms', 'p90 ms', 'spawn → response ms'],
        r.coldStart.map((c) => [
          c.label,
          kb(c.bundle.bytes),
          kb(c.bundle.gzipBytes),
          c.loadMs.toFixed(1),
          c.firstResponseMs.toFixed(1),
          c.firstResponseP90Ms.toFixed(1),
          c.spawnToResponseMs.toFixed(1),
        ]),
      ),
      '',
      'Largest contributors to each broker bundle (minified bytes):',
      '',
      table(
        ['function', 'top contributors'],
        r.bundles.functions.map((b) => [
          b.name,
          b.topInputs.map((t) => `${t.module} ${kb(t.bytes)}`).join(', '),
        ]),
      ),
      '',
    )
  }

  if (r.http !== undefined) {
    out.push(
      '## 4. Over HTTP: autocannon against serverless-offline + moto (local-emulator figures only)',
      '',
    )
    if ('notMeasured' in r.http) out.push(`Not measured: ${r.http.notMeasured}`, '')
    else {
      out.push(
        `${int(r.settings.httpRequests)} requests per route, ${r.settings.httpConnections} connections, loopback. One signed GET is replayed (the local verifier accepts a signature for 5 minutes).`,
        '',
        table(
          ['route', 'requests', 'req/s', 'p50 ms', 'p99 ms', 'max ms', 'non-2xx', 'errors'],
          r.http.runs.map((h) => [
            h.route,
            h.requests,
            h.requestsPerSecond.toFixed(0),
            h.p50Ms,
            h.p99Ms,
            h.maxMs,
            h.non2xx,
            h.errors + h.timeouts,
          ]),
        ),
        '',
      )
    }
  }

  if (r.rotation !== undefined) {
    out.push('## 5. Rotation wall time per strategy (moto + a private PostgreSQL)', '')
    if ('notMeasured' in r.rotation) out.push(`Not measured: ${r.rotation.notMeasured}`, '')
    else {
      out.push(
        `Each secret rotated ${r.rotation.runs[0]?.rotations ?? 0} times in a row, through the real rotation handler (four steps, in-process, as Secrets Manager would invoke them) against moto and a private PostgreSQL; setup (cluster start) ${(r.rotation.setupMs / 1000).toFixed(1)} s, not included.`,
        '',
        table(
          ['strategy', 'result', 'median wall ms', 'each rotation ms', 'median per step (ms)'],
          r.rotation.runs.map((x) => [
            x.strategy,
            x.ok ? 'rotated' : '**FAILED**',
            x.medianWallMs.toFixed(0),
            x.wallMs.map((w) => w.toFixed(0)).join(', '),
            x.stepsMedianMs.map((s) => `${s.step} ${s.ms.toFixed(0)}`).join(', '),
          ]),
        ),
        '',
      )
    }
  }
  if (r.catalog !== undefined) out.push(...renderCatalogMarkdown(r.catalog))
  return `${out.join('\n')}\n`
}
