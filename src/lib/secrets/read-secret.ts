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
    const result = await deps.cache.get(decision.entry.secretId, {
      forceRevalidate: opts.forceRevalidate === true,
    })
    return { ...result, entry: decision.entry }
  } catch (err) {
    throw translateUpstreamError(err, opts.onFailure)
  }
}

/**
 * An upstream failure as the broker's error: transient → 503 with Retry-After; the secret gone → the same
 * 404 as an unknown name; the broker refused (access denied, KMS) → 502. Anything else is returned as is.
 */
export function translateUpstreamError(
  err: unknown,
  onFailure?: (reason: ReadFailureReason) => void,
): unknown {
  if (err instanceof UpstreamTransientError) {
    onFailure?.(`upstream-${err.kind}`)
    return new UpstreamUnavailableError('Secrets Manager is unavailable and no usable cached value exists.', {
      cause: err,
      retryAfterSeconds: 5,
    })
  }
  if (err instanceof UpstreamPermanentError) {
    onFailure?.(`upstream-${err.kind}`)
    if (err.kind === 'not-found' || err.kind === 'invalid-request')
      return new SecretNotFoundError({ cause: err })
    return new UpstreamRefusedError('Secrets Manager refused the broker.', { cause: err })
  }
  return err
}
