import { LRUCache } from 'lru-cache'
import type { CacheState } from '../../contract/wire'
import type { Clock } from '../clock'
import type { FetchedSecret, SecretSource } from './secret-reader'
import {
  upstreamFailure,
  UpstreamFailure,
  UpstreamTransientError,
  type UpstreamCall,
  type UpstreamFailureKind,
} from './upstream-failures'

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
 *   read notices that the broker's access was revoked (a Deny, a disabled key, a revoked grant).
 * - Concurrent refreshes of one secret share one upstream call (single flight).
 * - `forceRevalidate` (Cache-Control: no-cache) treats a fresh entry as expired, at most once per
 *   `forceRefreshMinIntervalMs` per secret (a failed attempt counts too: a struggling Secrets Manager is not
 *   asked harder); the result says whether the revalidation was done, failed or was rate-limited.
 * - A failure is handled as upstream-failures.ts's table says: kinds that keep the value serve it (`stale`
 *   past its TTL) for up to `maxStaleMs`; kinds that back off stop asking upstream about that secret for a
 *   jittered `failureBackoffMs`, whether or not a value is held (without one, requests then fail at once with
 *   a retry-after); the others evict the entry. Failures are never cached as values.
 * - Each result (and each failure) lists the upstream calls made on behalf of that request, for its metrics;
 *   a request that joined another's refresh made none.
 */
export interface CacheResult {
  readonly secret: FetchedSecret
  readonly state: CacheState
  /** A forced revalidation was asked for and refused by the rate limit. */
  readonly forceLimited: boolean
  /** What became of a forced revalidation asked for with this request (undefined when none was asked). */
  readonly revalidation: 'done' | 'failed' | 'rate-limited' | undefined
  /** Milliseconds past expiry, when `state` is `stale`. */
  readonly staleForMs: number
  /** The request was served from the cache during a failure back-off, without asking upstream. */
  readonly backedOff: boolean
  readonly upstream: readonly UpstreamCall[]
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
  /** How long (at most; jittered down to half) upstream is not asked again about a secret after a failure. */
  readonly failureBackoffMs?: number
  /** Jitter source, [0, 1). */
  readonly random?: () => number
  /** A monotonic clock for call durations. */
  readonly now?: () => number
}

export const DEFAULT_FAILURE_BACKOFF_MS = 5000

interface Entry {
  secret: FetchedSecret
  /** When the value was last read with GetSecretValue. */
  fetchedAt: number
  expiresAt: number
  lastForcedAt: number
}

interface Failure {
  readonly kind: UpstreamFailureKind
  readonly retryNotBefore: number
}

type Refreshed =
  | { readonly ok: true; readonly secret: FetchedSecret; readonly state: 'miss' | 'revalidated' }
  | { readonly ok: false; readonly error: UpstreamFailure }

export function createSecretCache(opts: SecretCacheOptions): SecretCache {
  const { source, clock, ttlMs, maxStaleMs, forceRefreshMinIntervalMs, maxValueAgeMs } = opts
  const backoffMs = opts.failureBackoffMs ?? DEFAULT_FAILURE_BACKOFF_MS
  const random = opts.random ?? Math.random
  const now = opts.now ?? (() => performance.now())
  const entries = new LRUCache<string, Entry>({ max: opts.maxEntries })
  const failures = new LRUCache<string, Failure>({ max: opts.maxEntries })
  const inFlight = new Map<string, Promise<Refreshed>>()

  /** Runs one upstream call, recording it in `calls`; failures arrive classified from the source. */
  async function timed<T>(
    calls: UpstreamCall[],
    operation: UpstreamCall['operation'],
    send: () => Promise<T>,
  ): Promise<T> {
    const started = now()
    try {
      const out = await send()
      calls.push({ operation, durationMs: now() - started })
      return out
    } catch (err) {
      const failure = err instanceof UpstreamFailure ? err : upstreamFailure('network', err)
      calls.push({ operation, durationMs: now() - started, failure: failure.kind })
      throw failure
    }
  }

  async function doRefresh(
    secretId: string,
    previous: Entry | undefined,
    calls: UpstreamCall[],
  ): Promise<Refreshed> {
    const signal = opts.refreshBudgetMs === undefined ? undefined : AbortSignal.timeout(opts.refreshBudgetMs)
    try {
      if (previous !== undefined && clock.now() - previous.fetchedAt < maxValueAgeMs) {
        const versionId = await timed(calls, 'DescribeSecret', () =>
          source.currentVersionId(secretId, signal),
        )
        if (versionId === previous.secret.versionId) {
          store(secretId, previous.secret, previous.lastForcedAt, previous.fetchedAt)
          return { ok: true, secret: previous.secret, state: 'revalidated' }
        }
      }
      const secret = await timed(calls, 'GetSecretValue', () => source.getCurrent(secretId, signal))
      store(secretId, secret, previous?.lastForcedAt ?? Number.NEGATIVE_INFINITY, clock.now())
      const unchanged = previous !== undefined && previous.secret.versionId === secret.versionId
      return { ok: true, secret, state: unchanged ? 'revalidated' : 'miss' }
    } catch (err) {
      return { ok: false, error: err as UpstreamFailure }
    }
  }

  /** The shared refresh of a secret, and whether this request started it (only the starter owns its calls). */
  function refresh(
    secretId: string,
    previous: Entry | undefined,
  ): { work: Promise<Refreshed>; calls: UpstreamCall[] } {
    const calls: UpstreamCall[] = []
    const pending = inFlight.get(secretId)
    if (pending !== undefined) return { work: pending, calls }
    const work = doRefresh(secretId, previous, calls).finally(() => inFlight.delete(secretId))
    inFlight.set(secretId, work)
    return { work, calls }
  }

  function store(secretId: string, secret: FetchedSecret, lastForcedAt: number, fetchedAt: number): void {
    entries.set(secretId, { secret, fetchedAt, expiresAt: clock.now() + ttlMs, lastForcedAt })
  }

  /** A held value answered without a fresh read: a hit within its TTL, else stale (up to maxStaleMs). */
  function fromHeld(
    entry: Entry,
    at: number,
    extra: Pick<CacheResult, 'forceLimited' | 'revalidation' | 'backedOff' | 'upstream'>,
  ): CacheResult | undefined {
    if (at < entry.expiresAt) return { secret: entry.secret, state: 'hit', staleForMs: 0, ...extra }
    if (at <= entry.expiresAt + maxStaleMs)
      return { secret: entry.secret, state: 'stale', staleForMs: at - entry.expiresAt, ...extra }
    return undefined
  }

  return {
    get size() {
      return entries.size
    },
    clear() {
      entries.clear()
      failures.clear()
      inFlight.clear()
    },
    async get(secretId, getOpts) {
      const at = clock.now()
      const entry = entries.get(secretId)
      const asked = getOpts?.forceRevalidate === true
      const wantsForce = asked && entry !== undefined
      const forceLimited = wantsForce && at - entry.lastForcedAt < forceRefreshMinIntervalMs
      if (entry !== undefined && at < entry.expiresAt && (!wantsForce || forceLimited)) {
        const revalidation = forceLimited ? 'rate-limited' : undefined
        return {
          secret: entry.secret,
          state: 'hit',
          forceLimited,
          revalidation,
          staleForMs: 0,
          backedOff: false,
          upstream: [],
        }
      }
      const failed = failures.get(secretId)
      if (failed !== undefined && at < failed.retryNotBefore) {
        const held =
          entry === undefined
            ? undefined
            : fromHeld(entry, at, {
                forceLimited,
                revalidation: asked ? 'failed' : undefined,
                backedOff: true,
                upstream: [],
              })
        if (held !== undefined) return held
        throw new UpstreamTransientError(failed.kind, { retryAfterMs: failed.retryNotBefore - at })
      }
      if (wantsForce) entry.lastForcedAt = at
      const { work, calls } = refresh(secretId, entry)
      const result = await work
      if (result.ok) {
        failures.delete(secretId)
        return {
          secret: result.secret,
          state: result.state,
          forceLimited,
          revalidation: asked ? 'done' : undefined,
          staleForMs: 0,
          backedOff: false,
          upstream: calls,
        }
      }
      const { rule, kind } = result.error
      const failedAt = clock.now()
      if (rule.backsOff) {
        // Jittered, so that the containers of a fleet do not all come back at the same moment.
        failures.set(secretId, { kind, retryNotBefore: failedAt + backoffMs * (0.5 + random() / 2) })
      }
      if (rule.keepsValue) {
        const held = entries.get(secretId) ?? entry
        const served =
          held === undefined
            ? undefined
            : fromHeld(held, failedAt, {
                forceLimited,
                revalidation: asked ? 'failed' : undefined,
                backedOff: false,
                upstream: calls,
              })
        if (served !== undefined) return served
      } else {
        entries.delete(secretId)
      }
      // Each request gets its own error: the shared refresh's error would carry another request's calls.
      const error = upstreamFailure(kind, result.error.cause ?? result.error)
      error.upstream = calls
      if (rule.backsOff) error.retryAfterMs = backoffMs
      throw error
    },
  }
}
