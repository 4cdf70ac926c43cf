/**
 * Typed errors for broker consumers. Every failure the client can report is a `BrokerClientError`: answers
 * with an RFC 9457 problem document keep its `type`, `title`, `status` and `detail`; network failures,
 * timeouts and unreadable answers get a client-side `type` (`urn:secret-broker:client:*`) and status 0 (or
 * the HTTP status they came with). Messages are built from these fields only, never from a response body,
 * so a secret value can never end up in an error message or a log line that prints one.
 */
export const PROBLEM_TYPE_BASE = 'https://secret-broker.dev/problems/'
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

// Error types API Gateway (AWS_IAM) puts in x-amzn-ErrorType when the signature itself is the problem; it
// answers those with 403 like a policy denial, but the fix is different (credentials, clock, region).
const SIGNATURE_ERROR_TYPES =
  /^(IncompleteSignatureException|InvalidSignatureException|MissingAuthenticationTokenException|UnrecognizedClientException|ExpiredTokenException|InvalidClientTokenId)/

const STATUS_TITLES: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthenticated',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  413: 'Payload Too Large',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
}

export interface ProblemFields {
  readonly type: string
  readonly title: string
  readonly status: number
  readonly detail?: string | undefined
}

/** Reads an RFC 9457 problem document out of parsed JSON, or undefined when it is not one. */
export function asProblem(raw: unknown): ProblemFields | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined
  const o = raw as Record<string, unknown>
  if (typeof o['type'] !== 'string' || typeof o['title'] !== 'string' || typeof o['status'] !== 'number')
    return undefined
  return {
    type: o['type'],
    title: o['title'],
    status: o['status'],
    detail: typeof o['detail'] === 'string' ? o['detail'] : undefined,
  }
}

/** The typed error for a problem (from a response, or one item of a batch). */
export function errorForProblem(
  problem: ProblemFields,
  extra: {
    requestId?: string | undefined
    retryAfterSeconds?: number | undefined
    amznErrorType?: string | undefined
  } = {},
): BrokerClientError {
  const init: BrokerClientErrorInit = { ...problem, requestId: extra.requestId }
  switch (problem.status) {
    case 400:
      return new BadRequestError(init)
    case 401:
      return new UnauthenticatedError(init)
    case 403:
      return extra.amznErrorType !== undefined && SIGNATURE_ERROR_TYPES.test(extra.amznErrorType)
        ? new UnauthenticatedError(init)
        : new AccessDeniedError(init)
    case 404:
      return new NotFoundError(init)
    case 413:
      return new PayloadTooLargeError(init)
    case 500:
      return new InternalServerError(init)
    case 502:
      return new UpstreamRefusedError(init)
    case 503:
    case 504:
      return new UnavailableError({ ...init, retryAfterSeconds: extra.retryAfterSeconds })
    default:
      return new BrokerClientError(init)
  }
}

/**
 * The typed error for a non-2xx answer. A problem+json body is used as sent; anything else (API Gateway's
 * `{"message": …}`, an HTML error page from a proxy) becomes a problem with the standard title for the
 * status, plus API Gateway's short message when there is one. Bodies are otherwise never quoted.
 */
export function errorForResponse(res: {
  readonly status: number
  readonly contentType: string | undefined
  readonly text: string
  readonly requestId: string | undefined
  readonly retryAfterSeconds: number | undefined
  readonly amznErrorType: string | undefined
}): BrokerClientError {
  let parsed: unknown
  if (res.contentType !== undefined && /json/i.test(res.contentType)) {
    try {
      parsed = JSON.parse(res.text)
    } catch {
      parsed = undefined
    }
  }
  const extra = {
    requestId: res.requestId,
    retryAfterSeconds: res.retryAfterSeconds,
    amznErrorType: res.amznErrorType,
  }
  const problem = asProblem(parsed)
  if (problem !== undefined) return errorForProblem({ ...problem, status: res.status }, extra)
  const message =
    typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>)['message'] : undefined
  return errorForProblem(
    {
      type: 'about:blank',
      title: STATUS_TITLES[res.status] ?? `HTTP ${res.status}`,
      status: res.status,
      detail: typeof message === 'string' && message.length <= 300 ? message : undefined,
    },
    extra,
  )
}
