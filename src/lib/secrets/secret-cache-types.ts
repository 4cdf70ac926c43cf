import type { CacheState } from '../../contract/wire'
import type { Clock } from '../clock'
import type { RegisterCall, RegisterWatch, SyncReport } from './register-watch'
import type { FetchedSecret, SecretSource } from './secret-reader'
import type { UpstreamCall } from './upstream-failures'

/** The serving cache's contract (secret-cache.ts): what a read returns, what it takes, how it is built. */
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
  /** This request refreshed the secret because the register said its AWSCURRENT had moved. */
  readonly invalidated: boolean
  /** The request named a version this container did not hold (If-None-Match), so it revalidated first. */
  readonly behind: boolean
  /** The register calls this request made (it ran the container's sync), and how the sync ended. */
  readonly register: RegisterActivity | undefined
}

export interface RegisterActivity {
  readonly state: SyncReport['state']
  readonly calls: readonly RegisterCall[]
}

export interface CacheGetOptions {
  /** Cache-Control: no-cache: revalidate now (rate-limited). */
  readonly forceRevalidate?: boolean
  /** Versions the caller already has (If-None-Match); one this container never held makes it revalidate. */
  readonly clientVersions?: readonly string[]
}

export interface SecretCache {
  get(secretId: string, opts?: CacheGetOptions): Promise<CacheResult>
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
  /** The invalidation register's watch; without one, the TTL alone decides. */
  readonly register?: RegisterWatch
  /** The TTL while the register cannot be read (never longer than `ttlMs`). */
  readonly fallbackTtlMs?: number
}
