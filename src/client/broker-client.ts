import { fromNodeProviderChain } from '@aws-sdk/credential-providers'
// The grammar module is dependency-free; the client shares it so both sides refuse the same names.
import { checkSecretName } from '../contract/secret-name'
import {
  AccessDeniedError,
  asProblem,
  clientProblemType,
  errorForProblem,
  InvalidResponseError,
  InvalidSecretNameError,
  NotFoundError,
  type BrokerClientError,
} from './client-errors'
import {
  createSignedTransport,
  type BrokerClientLogger,
  type BrokerCredentials,
  type BrokerCredentialsProvider,
  type FetchLike,
  type Transport,
  type TransportResponse,
} from './signed-transport'

/** Defaults for {@link BrokerClientOptions}. */
export const DEFAULT_TTL_MS = 60_000
export const DEFAULT_TIMEOUT_MS = 5_000
export const DEFAULT_MAX_RETRIES = 2
export const DEFAULT_REFRESH_MIN_INTERVAL_MS = 10_000
export const DEFAULT_RETRY_BASE_DELAY_MS = 100
export const DEFAULT_RETRY_MAX_DELAY_MS = 2_000
export const DEFAULT_MAX_RETRY_AFTER_MS = 5_000

export interface BrokerClientOptions {
  /** The API's base URL, with the stage for API Gateway: `https://abc123.execute-api.eu-west-1.amazonaws.com/prod`. */
  readonly endpoint: string
  /** The region the API lives in (the SigV4 scope). */
  readonly region: string
  /** Default: the standard AWS credential chain (env, SSO, profile, web identity, ECS/EC2 roles). */
  readonly credentials?: BrokerCredentials | BrokerCredentialsProvider
  /** How long a value is used before it is revalidated with If-None-Match. Default 60 000. */
  readonly ttlMs?: number
  /** Per attempt. Default 5 000. */
  readonly timeoutMs?: number
  /** Retries after the first attempt for transient failures (network, timeout, 502, 503, 504). Default 2. */
  readonly maxRetries?: number
  /** `refresh(name)` sends at most one forced revalidation per name in this interval. Default 10 000. */
  readonly refreshMinIntervalMs?: number
  /** Full-jitter backoff: base and cap of the random delay between attempts. Defaults 100 and 2 000. */
  readonly retryBaseDelayMs?: number
  readonly retryMaxDelayMs?: number
  /** A 503's Retry-After is honoured up to this; a longer one is returned to the caller at once. Default 5 000. */
  readonly maxRetryAfterMs?: number
  readonly fetch?: FetchLike
  /** Only for TTL and refresh bookkeeping; signatures always use the real time. */
  readonly clock?: { now(): number }
  readonly logger?: BrokerClientLogger
  readonly random?: () => number
  readonly sleep?: (ms: number) => Promise<void>
}

export interface CallerIdentity {
  readonly principalArn: string
  readonly accountId: string
  readonly type: string
  readonly sessionName?: string
  readonly authenticatedBy: string
}

/** A secret as the broker served it. `value` is the parsed JSON, the raw string, or base64 for a binary secret. */
export interface BrokerSecret<T = unknown> {
  readonly name: string
  readonly versionId: string
  readonly createdDate: string | undefined
  readonly value: T
  readonly valueEncoding: 'base64' | undefined
}

export type BatchGetResult<T = unknown> =
  | (BrokerSecret<T> & { readonly ok: true; readonly status: 200; readonly cache: string | undefined })
  | { readonly ok: false; readonly name: string; readonly status: number; readonly error: BrokerClientError }

export interface BrokerClient {
  /**
   * The secret's value: from memory while younger than the TTL, otherwise revalidated with If-None-Match
   * (a 304 keeps the value and restarts the TTL). Concurrent calls for one name share one request.
   */
  getSecret<T = unknown>(name: string): Promise<T>
  /** Like getSecret, with the version id and creation date. */
  getSecretEntry<T = unknown>(name: string): Promise<BrokerSecret<T>>
  /**
   * Forces a revalidation (`Cache-Control: no-cache`, so the broker asks Secrets Manager too): call it when
   * a credential from this secret was just refused. At most once per `refreshMinIntervalMs` per name; within
   * that interval it answers from memory without a request.
   */
  refresh<T = unknown>(name: string): Promise<T>
  whoami(): Promise<CallerIdentity>
  /** The names this caller may read. */
  listSecrets(): Promise<string[]>
  /** Up to 20 names in one request; each result succeeds or fails on its own. Successes are cached. */
  batchGet<T = unknown>(names: readonly string[]): Promise<BatchGetResult<T>[]>
  /** Forgets every cached value (and the refresh bookkeeping). */
  clear(): void
}

interface Entry {
  readonly secret: BrokerSecret
  readonly validatedAt: number
}

/**
 * A client for one broker endpoint. It holds the last value per secret name in memory, so create one per
 * process and share it. Nothing runs in the background: no timers, no sockets held by the client itself.
 *
 * @throws TypeError or RangeError for an unusable endpoint or option (at once, not on first use).
 *
 * @example
 * ```ts
 * const broker = createBrokerClient({
 *   endpoint: 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod',
 *   region: 'eu-west-1',
 *   ttlMs: 5 * 60_000, // revalidated (If-None-Match, usually a bodiless 304) at most every 5 minutes
 * })
 * const { username, password } = await broker.getSecret<{ username: string; password: string }>('orders/db')
 * ```
 */
export function createBrokerClient(options: BrokerClientOptions): BrokerClient {
  const endpoint = parseEndpoint(options.endpoint)
  if (options.region.trim() === '') throw new TypeError('createBrokerClient: region is required')
  const ttlMs = nonNegative('ttlMs', options.ttlMs ?? DEFAULT_TTL_MS)
  const refreshMinIntervalMs = nonNegative(
    'refreshMinIntervalMs',
    options.refreshMinIntervalMs ?? DEFAULT_REFRESH_MIN_INTERVAL_MS,
  )
  const clock = options.clock ?? { now: () => Date.now() }
  const transport: Transport = createSignedTransport({
    endpoint,
    region: options.region,
    credentials: options.credentials ?? lazyDefaultCredentials(),
    timeoutMs: positive('timeoutMs', options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
    maxRetries: nonNegative('maxRetries', options.maxRetries ?? DEFAULT_MAX_RETRIES),
    retryBaseDelayMs: nonNegative(
      'retryBaseDelayMs',
      options.retryBaseDelayMs ?? DEFAULT_RETRY_BASE_DELAY_MS,
    ),
    retryMaxDelayMs: nonNegative('retryMaxDelayMs', options.retryMaxDelayMs ?? DEFAULT_RETRY_MAX_DELAY_MS),
    maxRetryAfterMs: nonNegative('maxRetryAfterMs', options.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS),
    fetch: options.fetch ?? ((input, init) => fetch(input, init)),
    logger: options.logger ?? { debug: () => undefined, warn: () => undefined },
    random: options.random ?? Math.random,
    sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
  })

  const entries = new Map<string, Entry>()
  const inflight = new Map<string, { readonly promise: Promise<Entry>; readonly forced: boolean }>()
  const lastForcedAt = new Map<string, number>()

  function load(name: string, forced: boolean): Promise<Entry> {
    const running = inflight.get(name)
    // A forced revalidation answers plain callers too; a plain one cannot stand in for a forced one.
    if (running !== undefined && (running.forced || !forced)) return running.promise
    const promise: Promise<Entry> = revalidate(name, forced).finally(() => {
      if (inflight.get(name)?.promise === promise) inflight.delete(name)
    })
    inflight.set(name, { promise, forced })
    return promise
  }

  async function revalidate(name: string, forced: boolean): Promise<Entry> {
    const cached = entries.get(name)
    const headers: Record<string, string> = {}
    if (cached !== undefined) headers['if-none-match'] = `"${cached.secret.versionId}"`
    // fetch (per the Fetch standard) adds `Cache-Control: no-cache` to any request carrying If-None-Match
    // unless one is set, which would turn every TTL revalidation into a forced one that reaches Secrets
    // Manager and spends the broker's per-secret refresh budget. `no-transform` says nothing about freshness.
    headers['cache-control'] = forced ? 'no-cache' : 'no-transform'
    let res: TransportResponse
    try {
      res = await transport.send({ method: 'GET', path: `/secrets/${name}`, headers })
    } catch (err) {
      // Access withdrawn or secret deleted: stop serving the old value. Transient errors keep it for the next try.
      if (err instanceof NotFoundError || err instanceof AccessDeniedError) entries.delete(name)
      throw err
    }
    if (res.status === 304) {
      if (cached === undefined)
        throw invalid(res, 'The broker answered 304 to a request without If-None-Match')
      const entry = { secret: cached.secret, validatedAt: clock.now() }
      entries.set(name, entry)
      return entry
    }
    const entry = { secret: readSecret(parseJson(res), res), validatedAt: clock.now() }
    entries.set(name, entry)
    return entry
  }

  async function getSecretEntry<T>(name: string): Promise<BrokerSecret<T>> {
    checkName(name)
    const cached = entries.get(name)
    if (cached !== undefined && clock.now() - cached.validatedAt < ttlMs)
      return cached.secret as BrokerSecret<T>
    return (await load(name, false)).secret as BrokerSecret<T>
  }

  return {
    getSecretEntry,
    async getSecret<T>(name: string): Promise<T> {
      return (await getSecretEntry<T>(name)).value
    },
    async refresh<T>(name: string): Promise<T> {
      checkName(name)
      const now = clock.now()
      const last = lastForcedAt.get(name)
      if (last !== undefined && now - last < refreshMinIntervalMs) {
        const running = inflight.get(name)
        if (running?.forced === true) return (await running.promise).secret.value as T
        const cached = entries.get(name)
        if (cached !== undefined) return cached.secret.value as T
        return (await getSecretEntry<T>(name)).value
      }
      // Counted when sent, not when it succeeds: a consumer looping on failed logins must not hammer the broker.
      lastForcedAt.set(name, now)
      return (await load(name, true)).secret.value as T
    },
    async whoami() {
      const res = await transport.send({ method: 'GET', path: '/whoami' })
      const body = parseJson(res)
      if (
        !isRecord(body) ||
        typeof body['principalArn'] !== 'string' ||
        typeof body['accountId'] !== 'string'
      ) {
        throw invalid(res, 'The whoami answer does not have the expected shape')
      }
      return body as unknown as CallerIdentity
    },
    async listSecrets() {
      const res = await transport.send({ method: 'GET', path: '/secrets' })
      const body = parseJson(res)
      const names = isRecord(body) ? body['names'] : undefined
      if (!Array.isArray(names) || !names.every((n) => typeof n === 'string'))
        throw invalid(res, 'The list answer does not have the expected shape')
      return names
    },
    async batchGet<T>(names: readonly string[]): Promise<BatchGetResult<T>[]> {
      const res = await transport.send({
        method: 'POST',
        path: '/secrets:batchGet',
        body: JSON.stringify({ names }),
      })
      const body = parseJson(res)
      const results = isRecord(body) ? body['results'] : undefined
      if (!Array.isArray(results)) throw invalid(res, 'The batch answer does not have the expected shape')
      return results.map((item: unknown): BatchGetResult<T> => {
        if (!isRecord(item) || typeof item['name'] !== 'string' || typeof item['status'] !== 'number') {
          throw invalid(res, 'A batch result does not have the expected shape')
        }
        if (item['status'] === 200) {
          const secret = readSecret(item, res) as BrokerSecret<T>
          entries.set(secret.name, { secret, validatedAt: clock.now() })
          return {
            ...secret,
            ok: true,
            status: 200,
            cache: typeof item['cache'] === 'string' ? item['cache'] : undefined,
          }
        }
        const problem = asProblem(item['problem']) ?? {
          type: 'about:blank',
          title: `HTTP ${item['status']}`,
          status: item['status'],
        }
        return {
          ok: false,
          name: item['name'],
          status: item['status'],
          error: errorForProblem(problem, { requestId: res.requestId }),
        }
      })
    },
    clear() {
      entries.clear()
      lastForcedAt.clear()
    },
  }
}

function checkName(name: string): void {
  const problem = checkSecretName(name)
  if (problem === undefined) return
  throw new InvalidSecretNameError({
    status: 400,
    type: clientProblemType('invalid-secret-name'),
    title: 'Invalid secret name',
    detail: `${problem}: names are ASCII letters, digits and /_+=.@- in non-empty segments other than . and .., at most 256 characters`,
  })
}

function parseEndpoint(raw: string): URL {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new TypeError(`createBrokerClient: endpoint must be an absolute URL, got "${raw}"`)
  }
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw new TypeError('createBrokerClient: endpoint must not have a query, fragment or user info')
  }
  // Values travel in the response body: plain HTTP is only acceptable on this machine (the local stack).
  const loopback = url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]'
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new TypeError(
      'createBrokerClient: endpoint must be https (plain http only for 127.0.0.1, ::1 or localhost)',
    )
  }
  return url
}

function nonNegative(name: string, v: number): number {
  if (!Number.isFinite(v) || v < 0)
    throw new RangeError(`createBrokerClient: ${name} must be a finite number ≥ 0`)
  return v
}

function positive(name: string, v: number): number {
  if (!Number.isFinite(v) || v <= 0)
    throw new RangeError(`createBrokerClient: ${name} must be a finite number > 0`)
  return v
}

/** The credential chain is built on first use, so creating a client reads no files and no environment. */
function lazyDefaultCredentials(): BrokerCredentialsProvider {
  let provider: BrokerCredentialsProvider | undefined
  return () => {
    provider ??= fromNodeProviderChain()
    return provider()
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function invalid(res: TransportResponse, title: string): InvalidResponseError {
  return new InvalidResponseError({
    status: res.status,
    type: clientProblemType('invalid-response'),
    title,
    requestId: res.requestId,
  })
}

/** JSON.parse's message can quote the text it choked on, which may be a secret: it is dropped, not wrapped. */
function parseJson(res: TransportResponse): unknown {
  try {
    return JSON.parse(res.text)
  } catch {
    const type = res.headers.get('content-type') ?? 'no content type'
    throw invalid(res, `The broker's answer is not JSON (${res.text.length} characters, ${type})`)
  }
}

function readSecret(body: unknown, res: TransportResponse): BrokerSecret {
  if (
    !isRecord(body) ||
    typeof body['name'] !== 'string' ||
    typeof body['versionId'] !== 'string' ||
    !('value' in body)
  ) {
    throw invalid(res, 'The secret answer does not have the expected shape')
  }
  return {
    name: body['name'],
    versionId: body['versionId'],
    createdDate: typeof body['createdDate'] === 'string' ? body['createdDate'] : undefined,
    value: body['value'],
    valueEncoding: body['valueEncoding'] === 'base64' ? 'base64' : undefined,
  }
}
