import {
  AccessDeniedError,
  BadRequestError,
  BrokerClientError,
  InternalServerError,
  InvalidResponseError,
  NetworkError,
  NotFoundError,
  PayloadTooLargeError,
  TimeoutError,
  UnauthenticatedError,
  UnavailableError,
  UpstreamRefusedError,
  WrongEndpointError,
} from '../client-errors'
import type { BrokerSecret } from '../served-secret'

/**
 * What the agent answers, in the Secrets Manager Agent's shapes. A secret is Secrets Manager's
 * GetSecretValue output as the Agent serialises it (`ARN`, `Name`, `VersionId`, `SecretString` or
 * `SecretBinary`, `VersionStages`, `CreatedDate` as seconds with a fraction, in a string). The broker never
 * reveals ARNs (callers use logical names), so `ARN` is null, as the Agent writes an absent one; `Name` is the
 * broker name asked for. Failures of the secret itself are `{"__type": "<Code>", "message": "…"}` with the
 * status Secrets Manager would use; the agent's own refusals are short plain-text bodies, as the Agent's are.
 */
export interface AgentAnswer {
  readonly status: number
  readonly body: string
  readonly json: boolean
  readonly headers?: Readonly<Record<string, string>>
}

/** The one version stage the broker serves. */
export const SERVED_STAGE = 'AWSCURRENT'

const rendered = new WeakMap<BrokerSecret, string>()

/** The GetSecretValue JSON for a secret; rendered once per version the client holds. */
export function secretAnswer(secret: BrokerSecret): AgentAnswer {
  let body = rendered.get(secret)
  if (body === undefined) {
    body = JSON.stringify({
      ARN: null,
      Name: secret.name,
      VersionId: secret.versionId,
      ...(secret.secretString === undefined
        ? { SecretBinary: secret.value }
        : { SecretString: secret.secretString }),
      VersionStages: [SERVED_STAGE],
      CreatedDate: secondsWithFraction(secret.createdDate),
    })
    rendered.set(secret, body)
  }
  return { status: 200, body, json: true }
}

/** `2026-11-30T12:00:00.250Z` → `"1764504000.25"`, the Agent's TimestampSecondsWithFrac; null when unknown. */
function secondsWithFraction(iso: string | undefined): string | null {
  const ms = iso === undefined ? Number.NaN : Date.parse(iso)
  if (Number.isNaN(ms)) return null
  const seconds = Math.floor(ms / 1000)
  const fraction = ms - seconds * 1000
  return fraction === 0
    ? String(seconds)
    : `${seconds}.${String(fraction).padStart(3, '0').replace(/0+$/, '')}`
}

export function plain(status: number, text: string, headers?: Readonly<Record<string, string>>): AgentAnswer {
  return { status, body: text, json: false, ...(headers === undefined ? {} : { headers }) }
}

export function awsError(status: number, code: string, message: string): AgentAnswer {
  // The Agent answers an internal failure with the code alone.
  const body = code === 'InternalFailure' ? { __type: code } : { __type: code, message }
  return { status, body: JSON.stringify(body), json: true }
}

/**
 * A client error as Secrets Manager would have answered the Agent. The messages name the cause and never a
 * value (the client's errors never carry one).
 */
export function answerForError(err: unknown): AgentAnswer {
  if (!(err instanceof BrokerClientError)) return awsError(500, 'InternalFailure', '')
  const because = err.detail ?? err.title
  if (err instanceof NotFoundError)
    return awsError(
      400,
      'ResourceNotFoundException',
      'secret-broker: the secret does not exist or this host may not read it',
    )
  if (err instanceof BadRequestError) return awsError(400, 'InvalidParameterException', because)
  if (err instanceof UnauthenticatedError)
    return awsError(
      400,
      'UnrecognizedClientException',
      `secret-broker refused the agent's signature: ${because}`,
    )
  if (err instanceof AccessDeniedError) return awsError(400, 'AccessDeniedException', because)
  if (err instanceof PayloadTooLargeError) return awsError(400, 'InvalidRequestException', because)
  // As the Agent maps the SDK's dispatch failures: a timeout is 504, an I/O or response error 502.
  if (err instanceof TimeoutError) return awsError(504, 'TimeoutError', 'Timeout')
  if (err instanceof NetworkError) return awsError(502, 'ConnectionError', 'Read Error')
  if (err instanceof InvalidResponseError) return awsError(502, 'ConnectionError', 'Response Error')
  if (err instanceof UnavailableError) {
    const answer = awsError(503, 'ServiceUnavailableException', because)
    return err.retryAfterSeconds === undefined
      ? answer
      : { ...answer, headers: { 'Retry-After': String(err.retryAfterSeconds) } }
  }
  if (err instanceof UpstreamRefusedError) return awsError(502, 'InternalServiceError', because)
  // A misconfigured endpoint or a broker fault: the operator reads the agent's log line.
  if (err instanceof WrongEndpointError || err instanceof InternalServerError)
    return awsError(500, 'InternalFailure', '')
  return awsError(err.status >= 400 && err.status < 600 ? err.status : 500, 'InternalFailure', '')
}
