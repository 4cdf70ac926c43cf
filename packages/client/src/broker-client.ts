import {
  BatchResponseSchema,
  ROUTES,
  SecretNamesSchema,
  ServedSecretSchema,
  WhoamiSchema,
  type CacheState,
  type Whoami,
} from '../../../src/contract/wire'
// The grammar module is dependency-free; the client shares it so both sides refuse the same names.
import { checkSecretName } from '../../../src/contract/secret-name'
import { errorForProblem } from './classify-response'
import {
  AccessDeniedError,
  clientProblemType,
  InvalidResponseError,
  InvalidSecretNameError,
  NotFoundError,
  type BrokerClientError,
} from './client-errors'
import { lazyDefaultCredentials, nonNegative, parseEndpoint, positive } from './client-options'
import { answerTree, memberNode, readServedSecret, type AnswerTree, type BrokerSecret } from './served-secret'
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
  /** Only for TTL and refresh bookkeeping; signatures use the host's time (corrected for skew, see docs). */
  readonly clock?: { now(): number }
  readonly logger?: BrokerClientLogger
  readonly random?: () => number
  readonly sleep?: (ms: number) => Promise<void>
}

/** Who the broker thinks the caller is (GET /whoami): the contract's shape. */
export type CallerIdentity = Whoami

export type { BrokerSecret }

export type BatchGetResult<T = unknown> =
  | (BrokerSecret<T> & { readonly ok: true; readonly status: 200; readonly cache: CacheState | undefined })
  | { readonly ok: false; readonly name: string; readonly status: number; readonly error: BrokerClientError }

export interface BrokerClient {
  /**
   * The secret's value: from memory while younger than the TTL, otherwise revalidated with If-None-Match
   * (a 304 keeps the value and restarts the TTL). Concurrent calls for one name share one request.
   * Integers beyond 2^53 come as `bigint`; see {@link BrokerSecret.value}.
   */
  getSecret<T = unknown>(name: string): Promise<T>
  /** Like getSecret, with the version id, creation date and the exact stored text (`secretString`). */
  getSecretEntry<T = unknown>(name: string): Promise<BrokerSecret<T>>
  /**
   * Forces a revalidation (`Cache-Control: no-cache`, so the broker asks Secrets Manager too): call it when
   * a credential from this secret was just refused. At most once per `refreshMinIntervalMs` per name; within
   * that interval it answers from memory without a request.
   */
  refresh<T = unknown>(name: string): Promise<T>
  /** Like refresh, with the version id, creation date and `secretString`. */
  refreshEntry<T = unknown>(name: string): Promise<BrokerSecret<T>>
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
 * It never goes backwards: once it holds a version, an answer carrying an older one (by `createdDate`; a
 * broker container whose cache has not seen a rotation yet) does not replace it. The one exception is a
 * forced refresh the broker answered from Secrets Manager itself, which is how a deliberate roll-back of
 * AWSCURRENT reaches a running client.
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
  const logger = options.logger ?? { debug: () => undefined, warn: () => undefined }
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
    logger,
    random: options.random ?? Math.random,
    sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    now: () => Date.now(),
  })

  const entries = new Map<string, Entry>()
  const inflight = new Map<string, { readonly promise: Promise<Entry>; readonly forced: boolean }>()
  const lastForcedAt = new Map<string, number>()

  /**
   * Stores what an answer carried, unless this client already holds a newer version. `authoritative`: the
   * broker read Secrets Manager for this answer (a forced refresh it did not rate-limit), so even an older
   * version is the truth: AWSCURRENT was moved back on purpose.
   */
  function keep(name: string, incoming: BrokerSecret, authoritative: boolean): Entry {
    const held = entries.get(name)?.secret
    const secret = held === undefined || authoritative || !isOlder(incoming, held) ? incoming : held
    if (secret !== incoming) {
      logger.debug('secret-broker client: kept the newer version it holds', {
        name,
        held: held?.versionId,
        answered: incoming.versionId,
      })
    }
    const entry = { secret, validatedAt: clock.now() }
    entries.set(name, entry)
    return entry
  }

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
    const served = ServedSecretSchema.safeParse(parseJson(res))
    const tree = answerTree(res.text)
    const secret =
      served.success && tree !== undefined ? readServedSecret(res.text, tree, served.data) : undefined
    if (secret === undefined) throw invalid(res, 'The secret answer does not have the expected shape')
    const answeredFromUpstream = ['miss', 'revalidated'].includes(res.headers.get('x-broker-cache') ?? '')
    return keep(name, secret, forced && answeredFromUpstream)
  }

  /** The entry for `name` while younger than the TTL. A cached name was checked when it was first read. */
  function fresh(name: string): Entry | undefined {
    const cached = entries.get(name)
    return cached !== undefined && clock.now() - cached.validatedAt < ttlMs ? cached : undefined
  }

  async function getSecretEntry<T>(name: string): Promise<BrokerSecret<T>> {
    const hit = fresh(name)
    if (hit !== undefined) return hit.secret as BrokerSecret<T>
    checkName(name)
    return (await load(name, false)).secret as BrokerSecret<T>
  }

  async function refreshEntry<T>(name: string): Promise<BrokerSecret<T>> {
    checkName(name)
    const now = clock.now()
    const last = lastForcedAt.get(name)
    if (last !== undefined && now - last < refreshMinIntervalMs) {
      const running = inflight.get(name)
      if (running?.forced === true) return (await running.promise).secret as BrokerSecret<T>
      const cached = entries.get(name)
      if (cached !== undefined) return cached.secret as BrokerSecret<T>
      return getSecretEntry<T>(name)
    }
    // Counted when sent, not when it succeeds: a consumer looping on failed logins must not hammer the broker.
    lastForcedAt.set(name, now)
    return (await load(name, true)).secret as BrokerSecret<T>
  }

  return {
    getSecretEntry,
    refreshEntry,
    // One async step on a cache hit: this is the call a service makes on every request.
    async getSecret<T>(name: string): Promise<T> {
      const hit = fresh(name)
      if (hit !== undefined) return hit.secret.value as T
      checkName(name)
      return (await load(name, false)).secret.value as T
    },
    async refresh<T>(name: string): Promise<T> {
      return (await refreshEntry<T>(name)).value
    },
    async whoami() {
      const res = await transport.send({ method: ROUTES.whoami.method, path: ROUTES.whoami.path })
      const who = WhoamiSchema.safeParse(parseJson(res))
      if (!who.success) throw invalid(res, 'The whoami answer does not have the expected shape')
      return who.data
    },
    async listSecrets() {
      const res = await transport.send({ method: ROUTES.listSecrets.method, path: ROUTES.listSecrets.path })
      const list = SecretNamesSchema.safeParse(parseJson(res))
      if (!list.success) throw invalid(res, 'The list answer does not have the expected shape')
      return list.data.names
    },
    async batchGet<T>(names: readonly string[]): Promise<BatchGetResult<T>[]> {
      const res = await transport.send({
        method: ROUTES.batchGetSecrets.method,
        path: ROUTES.batchGetSecrets.path,
        body: JSON.stringify({ names }),
      })
      const batch = BatchResponseSchema.safeParse(parseJson(res))
      const items = memberNode(answerTree(res.text), 'results')?.children
      if (!batch.success || items?.length !== batch.data.results.length)
        throw invalid(res, 'The batch answer does not have the expected shape')
      return batch.data.results.map((item, i): BatchGetResult<T> => {
        if ('problem' in item) {
          return {
            ok: false,
            name: item.name,
            status: item.status,
            error: errorForProblem(item.problem, { requestId: res.requestId }),
          }
        }
        const read = readServedSecret(res.text, items[i] as AnswerTree, item)
        if (read === undefined) throw invalid(res, 'A batch result does not have the expected shape')
        const { secret } = keep(item.name, read, false)
        return batchSuccess(secret as BrokerSecret<T>, item.cache)
      })
    },
    clear() {
      entries.clear()
      lastForcedAt.clear()
    },
  }
}

/** A successful batch item: the secret this client keeps (never older than one it held), with its fields. */
function batchSuccess<T>(secret: BrokerSecret<T>, cache: CacheState | undefined): BatchGetResult<T> {
  return {
    ok: true,
    status: 200,
    cache,
    name: secret.name,
    versionId: secret.versionId,
    createdDate: secret.createdDate,
    secretString: secret.secretString,
    valueEncoding: secret.valueEncoding,
    get value(): T {
      return secret.value
    },
  }
}

/** Whether `incoming` is an older version than `held`, by creation date (unknown dates never are). */
function isOlder(incoming: BrokerSecret, held: BrokerSecret): boolean {
  if (incoming.versionId === held.versionId) return false
  const a = Date.parse(incoming.createdDate ?? '')
  const b = Date.parse(held.createdDate ?? '')
  return !Number.isNaN(a) && !Number.isNaN(b) && a < b
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
