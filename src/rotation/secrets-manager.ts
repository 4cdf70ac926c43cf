import {
  DescribeSecretCommand,
  GetRandomPasswordCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  UpdateSecretVersionStageCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager'
import { attempt, failed, RotationFailure, stepError, type StepScope } from './rotation-errors'
import { AWSCURRENT, AWSPENDING, type StagingLabel, type VersionStages } from './version-stages'

/**
 * The Secrets Manager calls rotation makes, and the only file under src/rotation that imports the SDK.
 * Every read names its VersionStage (or a VersionId for an unlabelled version): moto's default-version
 * pointer is not moved by UpdateSecretVersionStage, and on AWS naming the stage changes nothing. A failed call
 * names what it did to which secret (the SDK error's class and HTTP status are added by the step runner).
 */
export interface SecretMetadata {
  readonly arn: string
  readonly name: string
  /** False when absent: moto omits RotationEnabled until RotateSecret has been called once. */
  readonly rotationEnabled: boolean
  readonly versions: VersionStages
}

export async function describeSecret(sm: SecretsManagerClient, secretId: string): Promise<SecretMetadata> {
  const out = await attempt(`describing secret ${secretId}`, () =>
    sm.send(new DescribeSecretCommand({ SecretId: secretId })),
  )
  return {
    arn: out.ARN ?? secretId,
    name: out.Name ?? secretId,
    rotationEnabled: out.RotationEnabled === true,
    versions: out.VersionIdsToStages ?? {},
  }
}

export type VersionSelector =
  | { readonly stage: StagingLabel; readonly versionId?: string }
  | { readonly versionId: string; readonly stage?: undefined }

function describeSelector(sel: VersionSelector): string {
  if (sel.stage === undefined) return `version ${sel.versionId}`
  return sel.versionId === undefined
    ? `the ${sel.stage} value`
    : `the ${sel.stage} value (version ${sel.versionId})`
}

function isNotFound(err: unknown): boolean {
  return (
    err !== null &&
    typeof err === 'object' &&
    (err as { name?: unknown }).name === 'ResourceNotFoundException'
  )
}

/**
 * The SecretString of one version, or undefined when that version (or its value) does not exist: the
 * value-less AWSPENDING stub RotateSecret creates reads as not found, as on AWS.
 */
export async function readVersion(
  sm: SecretsManagerClient,
  secretId: string,
  sel: VersionSelector,
): Promise<string | undefined> {
  try {
    const out = await sm.send(
      new GetSecretValueCommand({
        SecretId: secretId,
        ...(sel.versionId === undefined ? {} : { VersionId: sel.versionId }),
        ...(sel.stage === undefined ? {} : { VersionStage: sel.stage }),
      }),
    )
    return out.SecretString
  } catch (err) {
    if (isNotFound(err)) return undefined
    return failed(`reading ${describeSelector(sel)} of ${secretId}`, err)
  }
}

/**
 * A master secret's AWSCURRENT value, read with the rotation function's own client when a step needs it.
 * Unlike readVersion, a missing master is a failure: its message names the id and the SDK error.
 */
export async function readMasterSecretText(
  sm: SecretsManagerClient,
  secretId: string,
  scope: StepScope,
): Promise<string> {
  const out = await attempt(`reading the master secret ${secretId} (AWSCURRENT)`, () =>
    sm.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: AWSCURRENT })),
  )
  if (out.SecretString === undefined)
    throw stepError(
      scope,
      `the master secret ${secretId} has no string value (SecretBinary is not supported)`,
    )
  return out.SecretString
}

/** Idempotent for the same token and value (Secrets Manager's ClientRequestToken semantics). */
export async function putPendingVersion(
  sm: SecretsManagerClient,
  secretId: string,
  token: string,
  secretString: string,
): Promise<void> {
  await attempt(`storing the pending value of ${secretId}`, () =>
    sm.send(
      new PutSecretValueCommand({
        SecretId: secretId,
        ClientRequestToken: token,
        SecretString: secretString,
        VersionStages: [AWSPENDING],
      }),
    ),
  )
}

/** AWSCURRENT to `versionId`; Secrets Manager gives the old version AWSPREVIOUS. */
export async function moveCurrentTo(
  sm: SecretsManagerClient,
  secretId: string,
  versionId: string,
  fromVersionId: string | undefined,
): Promise<void> {
  await attempt(`moving AWSCURRENT of ${secretId} to version ${versionId}`, () =>
    sm.send(
      new UpdateSecretVersionStageCommand({
        SecretId: secretId,
        VersionStage: AWSCURRENT,
        MoveToVersionId: versionId,
        ...(fromVersionId === undefined ? {} : { RemoveFromVersionId: fromVersionId }),
      }),
    ),
  )
}

export async function removePendingFrom(
  sm: SecretsManagerClient,
  secretId: string,
  versionId: string,
): Promise<void> {
  await attempt(`removing AWSPENDING from version ${versionId} of ${secretId}`, () =>
    sm.send(
      new UpdateSecretVersionStageCommand({
        SecretId: secretId,
        VersionStage: AWSPENDING,
        RemoveFromVersionId: versionId,
      }),
    ),
  )
}

/** New passwords come from somewhere injectable: Secrets Manager in production, a fake in unit tests. */
export interface PasswordGenerator {
  generate(opts: { readonly length: number; readonly excludeCharacters: string }): Promise<string>
}

export function createSecretsManagerPasswordGenerator(sm: SecretsManagerClient): PasswordGenerator {
  return {
    async generate({ length, excludeCharacters }) {
      const out = await attempt('generating a password (GetRandomPassword)', () =>
        sm.send(
          new GetRandomPasswordCommand({
            PasswordLength: length,
            ...(excludeCharacters === '' ? {} : { ExcludeCharacters: excludeCharacters }),
            RequireEachIncludedType: true,
          }),
        ),
      )
      const password = out.RandomPassword
      if (password === undefined || password.length !== length)
        throw new RotationFailure(`GetRandomPassword returned no password of the requested length ${length}`)
      return password
    },
  }
}
