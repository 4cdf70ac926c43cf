import { LRUCache } from 'lru-cache'
import type { Clock } from '../clock'
import type { CatalogEntry } from './catalog'
import type { RotationInfo, RotationInfoSource } from './secret-reader'

/**
 * What a consumer (or its operator) needs to know about a secret's rotation, from DescribeSecret: enabled,
 * strategy, last and next rotation, and whether a rotation is stuck — AWSPENDING on a version other than
 * AWSCURRENT, the state in which Secrets Manager refuses every later rotation — with what to do about it.
 */
export interface RotationStatus {
  readonly name: string
  readonly rotationEnabled: boolean
  readonly strategy: string | undefined
  readonly lastRotatedDate: string | undefined
  readonly nextRotationDate: string | undefined
  readonly currentVersionId: string | undefined
  readonly pendingVersionId: string | undefined
  readonly stuck: boolean
  readonly advice: string | undefined
}

export function assessRotation(entry: CatalogEntry, info: RotationInfo): RotationStatus {
  const versions = Object.entries(info.versionStages)
  const current = versions.find(([, stages]) => stages.includes('AWSCURRENT'))?.[0]
  const pending = versions.find(([, stages]) => stages.includes('AWSPENDING'))?.[0]
  const stuck = pending !== undefined && pending !== current
  return {
    name: entry.name,
    rotationEnabled: info.rotationEnabled,
    strategy: entry.rotationStrategy,
    lastRotatedDate: info.lastRotatedDate?.toISOString(),
    nextRotationDate: info.nextRotationDate?.toISOString(),
    currentVersionId: current,
    pendingVersionId: stuck ? pending : undefined,
    stuck,
    advice: stuck
      ? `A rotation did not finish: version ${pending} still carries AWSPENDING, so Secrets Manager will refuse every new rotation of this secret. ` +
        'The current credentials keep working. Find the failing step in the rotation function’s logs (one record per step), fix its cause ' +
        '(often the function cannot reach the database or Secrets Manager), then rotate again — the rotation resumes with the same version — ' +
        `or, to abandon it, remove AWSPENDING from version ${pending} (update-secret-version-stage --version-stage AWSPENDING --remove-from-version-id ${pending}) ` +
        `as the stage's break-glass role (params.breakGlassRoleArn): the secret's resource policy refuses it to anyone else.`
      : info.rotationEnabled
        ? undefined
        : 'Rotation is not enabled for this secret.',
  }
}

export interface RotationStatusReader {
  read(entry: CatalogEntry): Promise<RotationStatus>
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
}): RotationStatusReader {
  const cache = new LRUCache<string, RotationInfo>({
    max: opts.maxEntries,
    ttl: Math.max(1, opts.ttlMs),
    perf: { now: () => opts.clock.now() },
    ttlResolution: 0, // read the injected clock on every check (no cached 'now', no timer)
    fetchMethod: (secretId) => opts.source.describeRotation(secretId),
  })
  return {
    async read(entry) {
      const info = await cache.fetch(entry.secretId)
      if (info === undefined) throw new Error('rotation info unavailable')
      return assessRotation(entry, info)
    },
  }
}
