import { LRUCache } from 'lru-cache'
import { AWSCURRENT, rotationInProgress, versionHolding } from '../../contract/version-stages'
import type { RotationStatus } from '../../contract/wire'
import type { Clock } from '../clock'
import type { CatalogEntry } from './catalog'
import type { RotationInfo, RotationInfoSource } from './secret-reader'
import { UpstreamFailure, type UpstreamCall } from './upstream-failures'

/**
 * What a consumer (or its operator) needs to know about a secret's rotation, from DescribeSecret: enabled,
 * strategy, last and next rotation, and whether a rotation is stuck — AWSPENDING on a version other than
 * AWSCURRENT, the state in which Secrets Manager refuses every later rotation — with what to do about it.
 */
export type { RotationStatus }

export function assessRotation(entry: CatalogEntry, info: RotationInfo): RotationStatus {
  const current = versionHolding(info.versionStages, AWSCURRENT)
  const pending = rotationInProgress(info.versionStages)
  const stuck = pending !== undefined
  return {
    name: entry.name,
    rotationEnabled: info.rotationEnabled,
    strategy: entry.rotationStrategy,
    lastRotatedDate: info.lastRotatedDate?.toISOString(),
    nextRotationDate: info.nextRotationDate?.toISOString(),
    currentVersionId: current,
    pendingVersionId: pending,
    stuck,
    advice: stuck
      ? `A rotation did not finish: version ${pending} still carries AWSPENDING, so Secrets Manager will refuse every new rotation of this secret. ` +
        'The current credentials keep working. Find the failing step in the rotation function’s logs (one record per step), fix its cause ' +
        '(often the function cannot reach the database or Secrets Manager), then rotate again as the stage’s deployment role (params.deploymentRoleArn, the only principal the resource policy lets call RotateSecret) — the rotation resumes with the same version — ' +
        `or, to abandon it, remove AWSPENDING from version ${pending} (update-secret-version-stage --version-stage AWSPENDING --remove-from-version-id ${pending}) ` +
        `as the stage's break-glass role (params.breakGlassRoleArn): the secret's resource policy refuses it to anyone else.`
      : info.rotationEnabled
        ? undefined
        : 'Rotation is not enabled for this secret.',
  }
}

export interface RotationStatusReader {
  /** The status, and the upstream calls this request made for it (none when it came from the short cache). */
  read(entry: CatalogEntry): Promise<{ status: RotationStatus; upstream: readonly UpstreamCall[] }>
}

/**
 * Rotation status with a short per-secret cache (DescribeSecret at most once per `ttlMs` per container, and
 * one call for concurrent requests), so the endpoint cannot be used to run up Secrets Manager's quota.
 */
export function createRotationStatusReader(opts: {
  source: RotationInfoSource
  clock: Clock
  ttlMs: number
  maxEntries: number
  now?: () => number
}): RotationStatusReader {
  const now = opts.now ?? (() => performance.now())
  const cache = new LRUCache<string, { info: RotationInfo; at: number }>({ max: opts.maxEntries })
  const inFlight = new Map<string, Promise<RotationInfo>>()
  return {
    async read(entry) {
      const held = cache.get(entry.secretId)
      if (held !== undefined && opts.clock.now() - held.at < opts.ttlMs)
        return { status: assessRotation(entry, held.info), upstream: [] }
      const pending = inFlight.get(entry.secretId)
      if (pending !== undefined) return { status: assessRotation(entry, await pending), upstream: [] }
      const started = now()
      const work = opts.source.describeRotation(entry.secretId).finally(() => inFlight.delete(entry.secretId))
      inFlight.set(entry.secretId, work)
      try {
        const info = await work
        cache.set(entry.secretId, { info, at: opts.clock.now() })
        const call: UpstreamCall = { operation: 'DescribeSecret', durationMs: now() - started }
        return { status: assessRotation(entry, info), upstream: [call] }
      } catch (err) {
        if (err instanceof UpstreamFailure)
          err.upstream = [{ operation: 'DescribeSecret', durationMs: now() - started, failure: err.kind }]
        throw err
      }
    },
  }
}
