import { ConfigError } from './errors'

/**
 * Typed configuration, read once at cold start. Every environment variable the broker uses is read here
 * and nowhere else; unknown BROKER_* keys are refused so a typo fails loudly instead of silently using a default.
 */

export const STAGES = ['local', 'dev', 'prod'] as const
export type Stage = (typeof STAGES)[number]

export const AUTH_MODES = ['iam', 'local-sigv4'] as const
/** `iam`: trust API Gateway's AWS_IAM identity. `local-sigv4`: verify SigV4 ourselves (serverless-offline only). */
export type AuthMode = (typeof AUTH_MODES)[number]

export const DEFAULT_CACHE_TTL_SECONDS = 300
export const DEFAULT_CACHE_MAX_ENTRIES = 500
export const DEFAULT_MAX_STALE_SECONDS = 900
export const DEFAULT_FORCE_REFRESH_MIN_INTERVAL_SECONDS = 10
export const DEFAULT_MAX_VALUE_AGE_SECONDS = 3600
export const DEFAULT_UPSTREAM_TIMEOUT_MS = 2000
export const DEFAULT_UPSTREAM_MAX_ATTEMPTS = 3
export const DEFAULT_LOG_LEVEL = 'INFO'
/**
 * One cache refresh may take at most this long (two upstream calls, each retried by the SDK: up to ~12 s
 * unbounded). The HTTP functions' 10 s timeout leaves 3 s for the rest, so a slow Secrets Manager yields a
 * stale value or an audited 503, never a Lambda timeout without an audit record.
 */
export const REFRESH_BUDGET_MS = 7000

export interface HttpConfig {
  readonly stage: Stage
  readonly region: string
  readonly accountId: string
  readonly authMode: AuthMode
  /** The raw catalog document; parsed and checked by `loadCatalog` in lib/secrets. */
  readonly catalogJson: string
  readonly cacheTtlMs: number
  readonly cacheMaxEntries: number
  readonly maxStaleMs: number
  readonly forceRefreshMinIntervalMs: number
  /** After this long a cached value is re-read with GetSecretValue rather than revalidated by DescribeSecret. */
  readonly maxValueAgeMs: number
  readonly upstreamTimeoutMs: number
  readonly upstreamMaxAttempts: number
  /** Local stage only: the secret holding the demo consumers' access keys for SigV4 verification. */
  readonly localConsumersSecretId: string | undefined
  /** Optional JSON-lines file that receives a copy of every audit record (the local stack's audit log). */
  readonly auditFile: string | undefined
  readonly logLevel: LogLevel
}

export const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

/** Every BROKER_* key any function reads. Functions share one list so provider-level variables are accepted. */
export const KNOWN_BROKER_KEYS = new Set([
  'BROKER_STAGE',
  'BROKER_ACCOUNT_ID',
  'BROKER_AUTH_MODE',
  'BROKER_CATALOG_JSON',
  'BROKER_CACHE_TTL_SECONDS',
  'BROKER_CACHE_MAX_ENTRIES',
  'BROKER_MAX_STALE_SECONDS',
  'BROKER_FORCE_REFRESH_MIN_INTERVAL_SECONDS',
  'BROKER_MAX_VALUE_AGE_SECONDS',
  'BROKER_UPSTREAM_TIMEOUT_MS',
  'BROKER_UPSTREAM_MAX_ATTEMPTS',
  'BROKER_LOCAL_CONSUMERS_SECRET_ID',
  'BROKER_AUDIT_FILE',
  'BROKER_LOG_LEVEL',
  'BROKER_ROTATION_JSON',
  'BROKER_PG_CONNECT_TIMEOUT_MS',
  'BROKER_PG_STATEMENT_TIMEOUT_MS',
])

export type Env = Readonly<Record<string, string | undefined>>

export function checkNoUnknownKeys(env: Env): void {
  const unknown = Object.keys(env).filter((k) => k.startsWith('BROKER_') && !KNOWN_BROKER_KEYS.has(k))
  if (unknown.length > 0) {
    throw new ConfigError(`Unknown configuration variable(s): ${unknown.sort().join(', ')}`)
  }
}

export function readEnum<T extends string>(env: Env, key: string, allowed: readonly T[], fallback?: T): T {
  const raw = env[key]
  if (raw === undefined || raw === '') {
    if (fallback !== undefined) return fallback
    throw new ConfigError(`${key} is required (one of: ${allowed.join(', ')})`)
  }
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(`${key} must be one of: ${allowed.join(', ')}`)
  }
  return raw as T
}

export function readInt(
  env: Env,
  key: string,
  range: { min: number; max: number },
  fallback: number,
): number {
  const raw = env[key]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw.trim())
  if (!/^-?\d+$/.test(raw.trim()) || value < range.min || value > range.max) {
    throw new ConfigError(`${key} must be an integer ${range.min}–${range.max}`)
  }
  return value
}

export function readRequired(env: Env, key: string, pattern?: RegExp, what?: string): string {
  const raw = env[key]
  if (raw === undefined || raw === '') throw new ConfigError(`${key} is required`)
  if (pattern !== undefined && !pattern.test(raw))
    throw new ConfigError(`${key} must be ${what ?? pattern.source}`)
  return raw
}

export function readOptional(env: Env, key: string): string | undefined {
  const raw = env[key]
  return raw === undefined || raw === '' ? undefined : raw
}

export const ACCOUNT_ID_PATTERN = /^\d{12}$/

/** Region: the Lambda runtime sets AWS_REGION; locally the start script does. */
export function readRegion(env: Env): string {
  return readRequired(env, 'AWS_REGION', /^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region such as us-east-1')
}

export function loadHttpConfig(env: Env = process.env): HttpConfig {
  checkNoUnknownKeys(env)
  const stage = readEnum(env, 'BROKER_STAGE', STAGES)
  const authMode = readEnum(env, 'BROKER_AUTH_MODE', AUTH_MODES, 'iam')
  if (authMode === 'local-sigv4') {
    // The local verifier exists because serverless-offline does not enforce AWS_IAM. It must never run in AWS:
    // only the local stage, only under serverless-offline (which sets IS_OFFLINE), only outside a Lambda sandbox.
    const inLambda =
      env['AWS_EXECUTION_ENV'] !== undefined && env['AWS_EXECUTION_ENV'].startsWith('AWS_Lambda')
    if (stage !== 'local' || env['IS_OFFLINE'] !== 'true' || inLambda) {
      throw new ConfigError(
        'BROKER_AUTH_MODE=local-sigv4 is only allowed in the local stage under serverless-offline',
      )
    }
  }
  const localConsumersSecretId = readOptional(env, 'BROKER_LOCAL_CONSUMERS_SECRET_ID')
  if (authMode === 'local-sigv4' && localConsumersSecretId === undefined) {
    throw new ConfigError('BROKER_LOCAL_CONSUMERS_SECRET_ID is required when BROKER_AUTH_MODE=local-sigv4')
  }
  return Object.freeze({
    stage,
    region: readRegion(env),
    accountId: readRequired(env, 'BROKER_ACCOUNT_ID', ACCOUNT_ID_PATTERN, 'a 12-digit AWS account id'),
    authMode,
    catalogJson: readRequired(env, 'BROKER_CATALOG_JSON'),
    cacheTtlMs:
      readInt(env, 'BROKER_CACHE_TTL_SECONDS', { min: 0, max: 3600 }, DEFAULT_CACHE_TTL_SECONDS) * 1000,
    cacheMaxEntries: readInt(
      env,
      'BROKER_CACHE_MAX_ENTRIES',
      { min: 1, max: 10_000 },
      DEFAULT_CACHE_MAX_ENTRIES,
    ),
    maxStaleMs:
      readInt(env, 'BROKER_MAX_STALE_SECONDS', { min: 0, max: 86_400 }, DEFAULT_MAX_STALE_SECONDS) * 1000,
    forceRefreshMinIntervalMs:
      readInt(
        env,
        'BROKER_FORCE_REFRESH_MIN_INTERVAL_SECONDS',
        { min: 0, max: 3600 },
        DEFAULT_FORCE_REFRESH_MIN_INTERVAL_SECONDS,
      ) * 1000,
    maxValueAgeMs:
      readInt(env, 'BROKER_MAX_VALUE_AGE_SECONDS', { min: 0, max: 86_400 }, DEFAULT_MAX_VALUE_AGE_SECONDS) *
      1000,
    upstreamTimeoutMs: readInt(
      env,
      'BROKER_UPSTREAM_TIMEOUT_MS',
      { min: 100, max: 20_000 },
      DEFAULT_UPSTREAM_TIMEOUT_MS,
    ),
    upstreamMaxAttempts: readInt(
      env,
      'BROKER_UPSTREAM_MAX_ATTEMPTS',
      { min: 1, max: 5 },
      DEFAULT_UPSTREAM_MAX_ATTEMPTS,
    ),
    localConsumersSecretId,
    auditFile: readOptional(env, 'BROKER_AUDIT_FILE'),
    logLevel: readEnum(env, 'BROKER_LOG_LEVEL', LOG_LEVELS, DEFAULT_LOG_LEVEL),
  })
}
