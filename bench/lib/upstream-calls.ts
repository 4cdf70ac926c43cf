import type { CallsMessage, CallsMode, CallsTarget } from '../drivers/upstream-calls'
import type { BuildOutput } from './build'
import { runDriver } from './child'
import {
  FLEET,
  HOURS_PER_MONTH,
  monthlyFleetCalls,
  ownership,
  PRICES,
  registerMonth,
  secretsManagerUsd,
  type OwnershipColumn,
  type RegisterMonth,
} from './cost'
import { brokerEnv, peerEnv, type Upstream } from './targets'

/**
 * Part 2: upstream calls per container in a simulated hour (10 req/s, one rotation), for each target at
 * its library defaults and at 300 s, the broker with its new defaults (the invalidation register) beside its
 * previous ones; how soon each warm container serves the new version; the monthly cost for a fleet, the
 * register included, and the whole cost of ownership; and 100 concurrent cold requests. The counting fakes
 * answer every call, so `upstream` here only fills the configuration (no network).
 */
export const PRICE_PER_10K_CALLS_USD = PRICES.secretsManagerCalls.usd
export { FLEET, HOURS_PER_MONTH, monthlyFleetCalls }
/** The modelled delay from the AWSCURRENT move to the register's update (EventBridge, the function, the write). */
export const EVENT_DELAY_MS = 1000
/** Request rates of the warm containers whose freshness is measured (requests per second). */
export const FRESHNESS_RATES = [10, 1, 0.1, 1 / 60] as const

export interface CallsScenario {
  readonly id: string
  /** How long a rotated-away value can be served at most, by construction (seconds), or for the life of the container. */
  readonly worstCaseStaleS: number | 'container-lifetime'
  /** The bound in words, when a number alone would mislead. */
  readonly worstCaseNote?: string
  readonly target: CallsTarget
  readonly label: string
  readonly setting: string
  readonly env: Record<string, string>
}

export interface CallsResult extends CallsScenario {
  readonly hour: CallsMessage
  readonly monthlyCallsFleet: number
  /** Secrets Manager calls only. */
  readonly monthlyCostUsd: number
  /** The register's month, for the broker with the register. */
  readonly register: RegisterMonth | undefined
  /** Secrets Manager calls plus the register. */
  readonly monthlyTotalUsd: number
}

export interface FreshnessResult {
  readonly ratePerSecond: number
  readonly requests: number
  readonly servedOldVersionForS: number
  readonly firstNewVersionAfterS: number | undefined
}

/** The broker with the register at another value TTL: what docs/ARCHITECTURE.md's TTL choice rests on. */
export interface TtlSweepResult {
  readonly ttlS: number
  readonly getSecretValue: number
  readonly describeSecret: number
  readonly secretsManagerUsd: number
  readonly registerUsd: number
  readonly totalUsd: number
}
export const TTL_SWEEP_S = [300, 600, 900, 1800, 3600] as const

export interface OwnershipResult {
  readonly clientTtlS: number
  readonly api: 'rest' | 'http'
  readonly direct: OwnershipColumn
  readonly broker: OwnershipColumn
}

export interface ColdBurstResult {
  readonly target: CallsTarget
  readonly label: string
  readonly message: CallsMessage
}

function scenarios(upstream: Upstream): CallsScenario[] {
  return [
    {
      id: 'broker',
      worstCaseStaleS: EVENT_DELAY_MS / 1000 + 2,
      worstCaseNote: `event delay + 2 s (900 s if the event is lost; 300 s while the register fails)`,
      target: 'broker',
      label: 'broker',
      setting: 'its defaults: invalidation register (read every 2 s), TTL 900 s',
      env: brokerEnv(upstream),
    },
    {
      id: 'broker-before',
      worstCaseStaleS: 300,
      target: 'broker',
      label: 'broker',
      setting: 'before the register: TTL 300 s + DescribeSecret revalidation',
      env: brokerEnv(upstream, { BROKER_CACHE_TTL_SECONDS: '300', BROKER_REGISTER_TABLE: '' }),
    },
    {
      id: 'powertools-default',
      worstCaseStaleS: 5,
      target: 'powertools',
      label: 'Powertools getSecret',
      setting: 'default maxAge (5 s)',
      env: peerEnv(upstream, { maxAgeSeconds: 'default' }),
    },
    {
      id: 'powertools-300',
      worstCaseStaleS: 300,
      target: 'powertools',
      label: 'Powertools getSecret',
      setting: 'maxAge 300 s',
      env: peerEnv(upstream, { maxAgeSeconds: '300' }),
    },
    {
      id: 'middy-default',
      worstCaseStaleS: 'container-lifetime',
      target: 'middy',
      label: '@middy/secrets-manager',
      setting: 'default cacheExpiry (-1: never refreshed)',
      env: peerEnv(upstream, { cacheExpirySeconds: 'default' }),
    },
    {
      id: 'middy-300',
      worstCaseStaleS: 300,
      target: 'middy',
      label: '@middy/secrets-manager',
      setting: 'cacheExpiry 300 s (refresh timer)',
      env: peerEnv(upstream, { cacheExpirySeconds: '300' }),
    },
    {
      id: 'no-cache',
      worstCaseStaleS: 0,
      target: 'no-cache',
      label: 'GetSecretValue every request',
      setting: 'no cache',
      env: peerEnv(upstream),
    },
  ]
}

export async function measureUpstreamCalls(
  build: BuildOutput,
  upstream: Upstream,
  log: (line: string) => void,
): Promise<{
  hour: CallsResult[]
  coldBurst: ColdBurstResult[]
  freshness: FreshnessResult[]
  ownership: OwnershipResult[]
  ttlSweep: TtlSweepResult[]
  eventDelayMs: number
}> {
  const run = (target: CallsTarget, mode: CallsMode, env: Record<string, string>): Promise<CallsMessage> =>
    runDriver<CallsMessage>(build.drivers['upstream-calls'], [target, mode], {
      ...env,
      BENCH_EVENT_DELAY_MS: String(EVENT_DELAY_MS),
    }).then((r) => r.message)
  const hour: CallsResult[] = []
  // Two at a time: the machine has two cores, and the children share them with everything else.
  const all = scenarios(upstream)
  for (let i = 0; i < all.length; i += 2) {
    hour.push(
      ...(await Promise.all(
        all.slice(i, i + 2).map(async (s): Promise<CallsResult> => {
          const message = await run(s.target, 'hour', s.env)
          const calls = message.getSecretValue + message.describeSecret
          const monthlyCallsFleet = monthlyFleetCalls(calls)
          const register = message.registerGetItem > 0 ? registerMonth(message) : undefined
          const monthlyCostUsd = secretsManagerUsd(monthlyCallsFleet)
          return {
            ...s,
            hour: message,
            monthlyCallsFleet,
            monthlyCostUsd,
            register,
            monthlyTotalUsd: monthlyCostUsd + (register?.usd ?? 0),
          }
        }),
      )),
    )
  }
  for (const r of hour) {
    log(
      `  ${`${r.label}, ${r.setting}`.padEnd(70)} GetSecretValue ${String(r.hour.getSecretValue).padStart(6)}  DescribeSecret ${String(r.hour.describeSecret).padStart(3)}  register reads ${r.hour.registerGetItem + r.hour.registerBatchGetItem}  old version for ${r.hour.servedOldVersionForS ?? 0} s  $${r.monthlyTotalUsd.toFixed(2)}/month`,
    )
  }
  const broker = all.find((s) => s.id === 'broker') as CallsScenario
  const freshness: FreshnessResult[] = []
  for (const rate of FRESHNESS_RATES) {
    const m = await run('broker', 'hour', { ...broker.env, BENCH_RATE: String(rate) })
    freshness.push({
      ratePerSecond: rate,
      requests: m.requests,
      servedOldVersionForS: m.servedOldVersionForS ?? 0,
      firstNewVersionAfterS: m.firstNewVersionAfterS,
    })
    log(
      `  freshness, a warm container at ${rate < 1 ? `1 request / ${Math.round(1 / rate)} s` : `${rate} req/s`}: old version until ${m.servedOldVersionForS ?? 0} s after the move, new version first served at ${m.firstNewVersionAfterS ?? '—'} s`,
    )
  }
  const ttlSweep: TtlSweepResult[] = []
  for (const ttlS of TTL_SWEEP_S) {
    const m = await run('broker', 'hour', { ...broker.env, BROKER_CACHE_TTL_SECONDS: String(ttlS) })
    const sm = secretsManagerUsd(monthlyFleetCalls(m.getSecretValue + m.describeSecret))
    const reg = registerMonth(m).usd
    ttlSweep.push({
      ttlS,
      getSecretValue: m.getSecretValue,
      describeSecret: m.describeSecret,
      secretsManagerUsd: sm,
      registerUsd: reg,
      totalUsd: sm + reg,
    })
    log(
      `  value TTL ${ttlS} s with the register: ${m.getSecretValue} GetSecretValue + ${m.describeSecret} DescribeSecret, $${(sm + reg).toFixed(2)}/month`,
    )
  }
  const byId = (id: string): CallsResult => hour.find((h) => h.id === id) as CallsResult
  const direct = byId('powertools-300').hour
  const ours = byId('broker')
  const costs: OwnershipResult[] = (
    [
      [60, 'rest'],
      [900, 'rest'],
      [60, 'http'],
    ] as const
  ).map(([clientTtlS, api]) => ({
    clientTtlS,
    api,
    ...ownership({
      directCallsPerSecretHour: direct.getSecretValue + direct.describeSecret,
      brokerCallsPerSecretHour: ours.hour.getSecretValue + ours.hour.describeSecret,
      register: ours.register as RegisterMonth,
      clientTtlS,
      api,
    }),
  }))
  const burstScenarios = all.filter((s) =>
    ['broker', 'powertools-300', 'middy-300', 'no-cache'].includes(s.id),
  )
  const coldBurst: ColdBurstResult[] = []
  for (const s of burstScenarios) {
    const message = await run(s.target, 'cold-burst', s.env)
    coldBurst.push({ target: s.target, label: s.label, message })
    log(
      `  100 concurrent cold requests, ${s.label.padEnd(30)} → ${message.getSecretValue + message.describeSecret} upstream call(s)`,
    )
  }
  return { hour, coldBurst, freshness, ownership: costs, ttlSweep, eventDelayMs: EVENT_DELAY_MS }
}
