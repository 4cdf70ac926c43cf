/**
 * Pure helpers over DescribeSecret's VersionIdsToStages. Secrets Manager keeps each staging label on at most
 * one version, so "the version holding AWSCURRENT" is well defined.
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
  return Object.entries(versions).find(([, stages]) => stages.includes(label))?.[0]
}

/**
 * Versions that carry no label, other than `exclude`. AWS does not list deprecated versions in DescribeSecret;
 * moto does, and so does AWS for a moment when a rotation is displaced. setSecret uses them only as a last
 * resort to log in (see strategies/postgres-user-password.ts), never as a source of a new value.
 */
export function unlabelledVersions(versions: VersionStages, exclude: readonly string[]): string[] {
  return Object.entries(versions)
    .filter(([id, stages]) => stages.length === 0 && !exclude.includes(id))
    .map(([id]) => id)
}
