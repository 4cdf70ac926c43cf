/**
 * The secrets core: catalog, access decision, cache and the authorized read. Nothing here knows about
 * HTTP or Lambda events.
 * @example
 * const catalog = loadCatalog(config.catalogJson, config.accountId)
 * const cache = createSecretCache({ source: createSecretSource(client), clock: systemClock, ttlMs: 300_000, maxEntries: 500, maxStaleMs: 900_000, forceRefreshMinIntervalMs: 10_000, maxValueAgeMs: 3_600_000 })
 * const { secret, state } = await readAuthorizedSecret({ catalog, cache }, caller.principal.arn, 'orders/db')
 */
export { loadCatalog, findCatalogProblems, ROTATION_STRATEGIES } from './catalog'
export type { Catalog, CatalogEntry, RotationStrategyKind, RuntimeCatalogDocument } from './catalog'
export { decideAccess } from './access-policy'
export type { AccessDecision } from './access-policy'
export { createSecretCache } from './secret-cache'
export type { CacheState, CacheResult, SecretCache, SecretCacheOptions } from './secret-cache'
export {
  createSecretSource,
  classifyUpstreamError,
  UpstreamPermanentError,
  UpstreamTransientError,
} from './secret-reader'
export type {
  FetchedSecret,
  SecretSource,
  UpstreamObserver,
  RotationInfo,
  RotationInfoSource,
} from './secret-reader'
export { assessRotation, createRotationStatusReader } from './rotation-status'
export type { RotationStatus, RotationStatusReader } from './rotation-status'
export { readAuthorizedSecret, translateUpstreamError } from './read-secret'
export type { ReadResult, ReadDeps, ReadFailureReason } from './read-secret'
export { renderSecret, parseSecretString, matchesIfNoneMatch, etagFor } from './secret-value'
export type { ServedSecret } from './secret-value'
export { checkSecretName, isValidSecretName, MAX_SECRET_NAME_LENGTH } from './secret-name'
