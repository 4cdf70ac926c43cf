import { LRUCache } from 'lru-cache'
import type { HeldSecret, SyncReport } from './register-watch'
import type {
  CacheGetOptions,
  CacheResult,
  RegisterActivity,
  SecretCache,
  SecretCacheOptions,
} from './secret-cache-types'
import type { FetchedSecret } from './secret-reader'
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
 * - With the invalidation register (`register`), every request first lets the watch sync when one is due
 *   (register-watch.ts; a secret not held yet is read meanwhile, not after): a held secret whose AWSCURRENT
 *   moved is expired at once, and its refresh reads the value directly when the register names the new
 *   version (no DescribeSecret first). A value read while a sync learnt of a move is compared again at the
 *   next sync. While the register cannot be read, values are revalidated on the shorter `fallbackTtlMs`, as
 *   before the register existed.
 * - Never backwards: a request that shows a version this container does not hold (`clientVersions`, from
 *   If-None-Match) and has never superseded is a sign the container is behind; it revalidates first, under
 *   the same rate limit as `forceRevalidate`.
 */
export type { CacheGetOptions, CacheResult, RegisterActivity, SecretCache, SecretCacheOptions }

export const DEFAULT_FAILURE_BACKOFF_MS = 5000
/**
 * Versions a container knows are not current, per secret (never-backwards): those it served before, and those
 * callers showed it that a revalidation proved older, so each costs at most one revalidation.
 */
const SUPERSEDED_KEPT = 8

interface Entry {
  secret: FetchedSecret
  /** When the value was last read with GetSecretValue. */
  fetchedAt: number
  /** When upstream last confirmed the version (GetSecretValue or DescribeSecret). */
  validatedAt: number
  lastForcedAt: number
  /** Versions served before this one, oldest first. */
  superseded: readonly string[]
  /** The register revision of this secret's item already acted on. */
  checkedRev: number | undefined
  /** When the register said AWSCURRENT moved away from this version: expired from then on. */
  invalidatedAt: number | undefined
  /** The version the register named, if any. */
  hint: string | undefined
}

interface Failure {
  readonly kind: UpstreamFailureKind
  readonly retryNotBefore: number
}

type Refreshed =
  | { readonly ok: true; readonly secret: FetchedSecret; readonly state: 'miss' | 'revalidated' }
  | { readonly ok: false; readonly error: UpstreamFailure }

/** The part of a result that says what the request did besides reading the value. */
type Extra = Pick<
  CacheResult,
  'forceLimited' | 'revalidation' | 'backedOff' | 'upstream' | 'invalidated' | 'behind' | 'register'
>

/** Whether the caller shows a version this container neither holds nor ever superseded. */
function isBehind(entry: Entry, clientVersions: readonly string[] | undefined): boolean {
  if (clientVersions === undefined) return false
  return clientVersions.some((v) => v !== entry.secret.versionId && !entry.superseded.includes(v))
}

export function createSecretCache(opts: SecretCacheOptions): SecretCache {
  const { source, clock, ttlMs, maxStaleMs, forceRefreshMinIntervalMs, maxValueAgeMs, register } = opts
  const fallbackTtlMs = Math.min(ttlMs, opts.fallbackTtlMs ?? ttlMs)
  const backoffMs = opts.failureBackoffMs ?? DEFAULT_FAILURE_BACKOFF_MS
  const random = opts.random ?? Math.random
  const now = opts.now ?? (() => performance.now())
  const entries = new LRUCache<string, Entry>({ max: opts.maxEntries })
  const failures = new LRUCache<string, Failure>({ max: opts.maxEntries })
  const inFlight = new Map<string, Promise<Refreshed>>()

  /** When an entry stops being served as fresh: its TTL (the shorter one while the register fails), or an invalidation. */
  function expiresAt(entry: Entry): number {
    const ttl = register === undefined || register.healthy() ? ttlMs : fallbackTtlMs
    return Math.min(entry.validatedAt + ttl, entry.invalidatedAt ?? Number.POSITIVE_INFINITY)
  }

  function held(): HeldSecret[] {
    const out: HeldSecret[] = []
    for (const [secretId, e] of entries.entries())
      out.push({ secretId, versionId: e.secret.versionId, checkedRev: e.checkedRev })
    return out
  }

  /** Counts the syncs that learned of a move: a refresh that straddles one may have read a value older than it. */
  let movesApplied = 0

  /** Applied once per sync, before any waiting request decides. */
  function applySync(report: SyncReport): void {
    if (report.state === 'moved') {
      movesApplied++
      // A value stored while the register was being read was not compared: have the next sync compare it.
      const compared = new Set(report.compared)
      for (const secretId of entries.keys()) {
        if (!compared.has(secretId)) {
          register?.recheck()
          break
        }
      }
    }
    const at = clock.now()
    for (const inv of report.invalidations) {
      const e = entries.peek(inv.secretId)
      if (e === undefined) continue
      e.checkedRev = inv.rev
      // A refresh may have replaced the entry with the moved-to version while the register was read.
      if (inv.revalidate && e.secret.versionId !== inv.hint) {
        e.invalidatedAt = Math.min(at, e.invalidatedAt ?? at)
        e.hint = inv.hint
      }
    }
  }

  /**
   * A move was applied while this value was being read: the answer may predate it, and the sync either could
   * not compare it (not held yet) or expired the entry this read has just replaced. Forget which revision was
   * acted on and have the next sync read every held item again.
   */
  function recheckIfMoved(secretId: string, movesBefore: number): void {
    if (movesApplied === movesBefore) return
    const e = entries.peek(secretId)
    if (e !== undefined) e.checkedRev = undefined
    register?.recheck()
  }

  async function syncRegister(): Promise<RegisterActivity | undefined> {
    const sync = register?.syncIfDue(clock.now(), held, applySync)
    if (sync === undefined) return undefined
    const report = await sync.promise
    return sync.owner ? { state: report.state, calls: report.calls } : undefined
  }

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
    const movesBefore = movesApplied
    try {
      // The register named a version other than the one held: it moved, so DescribeSecret would only say so.
      const knownMoved =
        previous?.hint !== undefined &&
        previous.invalidatedAt !== undefined &&
        previous.hint !== previous.secret.versionId
      if (previous !== undefined && !knownMoved && clock.now() - previous.fetchedAt < maxValueAgeMs) {
        const versionId = await timed(calls, 'DescribeSecret', () =>
          source.currentVersionId(secretId, signal),
        )
        if (versionId === previous.secret.versionId) {
          store(secretId, previous.secret, previous, previous.fetchedAt)
          recheckIfMoved(secretId, movesBefore)
          return { ok: true, secret: previous.secret, state: 'revalidated' }
        }
      }
      const secret = await timed(calls, 'GetSecretValue', () => source.getCurrent(secretId, signal))
      store(secretId, secret, previous, clock.now())
      recheckIfMoved(secretId, movesBefore)
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

  /** A confirmed version: a new entry, which remembers what the previous one knew (forced refreshes, versions served). */
  function store(
    secretId: string,
    secret: FetchedSecret,
    previous: Entry | undefined,
    fetchedAt: number,
  ): void {
    const replaced = previous !== undefined && previous.secret.versionId !== secret.versionId
    entries.set(secretId, {
      secret,
      fetchedAt,
      validatedAt: clock.now(),
      lastForcedAt: previous?.lastForcedAt ?? Number.NEGATIVE_INFINITY,
      superseded: replaced
        ? [...previous.superseded, previous.secret.versionId].slice(-SUPERSEDED_KEPT)
        : (previous?.superseded ?? []),
      checkedRev: previous?.checkedRev,
      invalidatedAt: undefined,
      hint: undefined,
    })
  }

  /** Versions a caller showed that upstream just proved not current (a client behind, or made up). */
  function rememberNotCurrent(secretId: string, versions: readonly string[]): void {
    const e = entries.peek(secretId)
    if (e === undefined) return
    const older = versions.filter((v) => v !== e.secret.versionId && !e.superseded.includes(v))
    if (older.length > 0) e.superseded = [...e.superseded, ...older].slice(-SUPERSEDED_KEPT)
  }

  /** A held value answered without a fresh read: a hit within its TTL, else stale (up to maxStaleMs). */
  function fromHeld(entry: Entry, at: number, extra: Extra): CacheResult | undefined {
    const expiry = expiresAt(entry)
    if (at < expiry) return { secret: entry.secret, state: 'hit', staleForMs: 0, ...extra }
    if (at <= expiry + maxStaleMs)
      return { secret: entry.secret, state: 'stale', staleForMs: at - expiry, ...extra }
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
      // A secret this container does not hold is read in full anyway: its read does not wait for the register
      // (a cold start makes one round trip, not two); a held one waits, since the register may expire it.
      const cold = entries.peek(secretId) === undefined
      const syncing = register === undefined ? undefined : syncRegister()
      let registerActivity = cold ? undefined : await syncing
      const syncDone = async (): Promise<void> => {
        if (cold) registerActivity = await syncing
      }
      const at = clock.now()
      const entry = entries.get(secretId)
      const behind = entry !== undefined && isBehind(entry, getOpts?.clientVersions)
      const asked = getOpts?.forceRevalidate === true || behind
      const wantsForce = asked && entry !== undefined
      const forceLimited = wantsForce && at - entry.lastForcedAt < forceRefreshMinIntervalMs
      const base = { behind, register: registerActivity, invalidated: false }
      if (entry !== undefined && at < expiresAt(entry) && (!wantsForce || forceLimited)) {
        const revalidation = forceLimited ? 'rate-limited' : undefined
        return {
          secret: entry.secret,
          state: 'hit',
          forceLimited,
          revalidation,
          staleForMs: 0,
          backedOff: false,
          upstream: [],
          ...base,
        }
      }
      const failed = failures.get(secretId)
      if (failed !== undefined && at < failed.retryNotBefore) {
        const heldValue =
          entry === undefined
            ? undefined
            : fromHeld(entry, at, {
                forceLimited,
                revalidation: asked ? 'failed' : undefined,
                backedOff: true,
                upstream: [],
                ...base,
              })
        if (heldValue !== undefined) return heldValue
        await syncDone()
        const error = new UpstreamTransientError(failed.kind, { retryAfterMs: failed.retryNotBefore - at })
        error.register = registerActivity?.calls ?? []
        throw error
      }
      if (wantsForce) entry.lastForcedAt = at
      const invalidated = entry?.invalidatedAt !== undefined
      const { work, calls } = refresh(secretId, entry)
      const result = await work
      await syncDone()
      // Only the request that made the calls counts the invalidation (joiners made none).
      const extra = { ...base, register: registerActivity, invalidated: invalidated && calls.length > 0 }
      if (result.ok) {
        failures.delete(secretId)
        if (behind) rememberNotCurrent(secretId, getOpts?.clientVersions ?? [])
        return {
          secret: result.secret,
          state: result.state,
          forceLimited,
          revalidation: asked ? 'done' : undefined,
          staleForMs: 0,
          backedOff: false,
          upstream: calls,
          ...extra,
        }
      }
      const { rule, kind } = result.error
      const failedAt = clock.now()
      if (rule.backsOff) {
        // Jittered, so that the containers of a fleet do not all come back at the same moment.
        failures.set(secretId, { kind, retryNotBefore: failedAt + backoffMs * (0.5 + random() / 2) })
      }
      if (rule.keepsValue) {
        const heldValue = entries.get(secretId) ?? entry
        const served =
          heldValue === undefined
            ? undefined
            : fromHeld(heldValue, failedAt, {
                forceLimited,
                revalidation: asked ? 'failed' : undefined,
                backedOff: false,
                upstream: calls,
                ...extra,
              })
        if (served !== undefined) return served
      } else {
        entries.delete(secretId)
      }
      // Each request gets its own error: the shared refresh's error would carry another request's calls.
      const error = upstreamFailure(kind, result.error.cause ?? result.error)
      error.upstream = calls
      error.register = registerActivity?.calls ?? []
      if (rule.backsOff) error.retryAfterMs = backoffMs
      throw error
    },
  }
}
