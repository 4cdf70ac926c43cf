import type { CallsMessage, CallsMode, CallsTarget } from '../drivers/upstream-calls'
import type { BuildOutput } from './build'
import { runDriver } from './child'
import { brokerEnv, peerEnv, type Upstream } from './targets'

/**
 * Part 2: upstream calls per container in a simulated hour (10 req/s, one rotation), for each target at
 * its library defaults and at 300 s; the monthly cost for a fleet; and 100 concurrent cold requests.
 * The counting fake answers every call, so `upstream` here only fills the configuration (no network).
 */
export const PRICE_PER_10K_CALLS_USD = 0.05
export const FLEET = { containers: 100, secrets: 20 } as const
export const HOURS_PER_MONTH = 730

export interface CallsScenario {
  readonly id: string
  /** How long a rotated-away value can be served at most, by construction (seconds), or for the life of the container. */
  readonly worstCaseStaleS: number | 'container-lifetime'
  readonly target: CallsTarget
  readonly label: string
  readonly setting: string
  readonly env: Record<string, string>
}

export interface CallsResult extends CallsScenario {
  readonly hour: CallsMessage
  readonly monthlyCallsFleet: number
  readonly monthlyCostUsd: number
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
      worstCaseStaleS: 300,
      target: 'broker',
      label: 'broker',
      setting: 'TTL 300 s (its default) + DescribeSecret revalidation',
      env: brokerEnv(upstream),
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

export function monthlyFleetCalls(callsPerHour: number): number {
  return callsPerHour * HOURS_PER_MONTH * FLEET.containers * FLEET.secrets
}

export async function measureUpstreamCalls(
  build: BuildOutput,
  upstream: Upstream,
  log: (line: string) => void,
): Promise<{ hour: CallsResult[]; coldBurst: ColdBurstResult[] }> {
  const run = (target: CallsTarget, mode: CallsMode, env: Record<string, string>): Promise<CallsMessage> =>
    runDriver<CallsMessage>(build.drivers['upstream-calls'], [target, mode], env).then((r) => r.message)
  const hour = await Promise.all(
    scenarios(upstream).map(async (s): Promise<CallsResult> => {
      const message = await run(s.target, 'hour', s.env)
      const calls = message.getSecretValue + message.describeSecret
      const monthlyCallsFleet = monthlyFleetCalls(calls)
      return {
        ...s,
        hour: message,
        monthlyCallsFleet,
        monthlyCostUsd: (monthlyCallsFleet / 10_000) * PRICE_PER_10K_CALLS_USD,
      }
    }),
  )
  for (const r of hour) {
    log(
      `  ${`${r.label}, ${r.setting}`.padEnd(70)} GetSecretValue ${String(r.hour.getSecretValue).padStart(6)}  DescribeSecret ${String(r.hour.describeSecret).padStart(3)}  old version for ${r.hour.servedOldVersionForS ?? 0} s  $${r.monthlyCostUsd.toFixed(2)}/month`,
    )
  }
  const burstScenarios = scenarios(upstream).filter((s) =>
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
  return { hour, coldBurst }
}
