import * as z from 'zod/mini'
import {
  checkNoUnknownKeys,
  readEnum,
  readInt,
  readRegion,
  readRequired,
  LOG_LEVELS,
  DEFAULT_LOG_LEVEL,
  STAGES,
  type Env,
  type LogLevel,
  type Stage,
} from '../lib/config'
import { ConfigError } from '../lib/errors'
import { ROTATION_STRATEGIES, secretIdProblem, type RotationStrategyKind } from '../lib/secrets/catalog'

/** The rotation function's configuration, read once at cold start from BROKER_ROTATION_JSON and friends. */
export const PG_SSL_MODES = ['disable', 'require', 'verify-full'] as const
export type PgSslMode = (typeof PG_SSL_MODES)[number]

export const DEFAULT_PG_CONNECT_TIMEOUT_MS = 5000
export const DEFAULT_PG_STATEMENT_TIMEOUT_MS = 5000

const RotationDocumentSchema = z.strictObject({
  pgSslMode: z.enum(PG_SSL_MODES),
  targets: z.array(
    z.strictObject({
      /** ARN in deployed stages, name locally; matched against both the ARN and the Name DescribeSecret returns. */
      secretId: z.string().check(z.minLength(1)),
      strategy: z.enum(ROTATION_STRATEGIES),
      passwordLength: z.int().check(z.gte(16), z.lte(4096)),
      excludeCharacters: z.string(),
      masterSecretId: z.optional(z.string().check(z.minLength(1))),
    }),
  ),
})
export type RotationDocument = z.infer<typeof RotationDocumentSchema>

export interface RotationTarget {
  readonly secretId: string
  readonly strategy: RotationStrategyKind
  readonly passwordLength: number
  readonly excludeCharacters: string
  readonly masterSecretId: string | undefined
}

export interface RotationConfig {
  readonly stage: Stage
  readonly region: string
  readonly pgSslMode: PgSslMode
  readonly targets: readonly RotationTarget[]
  readonly pgConnectTimeoutMs: number
  readonly pgStatementTimeoutMs: number
  readonly upstreamTimeoutMs: number
  readonly logLevel: LogLevel
}

export function parseRotationDocument(json: string): RotationDocument {
  let raw: unknown
  try {
    raw = JSON.parse(json)
  } catch {
    throw new ConfigError('BROKER_ROTATION_JSON is not valid JSON')
  }
  const parsed = RotationDocumentSchema.safeParse(raw)
  if (!parsed.success) {
    throw new ConfigError(
      `BROKER_ROTATION_JSON is malformed: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    )
  }
  for (const [i, t] of parsed.data.targets.entries()) {
    for (const [field, id] of [
      ['secretId', t.secretId],
      ['masterSecretId', t.masterSecretId],
    ] as const) {
      const problem = id === undefined ? undefined : secretIdProblem(id)
      if (problem !== undefined)
        throw new ConfigError(`BROKER_ROTATION_JSON: targets.${i}.${field} ${problem}`)
    }
    if (t.strategy === 'postgres-alternating-users' && t.masterSecretId === undefined) {
      throw new ConfigError(
        `BROKER_ROTATION_JSON: target ${t.secretId} uses postgres-alternating-users without masterSecretId`,
      )
    }
  }
  return parsed.data
}

export function loadRotationConfig(env: Env = process.env): RotationConfig {
  checkNoUnknownKeys(env)
  const doc = parseRotationDocument(readRequired(env, 'BROKER_ROTATION_JSON'))
  return Object.freeze({
    stage: readEnum(env, 'BROKER_STAGE', STAGES),
    region: readRegion(env),
    pgSslMode: doc.pgSslMode,
    targets: Object.freeze(doc.targets.map((t) => Object.freeze({ ...t, masterSecretId: t.masterSecretId }))),
    pgConnectTimeoutMs: readInt(
      env,
      'BROKER_PG_CONNECT_TIMEOUT_MS',
      { min: 100, max: 60_000 },
      DEFAULT_PG_CONNECT_TIMEOUT_MS,
    ),
    pgStatementTimeoutMs: readInt(
      env,
      'BROKER_PG_STATEMENT_TIMEOUT_MS',
      { min: 100, max: 60_000 },
      DEFAULT_PG_STATEMENT_TIMEOUT_MS,
    ),
    upstreamTimeoutMs: readInt(env, 'BROKER_UPSTREAM_TIMEOUT_MS', { min: 100, max: 20_000 }, 3000),
    logLevel: readEnum(env, 'BROKER_LOG_LEVEL', LOG_LEVELS, DEFAULT_LOG_LEVEL),
  })
}
