/**
 * Typed errors for broker consumers. Every failure the client can report is a `BrokerClientError`: answers
 * with an RFC 9457 problem document keep its `type`, `title`, `status` and `detail`; network failures,
 * timeouts and unreadable answers get a client-side `type` (`urn:secret-broker:client:*`) and status 0 (or
 * the HTTP status they came with). Messages are built from these fields only, never from a response body,
 * so a secret value can never end up in an error message or a log line that prints one.
 */
export const CLIENT_PROBLEM_TYPE_BASE = 'urn:secret-broker:client:'

export type BrokerClientErrorCode =
  | 'BAD_REQUEST'
  | 'UNAUTHENTICATED'
  | 'ACCESS_DENIED'
  | 'NOT_FOUND'
  | 'PAYLOAD_TOO_LARGE'
  | 'UPSTREAM_REFUSED'
  | 'UNAVAILABLE'
  | 'INTERNAL'
  | 'NETWORK'
  | 'TIMEOUT'
  | 'INVALID_RESPONSE'
  | 'WRONG_ENDPOINT'
  | 'LOSSY_NUMBER'
  | 'HTTP_ERROR'

export interface BrokerClientErrorInit {
  /** The HTTP status, or 0 when no response arrived. */
  readonly status: number
  readonly type: string
  readonly title: string
  readonly detail?: string | undefined
  /** The broker's X-Request-Id (or API Gateway's request id): quote it when asking the broker's operators. */
  readonly requestId?: string | undefined
  readonly cause?: unknown
}

/** The base of every client error: catch this to handle them all, or a subclass for one kind. */
export class BrokerClientError extends Error {
  override readonly name: string = 'BrokerClientError'
  readonly code: BrokerClientErrorCode = 'HTTP_ERROR'
  readonly status: number
  readonly type: string
  readonly title: string
  readonly detail: string | undefined
  readonly requestId: string | undefined

  constructor(init: BrokerClientErrorInit) {
    super(messageFor(init), init.cause === undefined ? undefined : { cause: init.cause })
    this.status = init.status
    this.type = init.type
    this.title = init.title
    this.detail = init.detail
    this.requestId = init.requestId
  }
}

function messageFor(init: BrokerClientErrorInit): string {
  const status = init.status === 0 ? '' : ` (${init.status})`
  const detail = init.detail === undefined || init.detail === '' ? '' : `: ${init.detail}`
  const id = init.requestId === undefined ? '' : ` [request id ${init.requestId}]`
  return `${init.title}${status}${detail}${id}`
}

/**
 * The endpoint has no such route: a wrong base URL or stage, API Gateway's 403
 * `MissingAuthenticationTokenException` (its answer for an unknown route), or a 404/405 that is not the
 * broker's. Not a missing secret and not bad credentials: fix `endpoint`.
 */
export class WrongEndpointError extends BrokerClientError {
  override readonly name: string = 'WrongEndpointError'
  override readonly code = 'WRONG_ENDPOINT'
}

/**
 * A number in the secret's JSON that a JavaScript number cannot hold exactly (a decimal with more digits
 * than a double keeps, or one out of range). Integers of any size are read as `bigint` instead; this is for
 * the rest. The exact text is in `secretString`. `path` names where it is (field names only when they look
 * like field names).
 */
export class LossyNumberError extends BrokerClientError {
  override readonly name: string = 'LossyNumberError'
  override readonly code = 'LOSSY_NUMBER'
  readonly path: string
  constructor(init: BrokerClientErrorInit & { readonly path: string }) {
    super(init)
    this.path = init.path
  }
}

/** 400: the request was malformed (for example an invalid secret name). Retrying will not help. */
export class BadRequestError extends BrokerClientError {
  override readonly name: string = 'BadRequestError'
  override readonly code = 'BAD_REQUEST'
}

/** The name breaks the broker's name grammar; refused before any request is sent. */
export class InvalidSecretNameError extends BadRequestError {
  override readonly name: string = 'InvalidSecretNameError'
}

/** 401, or API Gateway's 403 for a missing or bad signature: check the credentials and the region. */
export class UnauthenticatedError extends BrokerClientError {
  override readonly name: string = 'UnauthenticatedError'
  override readonly code = 'UNAUTHENTICATED'
}

/** 403: the caller is authenticated but not allowed to call this route (IAM policy on execute-api). */
export class AccessDeniedError extends BrokerClientError {
  override readonly name: string = 'AccessDeniedError'
  override readonly code = 'ACCESS_DENIED'
}

/**
 * 404: the secret does not exist *or this caller may not read it*; the broker answers both identically on
 * purpose, so a caller cannot probe for names it is not allowed to see.
 */
export class NotFoundError extends BrokerClientError {
  override readonly name: string = 'NotFoundError'
  override readonly code = 'NOT_FOUND'
}

/** 413: the batch body is too large. */
export class PayloadTooLargeError extends BrokerClientError {
  override readonly name: string = 'PayloadTooLargeError'
  override readonly code = 'PAYLOAD_TOO_LARGE'
}

/** 502: Secrets Manager refused the broker (for example a KMS key problem). Retried, then surfaced. */
export class UpstreamRefusedError extends BrokerClientError {
  override readonly name: string = 'UpstreamRefusedError'
  override readonly code = 'UPSTREAM_REFUSED'
}

/** 503/504: the broker or Secrets Manager is temporarily unavailable. `retryAfterSeconds` is the server's hint. */
export class UnavailableError extends BrokerClientError {
  override readonly name: string = 'UnavailableError'
  override readonly code = 'UNAVAILABLE'
  readonly retryAfterSeconds: number | undefined
  constructor(init: BrokerClientErrorInit & { readonly retryAfterSeconds?: number | undefined }) {
    super(init)
    this.retryAfterSeconds = init.retryAfterSeconds
  }
}

/** 500: a fault in the broker; quote `requestId` to its operators. Not retried. */
export class InternalServerError extends BrokerClientError {
  override readonly name: string = 'InternalServerError'
  override readonly code = 'INTERNAL'
}

/** No HTTP response: connection refused or reset, DNS failure. `cause` holds the underlying error. */
export class NetworkError extends BrokerClientError {
  override readonly name: string = 'NetworkError'
  override readonly code: BrokerClientErrorCode = 'NETWORK'
}

/** The attempt did not complete within `timeoutMs`. */
export class TimeoutError extends NetworkError {
  override readonly name: string = 'TimeoutError'
  override readonly code = 'TIMEOUT'
}

/** A response the client cannot use: not JSON, the wrong shape, an unexpected status. The body is never quoted. */
export class InvalidResponseError extends BrokerClientError {
  override readonly name: string = 'InvalidResponseError'
  override readonly code = 'INVALID_RESPONSE'
}

export function isBrokerClientError(err: unknown): err is BrokerClientError {
  return err instanceof BrokerClientError
}

/** Whether the transport may try again: no response, a timeout, 502, 503 or 504. Never a 4xx. */
export function isRetryable(err: BrokerClientError): boolean {
  return err instanceof NetworkError || err instanceof UpstreamRefusedError || err instanceof UnavailableError
}

export function clientProblemType(slug: string): string {
  return CLIENT_PROBLEM_TYPE_BASE + slug
}
