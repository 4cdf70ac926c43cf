import { isClockSkewCorrectedError, isThrottlingError, isTransientError } from '@smithy/core/retry'
import type { RegisterCall } from './register-watch'

/**
 * Every way a Secrets Manager call can fail, classified once. The SDK's own retry classification decides
 * what is transient (throttling, 5xx, timeouts, network, clock skew); the broker's rules decide the rest: a
 * secret that is gone or that the broker may no longer read is never covered by a cached value, while a
 * failure of the broker's own credentials or an unexpected 4xx says nothing about the secret, so a held value
 * keeps being served. {@link UPSTREAM_FAILURES} then says, per kind, what the cache does, what the caller is
 * answered, and which metric counts it; the audit reason is `upstream-<kind>`.
 */
export const UPSTREAM_FAILURE_KINDS = [
  'throttled',
  'server-error',
  'timeout',
  'network',
  'malformed-response',
  'clock-skew',
  'credentials',
  'client-error',
  'not-found',
  'deleted',
  'access-denied',
  'decryption-failure',
] as const
export type UpstreamFailureKind = (typeof UPSTREAM_FAILURE_KINDS)[number]

/** What the caller gets when no usable value is held: 503 + Retry-After, 502, or the same 404 as an unknown name. */
export type UpstreamAnswer = 'unavailable' | 'refused' | 'not-found'

export type UpstreamFailureMetric =
  'UpstreamThrottled' | 'UpstreamServerError' | 'UpstreamTimeout' | 'UpstreamOtherError'

export interface UpstreamFailureRule {
  /** A held value keeps being served (flagged stale past its TTL) and stays cached. False: evicted. */
  readonly keepsValue: boolean
  /** Upstream is not asked again about this secret for a jittered, growing back-off. */
  readonly backsOff: boolean
  readonly answer: UpstreamAnswer
  readonly metric: UpstreamFailureMetric
}

const transient = (metric: UpstreamFailureMetric): UpstreamFailureRule => ({
  keepsValue: true,
  backsOff: true,
  answer: 'unavailable',
  metric,
})

export const UPSTREAM_FAILURES: Readonly<Record<UpstreamFailureKind, UpstreamFailureRule>> = {
  throttled: transient('UpstreamThrottled'),
  'server-error': transient('UpstreamServerError'),
  timeout: transient('UpstreamTimeout'),
  network: transient('UpstreamOtherError'),
  'malformed-response': transient('UpstreamOtherError'),
  // "Signature expired" and friends: what a thawed Lambda with a skewed clock gets; the SDK retries them.
  'clock-skew': transient('UpstreamOtherError'),
  // The broker's own credentials were refused (expired token, unknown key): a deployment problem, not news
  // about the secret. A held value is kept; with none, the answer is 502.
  credentials: { keepsValue: true, backsOff: true, answer: 'refused', metric: 'UpstreamOtherError' },
  'client-error': { keepsValue: true, backsOff: true, answer: 'refused', metric: 'UpstreamOtherError' },
  // The secret is gone or the broker may not read it: never papered over with a cached value.
  'not-found': { keepsValue: false, backsOff: false, answer: 'not-found', metric: 'UpstreamOtherError' },
  deleted: { keepsValue: false, backsOff: false, answer: 'not-found', metric: 'UpstreamOtherError' },
  'access-denied': { keepsValue: false, backsOff: false, answer: 'refused', metric: 'UpstreamOtherError' },
  'decryption-failure': {
    keepsValue: false,
    backsOff: false,
    answer: 'refused',
    metric: 'UpstreamOtherError',
  },
}

/** One Secrets Manager call made on behalf of a request: which, how long, how it failed. */
export interface UpstreamCall {
  readonly operation: 'DescribeSecret' | 'GetSecretValue'
  readonly durationMs: number
  readonly failure?: UpstreamFailureKind
}

/** A classified upstream failure; the calls this request made before it, for the request's metrics. */
export class UpstreamFailure extends Error {
  /** The calls made on behalf of the failing request (set by the cache); empty for joiners and back-offs. */
  upstream: readonly UpstreamCall[] = []
  /** The invalidation register calls the failing request made (set by the cache). */
  register: readonly RegisterCall[] = []
  /** Set when the request was refused during a back-off, without asking upstream. */
  retryAfterMs: number | undefined
  constructor(
    readonly kind: UpstreamFailureKind,
    options?: { cause?: unknown; retryAfterMs?: number },
  ) {
    super(`Secrets Manager ${kind}`, options?.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'UpstreamFailure'
    this.retryAfterMs = options?.retryAfterMs
  }
  get rule(): UpstreamFailureRule {
    return UPSTREAM_FAILURES[this.kind]
  }
}

/** Transient kinds: worth serving a stale value for, and retrying later. */
export class UpstreamTransientError extends UpstreamFailure {
  constructor(kind: UpstreamFailureKind, options?: { cause?: unknown; retryAfterMs?: number }) {
    super(kind, options)
    this.name = 'UpstreamTransientError'
  }
}

/** An answer that a cached value must never cover: the secret is gone, or the broker may not read it. */
export class UpstreamPermanentError extends UpstreamFailure {
  constructor(kind: UpstreamFailureKind, options?: { cause?: unknown }) {
    super(kind, options)
    this.name = 'UpstreamPermanentError'
  }
}

/** The class a kind belongs to: evicting kinds are permanent, the others transient. */
export function upstreamFailure(kind: UpstreamFailureKind, cause?: unknown): UpstreamFailure {
  const opts = cause === undefined ? undefined : { cause }
  return UPSTREAM_FAILURES[kind].keepsValue
    ? new UpstreamTransientError(kind, opts)
    : new UpstreamPermanentError(kind, opts)
}

/** Answers about the request's time, which a retry with a corrected clock fixes (the SDK's own list, less AccessDenied). */
const CLOCK_SKEW_ERRORS = new Set(['RequestExpired', 'RequestInTheFuture', 'RequestTimeTooSkewed'])
const CREDENTIAL_ERRORS = new Set([
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'AuthFailure',
  'ExpiredTokenException',
  'ExpiredToken',
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'IncompleteSignature',
  'MissingAuthenticationToken',
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
  'ENETUNREACH',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
])

interface SdkErrorShape {
  name?: string
  code?: string
  message?: string
  $metadata?: { httpStatusCode?: number }
  $fault?: string
  $retryable?: { throttling?: boolean }
}

/**
 * The kind of any error a Secrets Manager call threw, from its name, code and status (and, like the SDK, the
 * words "Signature expired"); a message is never copied anywhere.
 */
export function classifyUpstreamKind(err: unknown): UpstreamFailureKind {
  const e = (typeof err === 'object' && err !== null ? err : {}) as SdkErrorShape
  const name = e.name ?? ''
  const status = e.$metadata?.httpStatusCode
  // The broker's rules first: these answers are about the secret itself.
  if (name === 'ResourceNotFoundException') return 'not-found'
  if (name === 'InvalidRequestException') return 'deleted' // e.g. the secret is marked for deletion
  if (name === 'DecryptionFailure' || name.startsWith('KMS')) return 'decryption-failure'
  if (name === 'AccessDeniedException' || name === 'AccessDenied') return 'access-denied'
  const sdk = e as Parameters<typeof isThrottlingError>[0]
  // "Signature expired": what a thawed Lambda with a skewed clock gets (the SDK retries it as transient).
  const expired = name === 'InvalidSignatureException' && e.message?.includes('Signature expired') === true
  if (expired || CLOCK_SKEW_ERRORS.has(name) || isClockSkewCorrectedError(sdk)) return 'clock-skew'
  if (CREDENTIAL_ERRORS.has(name)) return 'credentials'
  // Then the SDK's own classification of what is worth retrying.
  if (TIMEOUTS.has(name)) return 'timeout'
  if (isThrottlingError(sdk)) return 'throttled'
  if (e.code !== undefined && NETWORK_CODES.has(e.code)) return e.code === 'ETIMEDOUT' ? 'timeout' : 'network'
  // A response the SDK could not parse (a proxy's HTML page, a truncated body); moto answers a Deny this way.
  if (err instanceof SyntaxError || name === 'SyntaxError')
    return status === 403 ? 'access-denied' : 'malformed-response'
  if (status === 403) return 'access-denied'
  if ((status !== undefined && status >= 500) || e.$fault === 'server' || name === 'InternalServiceError')
    return 'server-error'
  if (isTransientError(sdk)) return 'network'
  if (status !== undefined && status >= 400) return 'client-error'
  return 'network'
}

export function classifyUpstreamError(err: unknown): UpstreamFailure {
  return upstreamFailure(classifyUpstreamKind(err), err)
}
