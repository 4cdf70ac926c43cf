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
 * @throws SecretNotFoundError (audit reason: invalid-name, unknown-name, caller-not-allowed or denied-by-rule)
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
    throw translateUpstreamError(err, entry)
  }
}

/** Retry-After when a failure does not say how long it backs off. */
export const DEFAULT_RETRY_AFTER_SECONDS = 5

/**
 * An upstream failure as the broker's error, as its kind's rule says: 503 with Retry-After, the same 404 as an
 * unknown name, or 502 (Secrets Manager refused the broker itself). Anything else is returned as is.
 *
 * Under a brokered prefix, "access denied" is the same 404 as well: the HTTP role may read a prefix only
 * where the owner opted in (the `requireTag` condition), so a refusal there says the secret is not brokered,
 * and answering otherwise would tell a caller that a secret exists which nobody brokers.
 */
export function translateUpstreamError(err: unknown, entry?: CatalogEntry): unknown {
  if (!(err instanceof UpstreamFailure)) return err
  const facts = {
    auditReason: `upstream-${err.kind}`,
    upstream: err.upstream,
    ...(err.register.length === 0 ? {} : { register: err.register }),
    ...(err.upstream.length === 0 && err.retryAfterMs !== undefined ? { backedOff: true } : {}),
  }
  const answer =
    entry?.brokeredBy !== undefined && err.kind === 'access-denied' ? 'not-found' : err.rule.answer
  const translated: BrokerError =
    answer === 'unavailable'
      ? new UpstreamUnavailableError('Secrets Manager is unavailable and no usable cached value exists.', {
          cause: err,
          facts,
          retryAfterSeconds:
            err.retryAfterMs === undefined
              ? DEFAULT_RETRY_AFTER_SECONDS
              : Math.max(1, Math.ceil(err.retryAfterMs / 1000)),
        })
      : answer === 'not-found'
        ? new SecretNotFoundError({ cause: err, facts })
        : new UpstreamRefusedError('Secrets Manager refused the broker.', { cause: err, facts })
  return translated
}
