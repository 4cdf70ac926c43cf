import { SecretNotFoundError, UpstreamRefusedError, UpstreamUnavailableError } from '../errors'
import { decideAccess, type AccessDecision } from './access-policy'
import type { Catalog, CatalogEntry } from './catalog'
import type { CacheResult, SecretCache } from './secret-cache'
import { UpstreamPermanentError, UpstreamTransientError } from './secret-reader'

/**
 * One authorized read: decide from the catalog first (a denied or unknown name never reaches the cache or
 * AWS, and both get the same SecretNotFoundError), then read through the cache, translating upstream
 * failures into the broker's errors. `onDecision` lets the caller record the reason for the audit.
 */
export interface ReadDeps {
  readonly catalog: Catalog
  readonly cache: SecretCache
}

export interface ReadResult extends CacheResult {
  readonly entry: CatalogEntry
}

export type ReadFailureReason = Exclude<AccessDecision, { allow: true }>['reason'] | `upstream-${string}`

export async function readAuthorizedSecret(
  deps: ReadDeps,
  principalArn: string,
  name: string,
  opts: { forceRevalidate?: boolean; onFailure?: (reason: ReadFailureReason) => void } = {},
): Promise<ReadResult> {
  const decision = decideAccess(deps.catalog, principalArn, name)
  if (!decision.allow) {
    opts.onFailure?.(decision.reason)
    throw new SecretNotFoundError()
  }
  try {
    const result = await deps.cache.get(decision.entry.secretId, { forceRevalidate: opts.forceRevalidate === true })
    return { ...result, entry: decision.entry }
  } catch (err) {
    if (err instanceof UpstreamTransientError) {
      opts.onFailure?.(`upstream-${err.kind}`)
      throw new UpstreamUnavailableError('Secrets Manager is unavailable and no usable cached value exists.', { cause: err, retryAfterSeconds: 5 })
    }
    if (err instanceof UpstreamPermanentError) {
      opts.onFailure?.(`upstream-${err.kind}`)
      if (err.kind === 'not-found' || err.kind === 'invalid-request') throw new SecretNotFoundError({ cause: err })
      throw new UpstreamRefusedError('Secrets Manager refused the broker.', { cause: err })
    }
    throw err
  }
}
