/**
 * The version-stage vocabulary, used by the read path, the rotation, the local tools and the tests alike.
 * Secrets Manager keeps each staging label on at most one version, so "the version holding AWSCURRENT" is
 * well defined. Pure helpers over DescribeSecret's `VersionIdsToStages`.
 */
export const AWSCURRENT = 'AWSCURRENT'
export const AWSPENDING = 'AWSPENDING'
export const AWSPREVIOUS = 'AWSPREVIOUS'
export type StagingLabel = typeof AWSCURRENT | typeof AWSPENDING | typeof AWSPREVIOUS

export type VersionStages = Readonly<Record<string, readonly string[]>>

export function stagesOf(versions: VersionStages, versionId: string): readonly string[] | undefined {
  return Object.hasOwn(versions, versionId) ? versions[versionId] : undefined
}

export function hasStage(versions: VersionStages, versionId: string, label: StagingLabel): boolean {
  return stagesOf(versions, versionId)?.includes(label) ?? false
}

/** The version carrying `label`, if any. */
export function versionHolding(versions: VersionStages, label: StagingLabel): string | undefined {
  for (const id in versions) if (versions[id]?.includes(label) === true) return id
  return undefined
}

/**
 * A rotation in progress: AWSPENDING on a version other than AWSCURRENT. Secrets Manager then refuses every
 * new rotation until it finishes or is abandoned. Returns the pending version, or undefined.
 */
export function rotationInProgress(versions: VersionStages): string | undefined {
  const pending = versionHolding(versions, AWSPENDING)
  return pending !== undefined && pending !== versionHolding(versions, AWSCURRENT) ? pending : undefined
}

/**
 * Versions that carry no label, other than `exclude`. AWS does not list deprecated versions in DescribeSecret;
 * moto does, and so does AWS for a moment when a rotation is displaced.
 */
export function unlabelledVersions(versions: VersionStages, exclude: readonly string[]): string[] {
  return Object.entries(versions)
    .filter(([id, stages]) => stages.length === 0 && !exclude.includes(id))
    .map(([id]) => id)
}
