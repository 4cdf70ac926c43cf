import type { BundleInfo } from './build'
import type { CatalogBenchResult } from './catalog'
import { catalogGoals, renderCatalogMarkdown } from './catalog-report'
import { kb, type ColdStartResult } from './cold-start'
import type { ConsumerResult } from './consumer'
import { consumerGoals, renderConsumer } from './consumer-report'
import type { HttpLoadResult } from './http-load'
import { fmtUs, type LatencyResult } from './latency'
import type { RotationResult } from './rotation'
import { BROKER_BILLED_MS, BROKER_MEMORY_GB, OWNERSHIP_LINES, PRICES, PRICES_READ_ON } from './cost'
import {
  FLEET,
  HOURS_PER_MONTH,
  PRICE_PER_10K_CALLS_USD,
  type CallsResult,
  type ColdBurstResult,
  type FreshnessResult,
  type OwnershipResult,
  type TtlSweepResult,
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
  calls:
    | {
        hour: CallsResult[]
        coldBurst: ColdBurstResult[]
        freshness?: FreshnessResult[]
        ownership?: OwnershipResult[]
        ttlSweep?: TtlSweepResult[]
        eventDelayMs?: number
      }
    | undefined
  coldStart: ColdStartResult[] | undefined
  http: HttpLoadResult | { notMeasured: string } | undefined
  rotation: RotationResult | undefined
  consumer: ConsumerResult | undefined
  /** Part 7 (`catalog`): the catalog at organization scale. */
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
  // Issue 13's per-request goals: ≤ 2× the floor and ≤ 1.5× Powertools' getSecret (middy shown for reference).
  if (broker !== undefined && floor !== undefined) {
    const ratio = broker.summary.p50 / floor.summary.p50
    goals.push({
      goal: 'cache-hit p50 ≤ 2× the floor',
      met: ratio <= 2,
      detail: `${fmtUs(broker.summary.p50)} vs ${fmtUs(floor.summary.p50)} = ${ratio.toFixed(2)}×`,
    })
  }
  for (const [peer, limit] of [
    [pt, 1.5],
    [middy, 1.5],
  ] as const) {
    if (broker === undefined || peer === undefined) continue
    const ratio = broker.summary.p50 / peer.summary.p50
    goals.push({
      goal: `cache-hit p50 ≤ ${limit}× ${peer.label}`,
      met: ratio <= limit,
      detail: `${fmtUs(broker.summary.p50)} vs ${fmtUs(peer.summary.p50)} (${ratio.toFixed(2)}×)`,
    })
  }
  const brokerHour = r.calls?.hour.find((c) => c.id === 'broker')
  const before = r.calls?.hour.find((c) => c.id === 'broker-before')
  if (brokerHour !== undefined) {
    const { getSecretValue, describeSecret } = brokerHour.hour
    goals.push({
      goal: '≤ 1 GetSecretValue per secret per container per version change',
      met: getSecretValue <= SIMULATED_VERSIONS,
      detail: `${getSecretValue} GetSecretValue for ${SIMULATED_VERSIONS} versions in the hour`,
    })
    goals.push({
      goal: '1 DescribeSecret per TTL (900 s)',
      met: describeSecret <= Math.ceil(3600 / 900),
      detail: `${describeSecret} DescribeSecret in 3600 s at TTL 900 s (at most ${Math.ceil(3600 / 900)})`,
    })
    const stalest = Math.max(
      brokerHour.hour.servedOldVersionForS ?? 0,
      ...(r.calls?.freshness ?? []).map((f) => f.servedOldVersionForS),
    )
    goals.push({
      goal: 'every warm container serves the new version ≤ 5 s after the AWSCURRENT move',
      met: stalest <= 5,
      detail: `the old version was served until ${stalest.toFixed(1)} s after the move at the latest (containers at ${(r.calls?.freshness ?? []).length + 1} request rates; event delay ${((r.calls?.eventDelayMs ?? 0) / 1000).toFixed(1)} s modelled)`,
    })
    if (before !== undefined) {
      const calls = (c: CallsResult): number => c.hour.getSecretValue + c.hour.describeSecret
      goals.push({
        goal: 'Secrets Manager calls per container-hour ≤ before the register',
        met:
          brokerHour.hour.getSecretValue <= before.hour.getSecretValue &&
          brokerHour.hour.describeSecret <= before.hour.describeSecret,
        detail: `${brokerHour.hour.getSecretValue} GetSecretValue + ${brokerHour.hour.describeSecret} DescribeSecret (= ${calls(brokerHour)}) vs ${before.hour.getSecretValue} + ${before.hour.describeSecret} (= ${calls(before)})`,
      })
      goals.push({
        goal: 'fleet monthly total (Secrets Manager + register) ≤ before the register',
        met: brokerHour.monthlyTotalUsd <= before.monthlyTotalUsd,
        detail: `${usd(brokerHour.monthlyTotalUsd)} (Secrets Manager ${usd(brokerHour.monthlyCostUsd)} + register ${usd(brokerHour.register?.usd ?? 0)}) vs ${usd(before.monthlyTotalUsd)}`,
      })
    }
  }
  const burst = r.calls?.coldBurst.find((c) => c.target === 'broker')
  if (burst !== undefined) {
    const calls = burst.message.getSecretValue + burst.message.describeSecret
    goals.push({
      goal: 'exactly 1 upstream call for 100 concurrent cold requests',
      met: calls === 1 && burst.message.registerGetItem <= 1,
      detail: `${calls} Secrets Manager call(s), ${burst.message.registerGetItem} register read(s), ${burst.message.errors} errors`,
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
  if (r.consumer !== undefined) goals.push(...consumerGoals(r.consumer))
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

function renderRegister(r: BenchReport): string[] {
  const ours = r.calls?.hour.find((c) => c.id === 'broker')
  const reg = ours?.register
  if (ours === undefined || reg === undefined) return []
  return [
    `The register's month for the fleet: each container reads the generation item (${int(ours.hour.registerGetItem)} eventually consistent GetItem in the hour, 0.5 read unit each, whatever it holds); each AWSCURRENT move makes every container read its ${FLEET.secrets} items once (one BatchGetItem; ${FLEET.secrets} moves an hour, as the rotation in this hour is counted for every secret); each move is one transactional write of two items and one invocation of the invalidation function.`,
    '',
    table(
      ['register', 'units / month', '$ / month'],
      [
        ['reads (GetItem + BatchGetItem)', `${int(reg.readUnits)} RRU`, usd(reg.readUsd)],
        ['writes (TransactWriteItems)', `${int(reg.writeUnits)} WRU`, usd(reg.writeUsd)],
        ['invalidation function', '', usd(reg.functionUsd)],
        ['**register total**', '', `**${usd(reg.usd)}**`],
      ],
    ),
    '',
  ]
}

function renderFreshness(r: BenchReport): string[] {
  const rows = r.calls?.freshness ?? []
  if (rows.length === 0) return []
  return [
    'Freshness of warm containers at other request rates (the broker with its defaults; each checks the register inside its next request, so a quiet container answers its first request after the move with the new version):',
    '',
    table(
      ['container', 'requests in the hour', 'old version served until', 'new version first served at'],
      rows.map((f) => [
        f.ratePerSecond >= 1
          ? `${f.ratePerSecond} req/s`
          : `1 request / ${Math.round(1 / f.ratePerSecond)} s`,
        int(f.requests),
        `${f.servedOldVersionForS.toFixed(1)} s after the move`,
        f.firstNewVersionAfterS === undefined ? '—' : `${f.firstNewVersionAfterS.toFixed(1)} s`,
      ]),
    ),
    '',
  ]
}

function renderTtlSweep(r: BenchReport): string[] {
  const rows = r.calls?.ttlSweep ?? []
  if (rows.length === 0) return []
  return [
    'The broker with the register at other value TTLs (the bound for an event that never arrives), same hour, same fleet:',
    '',
    table(
      [
        'value TTL',
        'GetSecretValue',
        'DescribeSecret',
        'Secrets Manager $ / month',
        'register $ / month',
        'total $ / month',
      ],
      rows.map((t) => [
        `${t.ttlS} s`,
        t.getSecretValue,
        t.describeSecret,
        usd(t.secretsManagerUsd),
        usd(t.registerUsd),
        usd(t.totalUsd),
      ]),
    ),
    '',
  ]
}

function renderOwnership(r: BenchReport): string[] {
  const cols = r.calls?.ownership ?? []
  const first = cols[0]
  if (first === undefined) return []
  const header = ['$ / month', first.direct.label, ...cols.map((c) => c.broker.label)]
  const rows = OWNERSHIP_LINES.map((line) => [
    line,
    usd(first.direct.lines[line]),
    ...cols.map((c) => usd(c.broker.lines[line])),
  ])
  rows.push([
    'requests to the broker / month',
    '—',
    ...cols.map((c) => int(Math.round(c.broker.requestsPerMonth))),
  ])
  rows.push(['**total**', `**${usd(first.direct.total)}**`, ...cols.map((c) => `**${usd(c.broker.total)}**`)])
  return [
    `### Whole cost of ownership: ${FLEET.containers} service containers × ${FLEET.secrets} secrets, ${HOURS_PER_MONTH} h`,
    '',
    `Directly: each container reads Secrets Manager with a 300 s cache (the Powertools maxAge 300 s row above). Through the broker: each container uses the consumer client with the TTL shown (each revalidation a 304 when nothing changed); the broker's own containers are counted as ${FLEET.containers} warm ones (an upper bound), with the Secrets Manager calls and register reads measured above. Lambda duration assumes ${BROKER_BILLED_MS} ms billed per invocation at ${BROKER_MEMORY_GB * 1024} MB arm64 (an assumption; the handler's own work is tens of µs). Prices read on ${PRICES_READ_ON}, us-east-1, on demand: ${Object.values(
      PRICES,
    )
      .map((p) => `$${p.usd} per ${p.per}`)
      .join('; ')}. Sources in bench/lib/cost.ts.`,
    '',
    table(header, rows),
    '',
  ]
}

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
      `Monthly fleet cost: the hour × ${HOURS_PER_MONTH} h × ${FLEET.containers} warm containers × ${FLEET.secrets} secrets, at ${usd(PRICE_PER_10K_CALLS_USD)} per 10,000 calls; the register (broker with its defaults) as computed below. The register is updated ${((r.calls.eventDelayMs ?? 0) / 1000).toFixed(1)} s after the move (a modelled EventBridge → function → DynamoDB delay).`,
      '',
      table(
        [
          'handler',
          'setting',
          'GetSecretValue',
          'DescribeSecret',
          'register reads',
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
          c.hour.registerGetItem + c.hour.registerBatchGetItem === 0
            ? '0'
            : `${int(c.hour.registerGetItem)} GetItem + ${int(c.hour.registerBatchGetItem)} BatchGetItem`,
          c.hour.servedOldVersionForS === undefined
            ? ''
            : c.worstCaseStaleS === 'container-lifetime' && c.hour.servedOldVersionForS > 0
              ? `${c.hour.servedOldVersionForS.toFixed(1)} s (to the end of the hour)`
              : `${c.hour.servedOldVersionForS.toFixed(1)} s`,
          c.worstCaseNote ??
            (c.worstCaseStaleS === 'container-lifetime'
              ? 'the life of the container'
              : `${c.worstCaseStaleS} s`),
          int(c.monthlyCallsFleet),
          c.register === undefined
            ? usd(c.monthlyCostUsd)
            : `${usd(c.monthlyTotalUsd)} (${usd(c.monthlyCostUsd)} + register ${usd(c.register.usd)})`,
        ]),
      ),
      '',
      ...renderRegister(r),
      ...renderFreshness(r),
      ...renderTtlSweep(r),
      ...renderOwnership(r),
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
    out.push('## 5. Rotation wall time per strategy (moto + private PostgreSQL, MariaDB and Redis)', '')
    if ('notMeasured' in r.rotation) out.push(`Not measured: ${r.rotation.notMeasured}`, '')
    else {
      out.push(
        `Each secret rotated ${r.rotation.runs[0]?.rotations ?? 0} times in a row, through the real rotation handler (four steps, in-process, as Secrets Manager would invoke them) against moto and private servers (PostgreSQL, MariaDB, Redis; IAM and STS on moto); setup (server starts) ${(r.rotation.setupMs / 1000).toFixed(1)} s, not included.${r.rotation.skipped.map((s) => ` Not measured: ${s}.`).join('')}`,
        '',
        table(
          ['strategy', 'against', 'result', 'median wall ms', 'each rotation ms', 'median per step (ms)'],
          r.rotation.runs.map((x) => [
            x.strategy,
            x.against,
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
  if (r.consumer !== undefined) out.push(...renderConsumer(r.consumer, table))
  if (r.catalog !== undefined) out.push(...renderCatalogMarkdown(r.catalog))
  return `${out.join('\n')}\n`
}
