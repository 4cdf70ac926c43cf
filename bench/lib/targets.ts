import { MOTO_CREDENTIALS } from '../../scripts/lib/moto'
import type { BuildOutput, Peer } from './build'
import { cleanEnv } from './child'
import { BENCH_ACCOUNT_ID, BENCH_REGION, BENCH_REGISTER_TABLE, BENCH_SECRET_NAME } from './events'
import { QUIET_TOOL_ENV } from '../../scripts/lib/tool-env'

/**
 * The targets compared in-process, and the environment each runs with. The broker runs as deployed
 * (stage dev, AWS_IAM identity, its default TTL, the invalidation register, its catalog bundled: build.ts);
 * the peers read the same secret from the same moto.
 */
export type TargetId = 'broker' | 'floor' | 'powertools' | 'middy' | 'no-cache'

export interface Target {
  readonly id: TargetId
  readonly label: string
  readonly bundle: string
  readonly env: Record<string, string>
}

export interface Upstream {
  readonly endpoint: string
  readonly secretArn: string
}

export function awsEnv(endpoint: string): Record<string, string> {
  return {
    AWS_REGION: BENCH_REGION,
    AWS_DEFAULT_REGION: BENCH_REGION,
    AWS_ENDPOINT_URL: endpoint,
    AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
    ...QUIET_TOOL_ENV,
  }
}

export function brokerEnv(upstream: Upstream, extra: Record<string, string> = {}): Record<string, string> {
  return cleanEnv({
    ...awsEnv(upstream.endpoint),
    BROKER_STAGE: 'dev',
    BROKER_ACCOUNT_ID: BENCH_ACCOUNT_ID,
    BROKER_AUTH_MODE: 'iam',
    BROKER_REGISTER_TABLE: BENCH_REGISTER_TABLE,
    ...extra,
  })
}

/** Peer settings: `default` leaves the library's own default. */
export function peerEnv(
  upstream: Upstream,
  extra: { maxAgeSeconds?: string; cacheExpirySeconds?: string } = {},
): Record<string, string> {
  return cleanEnv({
    ...awsEnv(upstream.endpoint),
    BENCH_SECRET_ID: upstream.secretArn,
    BENCH_SECRET_NAME: BENCH_SECRET_NAME,
    BENCH_MAX_AGE_SECONDS: extra.maxAgeSeconds ?? '300',
    BENCH_CACHE_EXPIRY_SECONDS: extra.cacheExpirySeconds ?? '300',
  })
}

export function latencyTargets(build: BuildOutput, upstream: Upstream): Target[] {
  const peer = (p: Peer): string => build.peers[p].path
  return [
    {
      id: 'broker',
      label: 'broker get-secret (bundled, TTL 900 s, invalidation register)',
      bundle: build.functions['get-secret'].path,
      env: brokerEnv(upstream),
    },
    { id: 'floor', label: 'floor: bare middy + 1 log line', bundle: peer('floor'), env: peerEnv(upstream) },
    {
      id: 'powertools',
      label: 'Powertools getSecret (maxAge 300 s)',
      bundle: peer('powertools'),
      env: peerEnv(upstream),
    },
    {
      id: 'middy',
      label: '@middy/secrets-manager (cacheExpiry 300 s)',
      bundle: peer('middy-secrets-manager'),
      env: peerEnv(upstream),
    },
    {
      id: 'no-cache',
      label: 'GetSecretValue on every request',
      bundle: peer('no-cache'),
      env: peerEnv(upstream),
    },
  ]
}
