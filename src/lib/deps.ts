import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import { secretNameOf } from '../contract/register'
import { createAuditChain, createAuditSink, type AuditChain, type AuditSink } from './audit'
import { createDynamoDbClient, createSecretsManagerClient } from './aws-clients'
import { systemClock, type Clock } from './clock'
import {
  REFRESH_BUDGET_MS,
  REGISTER_MAX_ATTEMPTS,
  REGISTER_SYNC_BUDGET_MS,
  REGISTER_TIMEOUT_MS,
  type HttpConfig,
} from './config'
import { createLogger, type Log } from './logger'
import type { HttpStackDeps } from './middleware/http-stack'
import { createRegisterReader } from './register'
import {
  createRegisterWatch,
  createRotationStatusReader,
  createSecretCache,
  createSecretSource,
  loadCatalog,
  type Catalog,
  type RegisterSource,
  type RotationStatusReader,
  type SecretCache,
} from './secrets'

/**
 * The HTTP functions' composition root: everything with a side effect is built here, once per container,
 * and handed to the logic. Tests build the same object with fakes through `overrides`.
 */
export interface HttpDeps extends HttpStackDeps {
  readonly catalog: Catalog
  readonly cache: SecretCache
  readonly secretsManager: SecretsManagerClient
  readonly rotationStatus: RotationStatusReader
}

/** DescribeSecret for the rotation endpoint at most this often per secret and container. */
export const ROTATION_STATUS_TTL_MS = 10_000

export function createHttpDeps(
  config: HttpConfig,
  overrides: Partial<{
    clock: Clock
    log: Log
    auditSink: AuditSink
    auditChain: AuditChain
    secretsManager: SecretsManagerClient
    endpoint: string
    random: () => number
    /** The invalidation register (tests); by default DynamoDB, when the config names a table. */
    register: RegisterSource
  }> = {},
): HttpDeps {
  const clock = overrides.clock ?? systemClock
  const log = overrides.log ?? createLogger({ level: config.logLevel, persistent: { stage: config.stage } })
  const secretsManager =
    overrides.secretsManager ??
    createSecretsManagerClient({
      region: config.region,
      requestTimeoutMs: config.upstreamTimeoutMs,
      maxAttempts: config.upstreamMaxAttempts,
      ...(overrides.endpoint === undefined ? {} : { endpoint: overrides.endpoint }),
    })
  // The catalog bundled with this function. The bundler checked it with this same function (esbuild.config.ts)
  // and the cold start does not repeat that; any other catalog is checked here, so a bad one stops the cold
  // start, not a request.
  const catalog = loadCatalog(config.catalogJson, config.accountId, config.stage, {
    checkedAtBuild: config.catalogCheckedAtBuild,
  })
  const source = createSecretSource(secretsManager)
  const register = overrides.register ?? registerSource(config)
  const watch =
    register === undefined
      ? undefined
      : createRegisterWatch({
          source: register,
          pollMs: config.invalidationPollMs,
          keyOf: secretNameOf,
          budgetMs: REGISTER_SYNC_BUDGET_MS,
          ...(overrides.random === undefined ? {} : { random: overrides.random }),
        })
  const cache = createSecretCache({
    source,
    clock,
    ttlMs: config.cacheTtlMs,
    maxEntries: config.cacheMaxEntries,
    maxStaleMs: config.maxStaleMs,
    forceRefreshMinIntervalMs: config.forceRefreshMinIntervalMs,
    maxValueAgeMs: config.maxValueAgeMs,
    refreshBudgetMs: REFRESH_BUDGET_MS,
    ...(overrides.random === undefined ? {} : { random: overrides.random }),
    ...(watch === undefined ? {} : { register: watch, fallbackTtlMs: config.registerFallbackTtlMs }),
  })
  return {
    config,
    clock,
    log,
    auditSink: overrides.auditSink ?? createAuditSink({ file: config.auditFile }),
    auditChain: overrides.auditChain ?? createAuditChain(),
    rotationStatus: createRotationStatusReader({
      source,
      clock,
      ttlMs: ROTATION_STATUS_TTL_MS,
      maxEntries: config.cacheMaxEntries,
      ...(register === undefined ? {} : { register, keyOf: secretNameOf }),
    }),
    catalog,
    cache,
    secretsManager,
    ...(overrides.endpoint === undefined
      ? {}
      : { localKeysClientOptions: { region: config.region, endpoint: overrides.endpoint } }),
  }
}

/** The register the config names, read with short timeouts (the endpoint from the SDK's env variables). */
function registerSource(config: HttpConfig): RegisterSource | undefined {
  if (config.registerTable === undefined) return undefined
  const client = createDynamoDbClient({
    region: config.region,
    requestTimeoutMs: REGISTER_TIMEOUT_MS,
    maxAttempts: REGISTER_MAX_ATTEMPTS,
  })
  return createRegisterReader(client, config.registerTable)
}
