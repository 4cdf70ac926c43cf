import { LRUCache } from 'lru-cache'
import type { Clock } from '../clock'
import { UpstreamTransientError, type FetchedSecret, type SecretSource } from './secret-reader'

/**
 * The serving cache: one entry per secret (keyed by the catalog's secret id, only ever AWSCURRENT), held for
 * `ttlMs`, bounded to `maxEntries` (least recently used go first). Everything happens inside a request;
 * there are no timers, because timers fire in a frozen Lambda and wake up to "Signature expired".
 *
 * - Fresh entry: served as is (`hit`), no upstream call.
 * - Expired entry: one DescribeSecret; same AWSCURRENT version → keep the value for another TTL
 *   (`revalidated`); a new version → one GetSecretValue (`miss`). Both calls of one refresh share one
 *   deadline (`refreshBudgetMs`).
 * - A value read more than `maxValueAgeMs` ago is re-read with GetSecretValue instead of revalidated with
 *   DescribeSecret: DescribeSecret needs neither GetSecretValue permission nor the KMS key, so only a real
 *   read notices that the broker's access was revoked (a Deny, a disabled key, a revoked grant). Checked at
 *   expiry, so a revocation is noticed within `maxValueAgeMs + ttlMs`. A full re-read that finds the same
 *   version is reported `revalidated` too (the value was confirmed, not changed); metrics count the calls.
 * - Concurrent refreshes of one secret share one upstream call (single flight).
 * - `forceRevalidate` (Cache-Control: no-cache) treats a fresh entry as expired, at most once per
 *   `forceRefreshMinIntervalMs` per secret; beyond that the request is served normally, flagged `limited`.
 * - Transient upstream failure with an entry no older than expiry + `maxStaleMs`: the last good value is
 *   served (`stale`), and upstream is not asked again for a short back-off. Past that, or with nothing cached,
 *   the failure propagates (the HTTP edge turns it into 503 with Retry-After).
 * - A permanent failure (not found, access denied…) evicts the entry and propagates. Failures are never cached.
 */
export type CacheState = 'hit' | 'miss' | 'revalidated' | 'stale'

export interface CacheResult {
  readonly secret: FetchedSecret
  readonly state: CacheState
  /** A forced revalidation was asked for and refused by the rate limit. */
  readonly forceLimited: boolean
  /** Milliseconds past expiry, when `state` is `stale`. */
  readonly staleForMs: number
}

export interface SecretCache {
  get(secretId: string, opts?: { forceRevalidate?: boolean }): Promise<CacheResult>
  clear(): void
  readonly size: number
}

export interface SecretCacheOptions {
  readonly source: SecretSource
  readonly clock: Clock
  readonly ttlMs: number
  readonly maxEntries: number
  readonly maxStaleMs: number
  readonly forceRefreshMinIntervalMs: number
  /** How long a value may be kept by DescribeSecret revalidations before it is read again in full. */
  readonly maxValueAgeMs: number
  /**
   * The most one refresh (DescribeSecret and then GetSecretValue, each with the SDK's own retries) may take
   * before it is abandoned as a transient timeout, so a request ends, audited, inside the function's timeout.
   */
  readonly refreshBudgetMs?: number
  /** How long to keep serving stale without asking upstream after a transient failure. */
  readonly failureBackoffMs?: number
}

interface Entry {
  secret: FetchedSecret
  /** When the value was last read with GetSecretValue. */
  fetchedAt: number
  expiresAt: number
  lastForcedAt: number
  retryNotBefore: number
}

const DEFAULT_FAILURE_BACKOFF_MS = 5000

export function createSecretCache(opts: SecretCacheOptions): SecretCache {
  const { source, clock, ttlMs, maxStaleMs, forceRefreshMinIntervalMs, maxValueAgeMs } = opts
  const backoffMs = opts.failureBackoffMs ?? DEFAULT_FAILURE_BACKOFF_MS
  const entries = new LRUCache<string, Entry>({ max: opts.maxEntries })
  const inFlight = new Map<string, Promise<{ secret: FetchedSecret; state: 'miss' | 'revalidated' }>>()

  function refresh(
    secretId: string,
    previous: Entry | undefined,
  ): Promise<{ secret: FetchedSecret; state: 'miss' | 'revalidated' }> {
    const pending = inFlight.get(secretId)
    if (pending !== undefined) return pending
    const signal = opts.refreshBudgetMs === undefined ? undefined : AbortSignal.timeout(opts.refreshBudgetMs)
    const work = (async () => {
      if (previous !== undefined && clock.now() - previous.fetchedAt < maxValueAgeMs) {
        const versionId = await source.currentVersionId(secretId, signal)
        if (versionId === previous.secret.versionId) {
          store(secretId, previous.secret, previous.lastForcedAt, previous.fetchedAt)
          return { secret: previous.secret, state: 'revalidated' as const }
        }
      }
      const secret = await source.getCurrent(secretId, signal)
      store(secretId, secret, previous?.lastForcedAt ?? Number.NEGATIVE_INFINITY, clock.now())
      const unchanged = previous !== undefined && previous.secret.versionId === secret.versionId
      return { secret, state: unchanged ? ('revalidated' as const) : ('miss' as const) }
    })()
    inFlight.set(secretId, work)
    // Whatever the outcome, the next refresh starts afresh; failures are never cached.
    work.then(
      () => inFlight.delete(secretId),
      () => inFlight.delete(secretId),
    )
    return work
  }

  function store(secretId: string, secret: FetchedSecret, lastForcedAt: number, fetchedAt: number): void {
    entries.set(secretId, {
      secret,
      fetchedAt,
      expiresAt: clock.now() + ttlMs,
      lastForcedAt,
      retryNotBefore: 0,
    })
  }

  return {
    get size() {
      return entries.size
    },
    clear() {
      entries.clear()
      inFlight.clear()
    },
    async get(secretId, getOpts) {
      const now = clock.now()
      const entry = entries.get(secretId)
      let forceLimited = false
      let forced = false
      if (getOpts?.forceRevalidate === true && entry !== undefined) {
        if (now - entry.lastForcedAt >= forceRefreshMinIntervalMs) {
          entry.lastForcedAt = now
          forced = true
        } else {
          forceLimited = true
        }
      }
      if (entry !== undefined && !forced && now < entry.expiresAt) {
        return { secret: entry.secret, state: 'hit', forceLimited, staleForMs: 0 }
      }
      const servableStale = entry !== undefined && now <= entry.expiresAt + maxStaleMs
      if (entry !== undefined && servableStale && now < entry.retryNotBefore) {
        return {
          secret: entry.secret,
          state: 'stale',
          forceLimited,
          staleForMs: Math.max(0, now - entry.expiresAt),
        }
      }
      try {
        const { secret, state } = await refresh(secretId, entry)
        return { secret, state, forceLimited, staleForMs: 0 }
      } catch (err) {
        if (err instanceof UpstreamTransientError) {
          const current = entries.get(secretId) ?? entry
          if (current !== undefined && clock.now() <= current.expiresAt + maxStaleMs) {
            const at = clock.now()
            current.retryNotBefore = at + backoffMs
            // A forced revalidation of a still-fresh entry that fails is simply a hit: the value is within its TTL.
            if (at < current.expiresAt)
              return { secret: current.secret, state: 'hit', forceLimited, staleForMs: 0 }
            return {
              secret: current.secret,
              state: 'stale',
              forceLimited,
              staleForMs: at - current.expiresAt,
            }
          }
        } else {
          entries.delete(secretId)
        }
        throw err
      }
    },
  }
}
