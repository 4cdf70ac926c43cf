/**
 * The one error hierarchy. Every error the broker raises on purpose is a BrokerError; the HTTP edge maps
 * it to an RFC 9457 problem document with a stable `type`, and anything else becomes a generic 500.
 * Messages never quote a secret value or caller-supplied input beyond what is safe to echo.
 */
export const ERROR_CODES = [
  'CONFIG_INVALID',
  'BAD_REQUEST',
  'UNAUTHENTICATED',
  'ACCESS_DENIED',
  'NOT_FOUND',
  'METHOD_NOT_ALLOWED',
  'PAYLOAD_TOO_LARGE',
  'UPSTREAM_UNAVAILABLE',
  'UPSTREAM_REFUSED',
  'AUDIT_UNAVAILABLE',
  'ROTATION_STEP_FAILED',
  'INTERNAL',
] as const
export type ErrorCode = (typeof ERROR_CODES)[number]

/** One upstream call made on behalf of a request (see lib/secrets/upstream-failures.ts). */
export interface UpstreamCallRecord {
  readonly operation: string
  readonly durationMs: number
  readonly failure?: string
}

/**
 * What a failure tells the audit record and the request's metrics, carried by the error itself so nothing
 * has to be written back into shared state on the way out: the audit reason (why access was refused or what
 * failed upstream; never shown to the caller) and the upstream calls the request made before failing.
 */
export interface FailureFacts {
  readonly auditReason?: string
  readonly upstream?: readonly UpstreamCallRecord[]
  /** The request was refused during an upstream failure back-off, without asking upstream. */
  readonly backedOff?: boolean
  /** The invalidation register calls the request made before failing (same shape; `failure` is its kind). */
  readonly register?: readonly UpstreamCallRecord[]
}

export interface BrokerErrorOptions {
  readonly cause?: unknown
  readonly facts?: FailureFacts
}

export abstract class BrokerError extends Error {
  abstract readonly code: ErrorCode
  abstract readonly httpStatus: number
  /** Whether `message` may be shown to the caller. Internal errors show a generic title instead. */
  readonly expose: boolean = true
  readonly facts: FailureFacts
  constructor(message: string, options?: BrokerErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.facts = options?.facts ?? {}
  }
}

/** A configuration value is missing or out of range. Raised at cold start or packaging time, never per request. */
export class ConfigError extends BrokerError {
  readonly code = 'CONFIG_INVALID'
  readonly httpStatus = 500
  override readonly expose = false
}

export class BadRequestError extends BrokerError {
  readonly code = 'BAD_REQUEST'
  readonly httpStatus = 400
}

export class UnauthenticatedError extends BrokerError {
  readonly code = 'UNAUTHENTICATED'
  readonly httpStatus = 401
}

export class AccessDeniedError extends BrokerError {
  readonly code = 'ACCESS_DENIED'
  readonly httpStatus = 403
}

/** Unknown and not-allowed names both end here, with the same message, so a response reveals nothing. */
export class SecretNotFoundError extends BrokerError {
  readonly code = 'NOT_FOUND'
  readonly httpStatus = 404
  constructor(options?: BrokerErrorOptions) {
    super('No secret by that name is available to this caller.', options)
  }
}

export class MethodNotAllowedError extends BrokerError {
  readonly code = 'METHOD_NOT_ALLOWED'
  readonly httpStatus = 405
}

export class PayloadTooLargeError extends BrokerError {
  readonly code = 'PAYLOAD_TOO_LARGE'
  readonly httpStatus = 413
}

/** Secrets Manager is throttling, failing or slow, and nothing usable is cached. Transient. */
export class UpstreamUnavailableError extends BrokerError {
  readonly code = 'UPSTREAM_UNAVAILABLE'
  readonly httpStatus = 503
  readonly retryAfterSeconds: number
  constructor(message: string, options?: BrokerErrorOptions & { retryAfterSeconds?: number }) {
    super(message, options)
    this.retryAfterSeconds = options?.retryAfterSeconds ?? 5
  }
}

/**
 * Secrets Manager refused the broker itself (access denied, KMS decryption failure): a deployment problem,
 * not the caller's. Never papered over with a cached value.
 */
export class UpstreamRefusedError extends BrokerError {
  readonly code = 'UPSTREAM_REFUSED'
  readonly httpStatus = 502
}

/** The audit record could not be written: the request fails closed and no value leaves. */
export class AuditUnavailableError extends BrokerError {
  readonly code = 'AUDIT_UNAVAILABLE'
  readonly httpStatus = 503
  override readonly expose = false
}

export class RotationStepError extends BrokerError {
  readonly code = 'ROTATION_STEP_FAILED'
  readonly httpStatus = 500
  readonly step: string
  readonly secretId: string
  readonly token: string
  constructor(message: string, ctx: { step: string; secretId: string; token: string; cause?: unknown }) {
    super(message, ctx.cause === undefined ? undefined : { cause: ctx.cause })
    this.step = ctx.step
    this.secretId = ctx.secretId
    this.token = ctx.token
  }
}

export function isBrokerError(err: unknown): err is BrokerError {
  return err instanceof BrokerError
}

/**
 * A description of any thrown value that is safe to log: the error's class, code and AWS metadata,
 * never its message (SDK and JSON.parse messages can quote their input, and the input may be a secret).
 */
export function describeError(err: unknown): Record<string, unknown> {
  if (err instanceof BrokerError) {
    return {
      errorClass: err.name,
      code: err.code,
      message: err.message,
      cause: err.cause === undefined ? undefined : describeError(err.cause),
    }
  }
  if (err instanceof Error) {
    const meta = (err as { $metadata?: { httpStatusCode?: number; requestId?: string } }).$metadata
    const fault = (err as { $fault?: string }).$fault
    return {
      errorClass: err.name,
      ...(meta?.httpStatusCode === undefined ? {} : { httpStatusCode: meta.httpStatusCode }),
      ...(meta?.requestId === undefined ? {} : { awsRequestId: meta.requestId }),
      ...(fault === undefined ? {} : { fault }),
    }
  }
  return { errorClass: typeof err }
}
