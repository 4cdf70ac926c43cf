/**
 * The secrets core: catalog, access decision, the serving cache and the authorized read. Nothing here knows
 * about HTTP or Lambda events. This index is the folder's only door: its entry points and their types.
 * @example
 * const catalog = loadCatalog(config.catalogJson, config.accountId, config.stage)
 * const cache = createSecretCache({ source: createSecretSource(client), clock: systemClock, ttlMs: 300_000, maxEntries: 500, maxStaleMs: 900_000, forceRefreshMinIntervalMs: 10_000, maxValueAgeMs: 3_600_000 })
 * const read = await readAuthorizedSecret({ catalog, cache }, caller.principal.arn, 'orders/db')
 */
export { loadCatalog, parseSecretArn } from './catalog'
export type { Catalog, CatalogEntry, RuntimeCatalogDocument } from './catalog'
export {
  declaredNames,
  findCatalogProblems,
  prefixSegments,
  ruleLabel,
  secretLabel,
  SERVICE_SECRET_PREFIX,
} from './catalog-document'
export type { CatalogPrefix, CatalogRule, CatalogSecretEntry } from './catalog-document'
export { decideAccess } from './access-policy'
export type { AccessDecision } from './access-policy'
export { describeRule, findCatalogWarnings } from './catalog-warnings'
export type { Grants, RuleIndex, RuleRef } from './catalog-grants'
export { readableNames, readablePatterns } from './catalog-listing'
export type { DeclaredNames } from './catalog-listing'
export { namePatternProblem, parseNamePattern, matchesName, patternCovers } from './name-pattern'
export type { NamePattern } from './name-pattern'
export { matchesPrincipal, parsePrincipalMatcher, principalProblem } from './principal-pattern'
export type { PrincipalMatcher } from './principal-pattern'
export { createSecretCache } from './secret-cache'
export type {
  CacheGetOptions,
  CacheResult,
  RegisterActivity,
  SecretCache,
  SecretCacheOptions,
} from './secret-cache'
export { createRegisterWatch, decideInvalidations, DEFAULT_REGISTER_BACKOFF_MS } from './register-watch'
export type {
  HeldSecret,
  Invalidation,
  RegisterCall,
  RegisterSource,
  RegisterWatch,
  RegisterWatchOptions,
  SyncReport,
} from './register-watch'
export { createSecretSource } from './secret-reader'
export type { FetchedSecret, SecretSource, RotationInfo, RotationInfoSource } from './secret-reader'
export { createRotationStatusReader } from './rotation-status'
export type { RotationStatusReader } from './rotation-status'
export { authorizeRead, readAuthorizedSecret, translateUpstreamError } from './read-secret'
export type { ReadResult, ReadDeps } from './read-secret'
export {
  renderSecret,
  servedSecretJson,
  matchesIfNoneMatch,
  ifNoneMatchVersions,
  etagFor,
} from './secret-value'
export type { RenderedSecret } from './secret-value'
export {
  UPSTREAM_FAILURES,
  UpstreamPermanentError,
  UpstreamTransientError,
  classifyUpstreamError,
} from './upstream-failures'
export type { UpstreamCall, UpstreamFailureKind } from './upstream-failures'
