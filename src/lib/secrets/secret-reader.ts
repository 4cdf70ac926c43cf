import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager'

/**
 * Secrets Manager as the cache sees it: the current version's id (DescribeSecret, four times the quota of
 * GetSecretValue) and the current value. Every read names `VersionStage: 'AWSCURRENT'` (moto's default
 * version does not follow the label, and on AWS it is the documented default anyway). This is the only
 * module that translates SDK exceptions, into the two kinds the cache acts on.
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

/** Throttling, 5xx, timeouts, connection failures: worth serving a stale value for, and retrying later. */
export class UpstreamTransientError extends Error {
  constructor(
    readonly kind: 'throttled' | 'server-error' | 'timeout' | 'network' | 'malformed-response',
    options?: { cause?: unknown },
  ) {
    super(`Secrets Manager ${kind}`, options)
    this.name = 'UpstreamTransientError'
  }
}

/** An answer that a cached value must never cover: the secret is gone, or the broker may not read it. */
export class UpstreamPermanentError extends Error {
  constructor(
    readonly kind: 'not-found' | 'access-denied' | 'decryption-failure' | 'invalid-request' | 'client-error',
    options?: { cause?: unknown },
  ) {
    super(`Secrets Manager ${kind}`, options)
    this.name = 'UpstreamPermanentError'
  }
}

const THROTTLING = new Set([
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'Throttling',
  'ProvisionedThroughputExceededException',
])
const TIMEOUTS = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'AbortError'])
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
])

export function classifyUpstreamError(err: unknown): UpstreamTransientError | UpstreamPermanentError {
  const e = err as {
    name?: string
    code?: string
    $metadata?: { httpStatusCode?: number }
    $fault?: string
    $retryable?: unknown
  }
  const name = e.name ?? ''
  const status = e.$metadata?.httpStatusCode
  const opts = { cause: err }
  if (THROTTLING.has(name) || status === 429) return new UpstreamTransientError('throttled', opts)
  if (TIMEOUTS.has(name) || e.code === 'ETIMEDOUT') return new UpstreamTransientError('timeout', opts)
  if (e.code !== undefined && NETWORK_CODES.has(e.code)) return new UpstreamTransientError('network', opts)
  if (name === 'ResourceNotFoundException') return new UpstreamPermanentError('not-found', opts)
  if (name === 'AccessDeniedException' || name === 'AccessDenied' || status === 403)
    return new UpstreamPermanentError('access-denied', opts)
  if (name === 'DecryptionFailure') return new UpstreamPermanentError('decryption-failure', opts)
  if (name === 'InvalidRequestException') return new UpstreamPermanentError('invalid-request', opts)
  if ((status !== undefined && status >= 500) || e.$fault === 'server' || name === 'InternalServiceError') {
    return new UpstreamTransientError('server-error', opts)
  }
  // A response the SDK could not parse (a proxy's HTML page, a truncated body) is treated as a transient fault.
  if (err instanceof SyntaxError || name === 'SyntaxError')
    return new UpstreamTransientError('malformed-response', opts)
  if (status !== undefined && status >= 400) return new UpstreamPermanentError('client-error', opts)
  return new UpstreamTransientError('network', opts)
}

/** Told about every upstream call: which operation, how long it took, and how it failed, if it did. */
export type UpstreamObserver = (call: {
  operation: 'DescribeSecret' | 'GetSecretValue'
  durationMs: number
  failure?: UpstreamTransientError | UpstreamPermanentError
}) => void

const sendOptions = (signal: AbortSignal | undefined) => (signal === undefined ? {} : { abortSignal: signal })

export function createSecretSource(
  client: SecretsManagerClient,
  opts: { observe?: UpstreamObserver; now?: () => number } = {},
): SecretSource & RotationInfoSource {
  const now = opts.now ?? (() => performance.now())
  async function call<T>(operation: 'DescribeSecret' | 'GetSecretValue', send: () => Promise<T>): Promise<T> {
    const started = now()
    try {
      const out = await send()
      opts.observe?.({ operation, durationMs: now() - started })
      return out
    } catch (err) {
      const failure = classifyUpstreamError(err)
      opts.observe?.({ operation, durationMs: now() - started, failure })
      throw failure
    }
  }
  return {
    async currentVersionId(secretId, signal) {
      const out = await call('DescribeSecret', () =>
        client.send(new DescribeSecretCommand({ SecretId: secretId }), sendOptions(signal)),
      )
      // DescribeSecret still answers for a secret scheduled for deletion (GetSecretValue refuses it): a cached
      // value must not outlive the operator's decision to delete the secret.
      if (out.DeletedDate !== undefined) throw new UpstreamPermanentError('not-found')
      const current = Object.entries(out.VersionIdsToStages ?? {}).find(([, stages]) =>
        stages.includes('AWSCURRENT'),
      )
      if (current === undefined) throw new UpstreamPermanentError('not-found')
      return current[0]
    },
    async describeRotation(secretId) {
      const out = await call('DescribeSecret', () =>
        client.send(new DescribeSecretCommand({ SecretId: secretId })),
      )
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
      const out = await call('GetSecretValue', () =>
        client.send(
          new GetSecretValueCommand({ SecretId: secretId, VersionStage: 'AWSCURRENT' }),
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
