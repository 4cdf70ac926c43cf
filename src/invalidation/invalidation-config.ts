import * as z from 'zod/mini'
import type { LogLevel, Stage } from '../contract/settings'
import { checkNoUnknownKeys, readRegion, readRequired, readSetting, readStage, type Env } from '../lib/config'
import { ConfigError } from '../lib/errors'

/** The invalidation function's configuration, read once at cold start. */
const InvalidationDocumentSchema = z.strictObject({
  /** Names (in Secrets Manager) of the stage's brokered secrets. */
  secretNames: z.array(z.string().check(z.minLength(1), z.maxLength(512))),
})
export type InvalidationDocument = z.infer<typeof InvalidationDocumentSchema>

export interface InvalidationConfig {
  readonly stage: Stage
  readonly region: string
  readonly accountId: string
  readonly registerTable: string
  readonly secretNames: readonly string[]
  readonly logLevel: LogLevel
}

export function parseInvalidationDocument(json: string): InvalidationDocument {
  let raw: unknown
  try {
    raw = JSON.parse(json)
  } catch {
    throw new ConfigError('BROKER_INVALIDATION_JSON is not valid JSON')
  }
  const parsed = InvalidationDocumentSchema.safeParse(raw)
  if (!parsed.success) {
    throw new ConfigError(
      `BROKER_INVALIDATION_JSON is malformed: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
    )
  }
  return parsed.data
}

export function loadInvalidationConfig(env: Env = process.env): InvalidationConfig {
  checkNoUnknownKeys(env)
  const doc = parseInvalidationDocument(readRequired(env, 'BROKER_INVALIDATION_JSON'))
  return Object.freeze({
    stage: readStage(env),
    region: readRegion(env),
    accountId: readSetting(env, 'accountId'),
    registerTable: readRequired(env, 'BROKER_REGISTER_TABLE'),
    secretNames: Object.freeze([...doc.secretNames]),
    logLevel: readSetting(env, 'logLevel'),
  })
}
