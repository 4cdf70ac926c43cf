import { createHash, createHmac, type Hash } from 'node:crypto'
import type { SignatureV4 } from '@smithy/signature-v4'
import { errorForResponse } from './classify-response'
import {
  BrokerClientError,
  clientProblemType,
  InvalidResponseError,
  isRetryable,
  NetworkError,
  TimeoutError,
  UnauthenticatedError,
  UnavailableError,
} from './client-errors'

/**
 * One signed HTTP exchange with the broker, with a per-attempt timeout and bounded retries. Every attempt
 * is signed afresh (SigV4 signatures carry their time). Only transient failures are retried: no response,
 * a timeout, 502, 503 and 504. A 4xx means the request itself is wrong and is never retried, with one
 * exception the AWS SDKs make too: a signature refused because the host clock is off (the answer's `Date`
 * is 5 minutes or more away) is signed again once with the corrected time, and the offset is kept for every
 * later request. All the broker's routes are reads, so a retry cannot do anything twice.
 */
export interface BrokerCredentials {
  readonly accessKeyId: string
  readonly secretAccessKey: string
  readonly sessionToken?: string
  readonly expiration?: Date
}

/** A source of credentials, called before each signature (the AWS credential providers cache and refresh). */
export type BrokerCredentialsProvider = () => Promise<BrokerCredentials>

/** Where the client reports retries. Never given a secret value, a body or a signature. */
export interface BrokerClientLogger {
  debug(message: string, fields?: Record<string, unknown>): void
  warn(message: string, fields?: Record<string, unknown>): void
}

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>

export interface TransportOptions {
  readonly endpoint: URL
  readonly region: string
  readonly credentials: BrokerCredentials | BrokerCredentialsProvider
  readonly timeoutMs: number
  readonly maxRetries: number
  readonly retryBaseDelayMs: number
  readonly retryMaxDelayMs: number
  readonly maxRetryAfterMs: number
  readonly fetch: FetchLike
  readonly logger: BrokerClientLogger
  readonly random: () => number
  readonly sleep: (ms: number) => Promise<void>
  /** The host's clock, for signatures (before correction). */
  readonly now: () => number
}

export interface TransportRequest {
  readonly method: 'GET' | 'POST'
  /** The route, appended as is to the endpoint's path (names are never percent-encoded). */
  readonly path: string
  readonly headers?: Readonly<Record<string, string>>
  readonly body?: string
}

export interface TransportResponse {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  readonly requestId: string | undefined
}

export interface Transport {
  send(req: TransportRequest): Promise<TransportResponse>
  /** The correction applied to the host clock when signing (server time − host time), in ms; 0 until needed. */
  clockOffsetMs(): number
}

export const SIGNING_SERVICE = 'execute-api'
/** The AWS SDKs correct the clock when the server's `Date` is this far from the (corrected) host time. */
export const CLOCK_SKEW_THRESHOLD_MS = 5 * 60_000

/**
 * SHA-256 and HMAC-SHA256 for the signer from node:crypto (native, and no dependency beyond the signer).
 * The shape is @smithy/types' Checksum: `new (secret?)`, update, digest, reset.
 */
type Hmac = ReturnType<typeof createHmac>

export class NodeSha256 {
  private hash: Hash | Hmac
  constructor(private readonly secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = this.fresh()
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(toBytes(data))
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()))
  }
  reset(): void {
    this.hash = this.fresh()
  }
  private fresh(): Hash | Hmac {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', toBytes(this.secret))
  }
}

function toBytes(data: string | ArrayBuffer | ArrayBufferView): string | Uint8Array {
  if (typeof data === 'string') return data
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
  return new Uint8Array(data)
}

export function createSignedTransport(opts: TransportOptions): Transport {
  // Loaded on the first request, not on import: the signer pulls in much of @smithy/core, most of the
  // package's import time (the AWS SDK loads its credential providers lazily for the same reason).
  let signer: Promise<SignatureV4> | undefined
  const getSigner = (): Promise<SignatureV4> =>
    (signer ??= import('@smithy/signature-v4').then(
      (m) =>
        new m.SignatureV4({
          service: SIGNING_SERVICE,
          region: opts.region,
          sha256: NodeSha256,
          credentials: opts.credentials,
        }),
    ))
  const basePath = opts.endpoint.pathname.replace(/\/+$/, '')
  let clockOffsetMs = 0

  /** As the AWS SDKs do (getUpdatedSystemClockOffset): adopt the server's time when it is ≥ 5 min away. */
  function correctClock(res: Response): boolean {
    const date = res.headers.get('date')
    const server = date === null ? Number.NaN : Date.parse(date)
    if (Number.isNaN(server)) return false
    const host = opts.now()
    if (Math.abs(server - (host + clockOffsetMs)) < CLOCK_SKEW_THRESHOLD_MS) return false
    clockOffsetMs = server - host
    opts.logger.warn('secret-broker client: the host clock is off; signing with the broker’s time', {
      clockOffsetMs,
    })
    return true
  }

  async function attempt(req: TransportRequest, resigned = false): Promise<TransportResponse> {
    const url = new URL(opts.endpoint.origin + basePath + req.path)
    const headers: Record<string, string> = {
      host: url.host,
      accept: 'application/json',
      ...(req.headers ?? {}),
    }
    if (req.body !== undefined) headers['content-type'] = 'application/json'
    const signed = await (
      await getSigner()
    ).sign(
      {
        method: req.method,
        protocol: url.protocol,
        hostname: url.hostname,
        ...(url.port === '' ? {} : { port: Number(url.port) }),
        // The path as it goes on the wire: API Gateway (and the local verifier) sign over the stage prefix too.
        path: url.pathname,
        query: {},
        headers,
        ...(req.body === undefined ? {} : { body: req.body }),
      },
      { signingDate: new Date(opts.now() + clockOffsetMs) },
    )
    const sendHeaders = { ...(signed.headers as Record<string, string>) }
    // fetch derives Host from the URL (the same value that was signed) and refuses to have it set by hand.
    delete sendHeaders['host']
    let res: Response
    let text: string
    try {
      res = await opts.fetch(url.toString(), {
        method: req.method,
        headers: sendHeaders,
        ...(req.body === undefined ? {} : { body: req.body }),
        redirect: 'manual',
        signal: AbortSignal.timeout(opts.timeoutMs),
      })
      text = await res.text()
    } catch (err) {
      throw networkError(err, opts.timeoutMs)
    }
    const requestId = res.headers.get('x-request-id') ?? res.headers.get('x-amzn-requestid') ?? undefined
    const corrected = correctClock(res)
    if ((res.status >= 200 && res.status < 300) || res.status === 304)
      return { status: res.status, headers: res.headers, text, requestId }
    if (res.status >= 300 && res.status < 400) {
      throw new InvalidResponseError({
        status: res.status,
        type: clientProblemType('unexpected-redirect'),
        title: 'The broker answered with a redirect, which a signed request does not follow',
        requestId,
      })
    }
    const err = errorForResponse({
      status: res.status,
      contentType: res.headers.get('content-type') ?? undefined,
      text,
      route: `${req.method} ${url.pathname}`,
      facts: {
        requestId,
        retryAfterSeconds: parseRetryAfter(res.headers.get('retry-after')),
        amznErrorType: res.headers.get('x-amzn-errortype') ?? undefined,
      },
    })
    // A signature refused while the clock was off: sign once more with the corrected time.
    if (err instanceof UnauthenticatedError && corrected && !resigned) return attempt(req, true)
    throw err
  }

  function delayBefore(retry: number, err: BrokerClientError): number | undefined {
    // Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"): uniformly random in
    // [0, min(cap, base·2^n)), so many clients failing together do not retry together.
    const jitter = Math.floor(
      opts.random() * Math.min(opts.retryMaxDelayMs, opts.retryBaseDelayMs * 2 ** (retry - 1)),
    )
    if (err instanceof UnavailableError && err.retryAfterSeconds !== undefined) {
      const asked = err.retryAfterSeconds * 1000
      // Waiting less than the server asked is not respecting it; waiting longer belongs to the caller.
      if (asked > opts.maxRetryAfterMs) return undefined
      return asked + jitter
    }
    return jitter
  }

  return {
    async send(req) {
      for (let retry = 0; ; retry++) {
        try {
          return await attempt(req)
        } catch (err) {
          if (!(err instanceof BrokerClientError) || !isRetryable(err) || retry >= opts.maxRetries) throw err
          const delayMs = delayBefore(retry + 1, err)
          if (delayMs === undefined) throw err
          opts.logger.warn('secret-broker client: retrying', {
            method: req.method,
            route: routeOf(req.path),
            status: err.status,
            code: err.code,
            requestId: err.requestId,
            retry: retry + 1,
            delayMs,
          })
          await opts.sleep(delayMs)
        }
      }
    },
    clockOffsetMs: () => clockOffsetMs,
  }
}

/** The route without the secret name, for log lines (names are not secret, but routes group better). */
function routeOf(path: string): string {
  return path.startsWith('/secrets/') ? '/secrets/{name}' : path
}

function networkError(err: unknown, timeoutMs: number): NetworkError {
  // Duck-typed on purpose: fetch's errors may come from another realm (a test VM), where instanceof fails.
  const e = (typeof err === 'object' && err !== null ? err : {}) as { name?: unknown; cause?: unknown }
  if (e.name === 'TimeoutError' || e.name === 'AbortError') {
    return new TimeoutError({
      status: 0,
      type: clientProblemType('timeout'),
      title: `The broker did not answer within ${timeoutMs} ms`,
      cause: err,
    })
  }
  // undici reports "fetch failed" with the socket error as the cause; its code says what happened.
  const cause = (typeof e.cause === 'object' && e.cause !== null ? e.cause : {}) as { code?: unknown }
  return new NetworkError({
    status: 0,
    type: clientProblemType('network'),
    title: 'The broker could not be reached',
    detail: typeof cause.code === 'string' ? cause.code : undefined,
    cause: err,
  })
}

/** Retry-After as delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null) return undefined
  const v = value.trim()
  if (/^\d+$/.test(v)) return Number(v)
  const date = Date.parse(v)
  if (Number.isNaN(date)) return undefined
  return Math.max(0, Math.ceil((date - now) / 1000))
}
