import {
  SecretNotFoundError,
  UpstreamRefusedError,
  UpstreamUnavailableError,
  type BrokerError,
} from '../errors'
import { decideAccess } from './access-policy'
import type { Catalog, CatalogEntry } from './catalog'
import type { CacheGetOptions, CacheResult, SecretCache } from './secret-cache'
import { UpstreamFailure } from './upstream-failures'

/**
 * One authorized read: decide from the catalog first (a denied or unknown name never reaches the cache or
 * AWS, and both get the same SecretNotFoundError, whose audit reason says which it was), then read through
 * the cache. What the audit needs comes back as data: the result on success, the error's facts on failure.
 */
export interface ReadDeps {
  readonly catalog: Catalog
  readonly cache: SecretCache
}

export interface ReadResult extends CacheResult {
  readonly entry: CatalogEntry
}

/**
 * The catalog entry `principalArn` may read under `name`.
 * @throws SecretNotFoundError (audit reason: invalid-name, unknown-name or caller-not-allowed)
 */
export function authorizeRead(catalog: Catalog, principalArn: string, name: string): CatalogEntry {
  const decision = decideAccess(catalog, principalArn, name)
  if (!decision.allow) throw new SecretNotFoundError({ facts: { auditReason: decision.reason } })
  return decision.entry
}

export async function readAuthorizedSecret(
  deps: ReadDeps,
  principalArn: string,
  name: string,
  opts: CacheGetOptions = {},
): Promise<ReadResult> {
  const entry = authorizeRead(deps.catalog, principalArn, name)
  try {
    const result = await deps.cache.get(entry.secretId, opts)
    return { ...result, entry }
  } catch (err) {
    throw translateUpstreamError(err)
  }
}

/** Retry-After when a failure does not say how long it backs off. */
export const DEFAULT_RETRY_AFTER_SECONDS = 5

/**
 * An upstream failure as the broker's error, as its kind's rule says: 503 with Retry-After, the same 404 as an
 * unknown name, or 502 (Secrets Manager refused the broker itself). Anything else is returned as is.
 */
export function translateUpstreamError(err: unknown): unknown {
  if (!(err instanceof UpstreamFailure)) return err
  const facts = {
    auditReason: `upstream-${err.kind}`,
    upstream: err.upstream,
    ...(err.register.length === 0 ? {} : { register: err.register }),
    ...(err.upstream.length === 0 && err.retryAfterMs !== undefined ? { backedOff: true } : {}),
  }
  const translated: BrokerError =
    err.rule.answer === 'unavailable'
      ? new UpstreamUnavailableError('Secrets Manager is unavailable and no usable cached value exists.', {
          cause: err,
          facts,
          retryAfterSeconds:
            err.retryAfterMs === undefined
              ? DEFAULT_RETRY_AFTER_SECONDS
              : Math.max(1, Math.ceil(err.retryAfterMs / 1000)),
        })
      : err.rule.answer === 'not-found'
        ? new SecretNotFoundError({ cause: err, facts })
        : new UpstreamRefusedError('Secrets Manager refused the broker.', { cause: err, facts })
  return translated
}
