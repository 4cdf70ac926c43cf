import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import { createAuditSink, type AuditSink } from './audit'
import { createSecretsManagerClient } from './aws-clients'
import { systemClock, type Clock } from './clock'
import type { HttpConfig } from './config'
import { createLogger, type Log } from './logger'
import type { HttpStackDeps } from './middleware/http-stack'
import { createSecretCache, createSecretSource, loadCatalog, type Catalog, type SecretCache } from './secrets'

/**
 * The HTTP functions' composition root: everything with a side effect is built here, once per container,
 * and handed to the logic. Tests build the same object with fakes through `overrides`.
 */
export interface HttpDeps extends HttpStackDeps {
  readonly catalog: Catalog
  readonly cache: SecretCache
  readonly secretsManager: SecretsManagerClient
}

export function createHttpDeps(
  config: HttpConfig,
  overrides: Partial<{ clock: Clock; log: Log; auditSink: AuditSink; secretsManager: SecretsManagerClient; endpoint: string }> = {},
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
  const catalog = loadCatalog(config.catalogJson, config.accountId)
  const cache = createSecretCache({
    source: createSecretSource(secretsManager),
    clock,
    ttlMs: config.cacheTtlMs,
    maxEntries: config.cacheMaxEntries,
    maxStaleMs: config.maxStaleMs,
    forceRefreshMinIntervalMs: config.forceRefreshMinIntervalMs,
  })
  return {
    config,
    clock,
    log,
    auditSink: overrides.auditSink ?? createAuditSink({ file: config.auditFile }),
    catalog,
    cache,
    secretsManager,
    ...(overrides.endpoint === undefined ? {} : { localKeysClientOptions: { region: config.region, endpoint: overrides.endpoint } }),
  }
}
