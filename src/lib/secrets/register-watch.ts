import type { RegisterItem } from '../../contract/register'
import type { RegisterFailureKind } from '../register'

/**
 * A container's view of the invalidation register, kept inside requests (no timers): at most every `pollMs`
 * one eventually consistent GetItem of the generation counter; only when it moved, one BatchGetItem of the
 * items of the secrets this container holds, and a decision per held secret (`decideInvalidations`, pure):
 * its AWSCURRENT moved away from the version held → revalidate it now. Concurrent requests share one sync.
 *
 * A failed read (throttled, unreachable, timed out) makes the view unhealthy until a read succeeds again;
 * the cache then revalidates on its shorter fallback TTL, and the watch waits a jittered back-off before
 * asking the register again, so a struggling table is not asked harder and requests are not slowed by it.
 */
export interface RegisterSource {
  readGeneration(signal?: AbortSignal): Promise<number>
  readItems(secretNames: readonly string[], signal?: AbortSignal): Promise<ReadonlyMap<string, RegisterItem>>
}

/** One register call made on behalf of a request. */
export interface RegisterCall {
  readonly operation: 'GetItem' | 'BatchGetItem'
  readonly durationMs: number
  readonly failure?: RegisterFailureKind
}

export interface HeldSecret {
  readonly secretId: string
  readonly versionId: string
  /** The register revision of this secret's item that the container has already acted on. */
  readonly checkedRev: number | undefined
}

export interface Invalidation {
  readonly secretId: string
  readonly rev: number
  /** False: the item changed but names the version held (nothing to do but remember the revision). */
  readonly revalidate: boolean
  /** The version AWSCURRENT moved to, when the register knows it (a refresh then skips DescribeSecret). */
  readonly hint: string | undefined
}

export interface SyncReport {
  readonly state: 'unchanged' | 'moved' | RegisterFailureKind
  readonly invalidations: readonly Invalidation[]
  readonly calls: readonly RegisterCall[]
  /** The secrets whose items were compared (those held when the generation was read). */
  readonly compared: readonly string[]
}

export interface RegisterWatch {
  /** False after a failed read, until a read succeeds again. */
  healthy(): boolean
  /** The next sync reads the items of every held secret, whether or not the generation moved. */
  recheck(): void
  /**
   * The sync a request waits for before it decides: started now when one is due (`owner`: this request made
   * the calls), joined when one is under way, or undefined when the last one is recent enough. `apply` runs
   * once per sync, before any waiting request continues.
   */
  syncIfDue(
    at: number,
    held: () => readonly HeldSecret[],
    apply: (report: SyncReport) => void,
  ): { readonly promise: Promise<SyncReport>; readonly owner: boolean } | undefined
}

export interface RegisterWatchOptions {
  readonly source: RegisterSource
  readonly pollMs: number
  /** The register key (the secret's name) of a catalog secret id. */
  readonly keyOf: (secretId: string) => string
  /** The most one sync (both reads) may take. */
  readonly budgetMs: number
  /** After a failure, the register is not asked again for a jittered `max(pollMs, failureBackoffMs)`. */
  readonly failureBackoffMs?: number
  readonly random?: () => number
  /** A monotonic clock for call durations. */
  readonly now?: () => number
}

export const DEFAULT_REGISTER_BACKOFF_MS = 5000

/**
 * Which held secrets to revalidate, given their register items: an item this container has not acted on yet
 * that names another version (or, for `RotationSucceeded`, none) means AWSCURRENT moved since the value was
 * read. An item that names the version held only records the revision.
 */
export function decideInvalidations(
  held: readonly HeldSecret[],
  items: ReadonlyMap<string, RegisterItem>,
  keyOf: (secretId: string) => string,
): Invalidation[] {
  const out: Invalidation[] = []
  for (const h of held) {
    const item = items.get(keyOf(h.secretId))
    if (item === undefined || item.rev === h.checkedRev) continue
    const named = item.lastEvent === 'Secret Label Updated' ? item.versionId : undefined
    out.push({
      secretId: h.secretId,
      rev: item.rev,
      revalidate: named === undefined || named !== h.versionId,
      hint: named,
    })
  }
  return out
}

function failureKind(err: unknown): RegisterFailureKind {
  const kind = (err as { kind?: unknown } | null)?.kind
  return kind === 'throttled' ? 'throttled' : 'unavailable'
}

export function createRegisterWatch(opts: RegisterWatchOptions): RegisterWatch {
  const random = opts.random ?? Math.random
  const now = opts.now ?? (() => performance.now())
  const backoffMs = Math.max(opts.pollMs, opts.failureBackoffMs ?? DEFAULT_REGISTER_BACKOFF_MS)
  let lastGeneration: number | undefined
  let nextAttemptAt = Number.NEGATIVE_INFINITY
  let healthy = true
  let inFlight: Promise<SyncReport> | undefined

  async function timed<T>(
    calls: RegisterCall[],
    operation: RegisterCall['operation'],
    send: () => Promise<T>,
  ): Promise<T> {
    const started = now()
    try {
      const out = await send()
      calls.push({ operation, durationMs: now() - started })
      return out
    } catch (err) {
      calls.push({ operation, durationMs: now() - started, failure: failureKind(err) })
      throw err
    }
  }

  async function sync(at: number, held: () => readonly HeldSecret[]): Promise<SyncReport> {
    const calls: RegisterCall[] = []
    const signal = AbortSignal.timeout(opts.budgetMs)
    try {
      const generation = await timed(calls, 'GetItem', () => opts.source.readGeneration(signal))
      if (generation === lastGeneration) {
        healthy = true
        return { state: 'unchanged', invalidations: [], calls, compared: [] }
      }
      const holding = held()
      let invalidations: Invalidation[] = []
      if (holding.length > 0) {
        const keys = [...new Set(holding.map((h) => opts.keyOf(h.secretId)))]
        const items = await timed(calls, 'BatchGetItem', () => opts.source.readItems(keys, signal))
        invalidations = decideInvalidations(holding, items, opts.keyOf)
      }
      lastGeneration = generation
      healthy = true
      return { state: 'moved', invalidations, calls, compared: holding.map((h) => h.secretId) }
    } catch (err) {
      healthy = false
      // Jittered, so that the containers of a fleet do not all come back at the same moment.
      nextAttemptAt = at + backoffMs * (0.5 + random() / 2)
      return { state: failureKind(err), invalidations: [], calls, compared: [] }
    }
  }

  return {
    healthy: () => healthy,
    recheck() {
      lastGeneration = undefined
    },
    syncIfDue(at, held, apply) {
      if (inFlight !== undefined) return { promise: inFlight, owner: false }
      if (at < nextAttemptAt) return undefined
      nextAttemptAt = at + opts.pollMs
      const promise = sync(at, held).then((report) => {
        apply(report)
        return report
      })
      inFlight = promise
      void promise.finally(() => {
        if (inFlight === promise) inFlight = undefined
      })
      return { promise, owner: true }
    },
  }
}
