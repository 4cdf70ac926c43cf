import * as z from 'zod/mini'
import { PG_SSL_MODES, type LogLevel, type PgSslMode, type Stage } from '../contract/settings'
import {
  checkNoUnknownKeys,
  readRegion,
  readSetting,
  readStage,
  requireDocument,
  type Env,
} from '../lib/config'
import { ConfigError } from '../lib/errors'
import {
  ROTATION_STRATEGIES,
  ROTATION_STRATEGY_TRAITS,
  type RotationStrategyKind,
} from '../contract/rotation-strategies'
import { secretIdProblem } from '../contract/secret-id'

import { COMPILED_ROTATION_JSON } from './compiled-rotation'

/**
 * The rotation function's configuration, read once at cold start: its settings from the environment, and the
 * rotation document compiled at packaging and bundled with the function (never an environment variable).
 */
export { PG_SSL_MODES, type PgSslMode }

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
  readonly upstreamMaxAttempts: number
  readonly logLevel: LogLevel
}

export function parseRotationDocument(json: string): RotationDocument {
  let raw: unknown
  try {
    raw = JSON.parse(json)
  } catch {
    throw new ConfigError('The rotation document is not valid JSON')
  }
  const parsed = RotationDocumentSchema.safeParse(raw)
  if (!parsed.success) {
    throw new ConfigError(
      `The rotation document is malformed: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    )
  }
  for (const [i, t] of parsed.data.targets.entries()) {
    for (const [field, id] of [
      ['secretId', t.secretId],
      ['masterSecretId', t.masterSecretId],
    ] as const) {
      const problem = id === undefined ? undefined : secretIdProblem(id)
      if (problem !== undefined)
        throw new ConfigError(`The rotation document: targets.${i}.${field} ${problem}`)
    }
    if (ROTATION_STRATEGY_TRAITS[t.strategy].needsMaster && t.masterSecretId === undefined) {
      throw new ConfigError(
        `The rotation document: target ${t.secretId} uses ${t.strategy} without masterSecretId`,
      )
    }
  }
  return parsed.data
}

/** Why a rotation function without its bundled document refuses to start. */
export const NO_COMPILED_ROTATION =
  'This build carries no compiled rotation document: the rotation function must be bundled through esbuild.config.ts (npm run package, npm start)'

export function loadRotationConfig(
  env: Env = process.env,
  documentJson: string | undefined = COMPILED_ROTATION_JSON,
): RotationConfig {
  checkNoUnknownKeys(env)
  const doc = parseRotationDocument(requireDocument(documentJson, NO_COMPILED_ROTATION))
  return Object.freeze({
    stage: readStage(env),
    region: readRegion(env),
    pgSslMode: doc.pgSslMode,
    targets: Object.freeze(doc.targets.map((t) => Object.freeze({ ...t, masterSecretId: t.masterSecretId }))),
    pgConnectTimeoutMs: readSetting(env, 'pgConnectTimeoutMs'),
    pgStatementTimeoutMs: readSetting(env, 'pgStatementTimeoutMs'),
    upstreamTimeoutMs: readSetting(env, 'upstreamTimeoutMs'),
    upstreamMaxAttempts: readSetting(env, 'upstreamMaxAttempts'),
    logLevel: readSetting(env, 'logLevel'),
  })
}
