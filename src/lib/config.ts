import {
  AUTH_MODES,
  describeRange,
  KNOWN_ENV_KEYS,
  LOG_LEVELS,
  REGION_PATTERN,
  SETTINGS,
  STAGES,
  type AuthMode,
  type LogLevel,
  type Setting,
  type SettingValue,
  type Stage,
} from '../contract/settings'
import { COMPILED_CATALOG_CHECKED, COMPILED_CATALOG_JSON } from './compiled-catalog'
import { ConfigError } from './errors'

/**
 * Typed configuration, read once at cold start. Every environment variable the broker uses is read here
 * (or through `readSetting` from here) and nowhere else; names, ranges and defaults come from the one
 * declaration in contract/settings.ts, and unknown BROKER_* keys are refused so a typo fails loudly.
 */
export { AUTH_MODES, LOG_LEVELS, STAGES, type AuthMode, type LogLevel, type Stage }

/**
 * One cache refresh may take at most this long (two upstream calls, each retried by the SDK: up to ~12 s
 * unbounded). The HTTP functions' 10 s timeout leaves 3 s for the rest, so a slow Secrets Manager yields a
 * stale value or an audited 503, never a Lambda timeout without an audit record.
 */
export const REFRESH_BUDGET_MS = 7000

/**
 * The invalidation register is read inside requests, so a slow or failing table must cost little: each call
 * gets 500 ms and one retry, one sync (generation, then items) at most 1.2 s; past that the container falls
 * back to its shorter TTL. With the refresh budget that still leaves the 10 s function timeout room to answer.
 */
export const REGISTER_TIMEOUT_MS = 500
export const REGISTER_MAX_ATTEMPTS = 2
export const REGISTER_SYNC_BUDGET_MS = 1200

export interface HttpConfig {
  readonly stage: Stage
  readonly region: string
  readonly accountId: string
  readonly authMode: AuthMode
  /**
   * The catalog document compiled at packaging and bundled with the function (never an environment
   * variable); parsed and checked again by `loadCatalog` in lib/secrets.
   */
  readonly catalogJson: string
  /** catalogJson is the bundled document and the bundler checked it (COMPILED_CATALOG_CHECKED). */
  readonly catalogCheckedAtBuild: boolean
  readonly cacheTtlMs: number
  readonly cacheMaxEntries: number
  readonly maxStaleMs: number
  readonly forceRefreshMinIntervalMs: number
  /** After this long a cached value is re-read with GetSecretValue rather than revalidated by DescribeSecret. */
  readonly maxValueAgeMs: number
  /** The invalidation register's table; undefined: no register (the TTL alone decides). */
  readonly registerTable: string | undefined
  readonly invalidationPollMs: number
  /** The TTL while the register cannot be read. */
  readonly registerFallbackTtlMs: number
  readonly upstreamTimeoutMs: number
  readonly upstreamMaxAttempts: number
  /** Local stage only: the secret holding the demo consumers' access keys for SigV4 verification. */
  readonly localConsumersSecretId: string | undefined
  /** Optional JSON-lines file that receives a copy of every audit record (the local stack's audit log). */
  readonly auditFile: string | undefined
  /** Local stage only: the id of the local stack serving this function, which /health answers with. */
  readonly localStackId: string | undefined
  /**
   * The stage's REST API id: when set, an event that does not name it and this stage is refused (a tripwire
   * against direct invocation by mistake; see lib/middleware/api-origin.ts). Every packaged stage sets it.
   */
  readonly apiId: string | undefined
  readonly logLevel: LogLevel
}

export type Env = Readonly<Record<string, string | undefined>>

export function checkNoUnknownKeys(env: Env): void {
  const unknown = Object.keys(env).filter((k) => k.startsWith('BROKER_') && !KNOWN_ENV_KEYS.has(k))
  if (unknown.length > 0) {
    throw new ConfigError(`Unknown configuration variable(s): ${unknown.sort().join(', ')}`)
  }
}

type Settings = typeof SETTINGS

/**
 * A setting from its environment variable, checked against its declared range; its declared default when
 * the variable is unset or empty. The message names the variable and the valid range.
 */
export function readSetting<K extends keyof Settings>(env: Env, name: K): SettingValue<Settings[K]> {
  const s: Setting = SETTINGS[name]
  if (s.env === undefined) throw new Error(`setting ${name} has no environment variable`)
  return parseSettingValue(s, s.env, env[s.env]) as SettingValue<Settings[K]>
}

function parseSettingValue(s: Setting, key: string, raw: string | undefined): unknown {
  if (raw === undefined || raw === '') {
    if (s.kind === 'string' && s.required === true) throw new ConfigError(`${key} is required`)
    return s.default
  }
  const invalid = (): ConfigError => new ConfigError(`${key} must be ${describeRange(s)}`)
  switch (s.kind) {
    case 'int': {
      const trimmed = raw.trim()
      const value = Number(trimmed)
      if (!/^-?\d+$/.test(trimmed) || value < s.min || value > s.max) throw invalid()
      if (s.oneOf !== undefined && !s.oneOf.includes(value)) throw invalid()
      return value
    }
    case 'enum':
      if (!s.values.includes(raw)) throw invalid()
      return raw
    case 'bool':
      if (raw !== 'true' && raw !== 'false') throw invalid()
      return raw === 'true'
    case 'string':
      if (s.pattern !== undefined && !s.pattern.test(raw)) throw invalid()
      return raw
    default: {
      const unreachable: never = s
      return unreachable
    }
  }
}

export function readStage(env: Env): Stage {
  const raw = env['BROKER_STAGE']
  if (raw === undefined || raw === '')
    throw new ConfigError(`BROKER_STAGE is required (one of: ${STAGES.join(', ')})`)
  if (!(STAGES as readonly string[]).includes(raw))
    throw new ConfigError(`BROKER_STAGE must be one of: ${STAGES.join(', ')}`)
  return raw as Stage
}

export function readRequired(env: Env, key: string): string {
  const raw = env[key]
  if (raw === undefined || raw === '') throw new ConfigError(`${key} is required`)
  return raw
}

/** A bundled document, or the ConfigError that says how the function was built wrong. */
export function requireDocument(doc: string | undefined, missing: string): string {
  if (doc === undefined || doc === '') throw new ConfigError(missing)
  return doc
}

export function readOptional(env: Env, key: string): string | undefined {
  const raw = env[key]
  return raw === undefined || raw === '' ? undefined : raw
}

/** Region: the Lambda runtime sets AWS_REGION; locally the start script does. */
export function readRegion(env: Env): string {
  const raw = readRequired(env, 'AWS_REGION')
  if (!REGION_PATTERN.test(raw)) throw new ConfigError('AWS_REGION must be an AWS region such as us-east-1')
  return raw
}

function checkLocalVerifierAllowed(env: Env, stage: Stage): void {
  // The local verifier exists because serverless-offline does not enforce AWS_IAM. It must never run in AWS:
  // only the local stage, only under serverless-offline (which sets IS_OFFLINE), only outside a Lambda sandbox.
  const inLambda = env['AWS_EXECUTION_ENV']?.startsWith('AWS_Lambda') === true
  if (stage !== 'local' || env['IS_OFFLINE'] !== 'true' || inLambda) {
    throw new ConfigError(
      'BROKER_AUTH_MODE=local-sigv4 is only allowed in the local stage under serverless-offline',
    )
  }
}

function readLocalStackId(env: Env, stage: Stage): string | undefined {
  const id = readOptional(env, 'BROKER_LOCAL_STACK_ID')
  if (id !== undefined && stage !== 'local')
    throw new ConfigError('BROKER_LOCAL_STACK_ID is only allowed in the local stage')
  return id
}

/** Why a function without its bundled document refuses to start. */
export const NO_COMPILED_CATALOG =
  'This build carries no compiled catalog: the HTTP functions must be bundled through esbuild.config.ts (npm run package, npm start)'

/**
 * The HTTP functions' configuration: the environment's settings, and the catalog bundled with the function.
 * @example const config = loadHttpConfig()
 */
export function loadHttpConfig(
  env: Env = process.env,
  catalogJson: string | undefined = COMPILED_CATALOG_JSON,
): HttpConfig {
  checkNoUnknownKeys(env)
  const stage = readStage(env)
  const authMode = readSetting(env, 'authMode')
  if (authMode === 'local-sigv4') checkLocalVerifierAllowed(env, stage)
  const localConsumersSecretId = readOptional(env, 'BROKER_LOCAL_CONSUMERS_SECRET_ID')
  if (authMode === 'local-sigv4' && localConsumersSecretId === undefined) {
    throw new ConfigError('BROKER_LOCAL_CONSUMERS_SECRET_ID is required when BROKER_AUTH_MODE=local-sigv4')
  }
  return Object.freeze({
    stage,
    region: readRegion(env),
    accountId: readSetting(env, 'accountId'),
    authMode,
    catalogJson: requireDocument(catalogJson, NO_COMPILED_CATALOG),
    // The bundler's check vouches for the bundled text only, never for a document passed in.
    catalogCheckedAtBuild: COMPILED_CATALOG_CHECKED && catalogJson === COMPILED_CATALOG_JSON,
    cacheTtlMs: readSetting(env, 'cacheTtlSeconds') * 1000,
    cacheMaxEntries: readSetting(env, 'cacheMaxEntries'),
    maxStaleMs: readSetting(env, 'maxStaleSeconds') * 1000,
    forceRefreshMinIntervalMs: readSetting(env, 'forceRefreshMinIntervalSeconds') * 1000,
    maxValueAgeMs: readSetting(env, 'maxValueAgeSeconds') * 1000,
    registerTable: readOptional(env, 'BROKER_REGISTER_TABLE'),
    invalidationPollMs: readSetting(env, 'invalidationPollSeconds') * 1000,
    registerFallbackTtlMs: readSetting(env, 'registerFallbackTtlSeconds') * 1000,
    upstreamTimeoutMs: readSetting(env, 'upstreamTimeoutMs'),
    upstreamMaxAttempts: readSetting(env, 'upstreamMaxAttempts'),
    localConsumersSecretId,
    auditFile: readOptional(env, 'BROKER_AUDIT_FILE'),
    localStackId: readLocalStackId(env, stage),
    apiId: readOptional(env, 'BROKER_API_ID'),
    logLevel: readSetting(env, 'logLevel'),
  })
}
