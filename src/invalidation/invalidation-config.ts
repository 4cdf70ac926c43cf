import * as z from 'zod/mini'
import type { LogLevel, Stage } from '../contract/settings'
import {
  checkNoUnknownKeys,
  readRegion,
  readRequired,
  readSetting,
  readStage,
  requireDocument,
  type Env,
} from '../lib/config'
import { ConfigError } from '../lib/errors'
import { COMPILED_INVALIDATION_JSON } from './compiled-invalidation'

/** The invalidation function's configuration, read once at cold start. */
const InvalidationDocumentSchema = z.strictObject({
  /** Names (in Secrets Manager) of the stage's brokered secrets. */
  secretNames: z.array(z.string().check(z.minLength(1), z.maxLength(512))),
  /** Secrets Manager name prefixes of the stage's brokered prefixes: every name under one is brokered. */
  secretPrefixes: z.array(z.string().check(z.minLength(1), z.maxLength(512))),
})
export type InvalidationDocument = z.infer<typeof InvalidationDocumentSchema>

export interface InvalidationConfig {
  readonly stage: Stage
  readonly region: string
  readonly accountId: string
  readonly registerTable: string
  readonly secretNames: readonly string[]
  readonly secretPrefixes: readonly string[]
  readonly logLevel: LogLevel
}

export function parseInvalidationDocument(json: string): InvalidationDocument {
  let raw: unknown
  try {
    raw = JSON.parse(json)
  } catch {
    throw new ConfigError('The invalidation document is not valid JSON')
  }
  const parsed = InvalidationDocumentSchema.safeParse(raw)
  if (!parsed.success) {
    throw new ConfigError(
      `The invalidation document is malformed: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
    )
  }
  return parsed.data
}

/** Why a function without its bundled document refuses to start. */
export const NO_COMPILED_INVALIDATION =
  'This build carries no compiled invalidation document: the invalidation function must be bundled through esbuild.config.ts (npm run package, npm start)'

/**
 * The invalidation function's configuration: the environment's settings, and the scope bundled with it.
 * @example const config = loadInvalidationConfig()
 */
export function loadInvalidationConfig(
  env: Env = process.env,
  documentJson: string | undefined = COMPILED_INVALIDATION_JSON,
): InvalidationConfig {
  checkNoUnknownKeys(env)
  const doc = parseInvalidationDocument(requireDocument(documentJson, NO_COMPILED_INVALIDATION))
  return Object.freeze({
    stage: readStage(env),
    region: readRegion(env),
    accountId: readSetting(env, 'accountId'),
    registerTable: readRequired(env, 'BROKER_REGISTER_TABLE'),
    secretNames: Object.freeze([...doc.secretNames]),
    secretPrefixes: Object.freeze([...doc.secretPrefixes]),
    logLevel: readSetting(env, 'logLevel'),
  })
}
