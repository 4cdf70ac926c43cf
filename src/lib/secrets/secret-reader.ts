import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager'
import { AWSCURRENT, versionHolding } from '../../contract/version-stages'
import { classifyUpstreamError, UpstreamPermanentError, UpstreamTransientError } from './upstream-failures'

/**
 * Secrets Manager as the cache sees it: the current version's id (DescribeSecret, four times the quota of
 * GetSecretValue) and the current value. Every read names `VersionStage: 'AWSCURRENT'` (moto's default
 * version does not follow the label, and on AWS it is the documented default anyway). Failures leave here
 * classified (upstream-failures.ts), never as raw SDK errors.
 */
export interface FetchedSecret {
  readonly versionId: string
  readonly createdDate: Date | undefined
  readonly secretString: string | undefined
  readonly secretBinary: Uint8Array | undefined
}

export interface SecretSource {
  /**
   * The version id that currently carries AWSCURRENT; a secret scheduled for deletion is `not-found`.
   * `signal` ends the call (and its retries) early: an aborted call is a transient `timeout`.
   */
  currentVersionId(secretId: string, signal?: AbortSignal): Promise<string>
  getCurrent(secretId: string, signal?: AbortSignal): Promise<FetchedSecret>
}

export interface RotationInfoSource {
  /** The secret's rotation metadata (DescribeSecret), for the rotation health endpoint. */
  describeRotation(secretId: string): Promise<RotationInfo>
}

export interface RotationInfo {
  readonly rotationEnabled: boolean
  readonly lastRotatedDate: Date | undefined
  readonly nextRotationDate: Date | undefined
  readonly lastChangedDate: Date | undefined
  readonly versionStages: Readonly<Record<string, readonly string[]>>
}

const sendOptions = (signal: AbortSignal | undefined): { abortSignal?: AbortSignal } =>
  signal === undefined ? {} : { abortSignal: signal }

async function classified<T>(send: () => Promise<T>): Promise<T> {
  try {
    return await send()
  } catch (err) {
    throw classifyUpstreamError(err)
  }
}

export function createSecretSource(client: SecretsManagerClient): SecretSource & RotationInfoSource {
  return {
    async currentVersionId(secretId, signal) {
      const out = await classified(() =>
        client.send(new DescribeSecretCommand({ SecretId: secretId }), sendOptions(signal)),
      )
      // DescribeSecret still answers for a secret scheduled for deletion (GetSecretValue refuses it): a cached
      // value must not outlive the operator's decision to delete the secret.
      if (out.DeletedDate !== undefined) throw new UpstreamPermanentError('not-found')
      const current = versionHolding(out.VersionIdsToStages ?? {}, AWSCURRENT)
      if (current === undefined) throw new UpstreamPermanentError('not-found')
      return current
    },
    async describeRotation(secretId) {
      const out = await classified(() => client.send(new DescribeSecretCommand({ SecretId: secretId })))
      return {
        // moto omits RotationEnabled until rotation was configured once; absent means not enabled.
        rotationEnabled: out.RotationEnabled === true,
        lastRotatedDate: out.LastRotatedDate,
        nextRotationDate: out.NextRotationDate,
        lastChangedDate: out.LastChangedDate,
        versionStages: out.VersionIdsToStages ?? {},
      }
    },
    async getCurrent(secretId, signal) {
      const out = await classified(() =>
        client.send(
          new GetSecretValueCommand({ SecretId: secretId, VersionStage: AWSCURRENT }),
          sendOptions(signal),
        ),
      )
      if (out.VersionId === undefined || (out.SecretString === undefined && out.SecretBinary === undefined)) {
        throw new UpstreamTransientError('malformed-response')
      }
      return {
        versionId: out.VersionId,
        createdDate: out.CreatedDate,
        secretString: out.SecretString,
        secretBinary: out.SecretBinary,
      }
    },
  }
}
