import type { APIGatewayProxyEvent, Context } from 'aws-lambda'
import { SIGV4_QUERY_PARAMETERS } from '../auth/sigv4-auth'

/**
 * A request as the broker's logic sees it, normalised once from the API Gateway event. Headers arrive the way
 * API Gateway delivers them: a header sent on several lines is in `multiValueHeaders` with every line (and in
 * `headers` with only its last), so each header here is all its lines joined as HTTP defines a list
 * (`, `). serverless-offline joins them itself in `headers`; reading `multiValueHeaders` first makes the
 * local stage behave as the deployed one.
 */
export interface BrokerRequest {
  readonly requestId: string
  readonly method: string
  /** The API route template (`/secrets/{name+}`), for audit and metrics: bounded cardinality. */
  readonly route: string
  /** The raw request path as received (used for SigV4 and to refuse percent-encoding). */
  readonly path: string
  readonly pathParameters: Readonly<Record<string, string>>
  /** The route's query parameters: a presigned request's `X-Amz-*` authentication parameters are not among them. */
  readonly query: Readonly<Record<string, string | string[]>>
  /** Lower-cased names; a header sent on several lines is its lines joined with ", ". */
  readonly headers: Readonly<Record<string, string>>
  /** One header (lower-case name) as `headers` has it, without building `headers`. */
  header(name: string): string | undefined
  /** Every header line as received (lower-cased name → values in arrival order), for SigV4. */
  readonly rawHeaders: ReadonlyMap<string, readonly string[]>
  /** Every query parameter as received (decoded, in order, authentication parameters included), for SigV4. */
  readonly rawQuery: readonly (readonly [string, string])[]
  readonly body: string | undefined
  readonly bodyBytes: number
  readonly sourceIp: string | undefined
  readonly userAgent: string | undefined
  readonly receivedAt: number
}

/** Lower-cased names → all lines joined with ", ", from multiValueHeaders (every line) and headers (the rest). */
function joinedHeaders(event: APIGatewayProxyEvent): Record<string, string> {
  // Null-prototype: a header named "constructor" or "__proto__" is just a header.
  const headers = Object.create(null) as Record<string, string>
  const multi = event.multiValueHeaders
  if (multi !== null && multi !== undefined) {
    for (const k in multi) {
      const lines = multi[k]
      if (!Array.isArray(lines) || lines.length === 0) continue
      const name = k.toLowerCase()
      const joined = lines.length === 1 ? String(lines[0]) : lines.map(String).join(', ')
      const seen = headers[name]
      headers[name] = seen === undefined ? joined : `${seen}, ${joined}`
    }
  }
  const single = event.headers
  if (single !== null && single !== undefined) {
    for (const k in single) {
      const v = single[k]
      if (typeof v !== 'string') continue
      const name = k.toLowerCase()
      headers[name] ??= v
    }
  }
  return headers
}

/**
 * Repeated headers as SigV4 needs them: API Gateway and serverless-offline deliver every copy in
 * `multiValueHeaders` (names as sent, so `X-A` and `x-a` are merged here), while `headers` keeps one.
 * A name only in `headers` (hand-built events) counts with its one value.
 */
function rawHeadersOf(event: APIGatewayProxyEvent): Map<string, string[]> {
  const raw = new Map<string, string[]>()
  for (const [k, values] of Object.entries(event.multiValueHeaders ?? {})) {
    if (!Array.isArray(values)) continue
    const name = k.toLowerCase()
    raw.set(name, [...(raw.get(name) ?? []), ...values.filter((v) => typeof v === 'string')])
  }
  for (const [k, v] of Object.entries(event.headers ?? {}))
    if (typeof v === 'string' && !raw.has(k.toLowerCase())) raw.set(k.toLowerCase(), [v])
  return raw
}

/** Every query parameter in order, from `multiValueQueryStringParameters` (own keys, `__proto__` included). */
function rawQueryOf(event: APIGatewayProxyEvent): [string, string][] {
  const pairs: [string, string][] = []
  const multi = event.multiValueQueryStringParameters ?? {}
  for (const [k, values] of Object.entries(multi))
    if (Array.isArray(values)) for (const v of values) if (typeof v === 'string') pairs.push([k, v])
  for (const [k, v] of Object.entries(event.queryStringParameters ?? {}))
    if (typeof v === 'string' && !Object.hasOwn(multi, k)) pairs.push([k, v])
  return pairs
}

function decodeBody(event: APIGatewayProxyEvent): string | undefined {
  const raw = event.body ?? undefined
  if (raw === undefined || raw === null) return undefined
  return event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw
}

/**
 * The request behind a BrokerRequest. Headers are normalised on first use: a cache hit reads two of them, and
 * normalising every header of every request costs more than the rest of the hit.
 */
class EventRequest implements BrokerRequest {
  readonly requestId: string
  readonly method: string
  readonly route: string
  readonly path: string
  readonly pathParameters: Readonly<Record<string, string>>
  readonly query: Readonly<Record<string, string | string[]>>
  readonly body: string | undefined
  readonly bodyBytes: number
  readonly sourceIp: string | undefined
  readonly receivedAt: number
  readonly #event: APIGatewayProxyEvent
  #headers: Record<string, string> | undefined
  #rawHeaders: Map<string, string[]> | undefined
  #rawQuery: [string, string][] | undefined
  readonly #userAgent: string | undefined

  constructor(event: APIGatewayProxyEvent, context: Context, now: number) {
    this.#event = event
    const rc = event.requestContext as APIGatewayProxyEvent['requestContext'] | undefined
    this.requestId = rc?.requestId ?? context.awsRequestId
    this.method = (event.httpMethod ?? 'GET').toUpperCase()
    this.route = event.resource ?? rc?.resourcePath ?? 'unknown'
    this.path = event.path ?? '/'
    this.pathParameters = stringsOnly(event.pathParameters)
    this.query = queryOf(event)
    this.body = decodeBody(event)
    this.bodyBytes = this.body === undefined ? 0 : Buffer.byteLength(this.body)
    this.sourceIp = rc?.identity?.sourceIp ?? undefined
    this.#userAgent = rc?.identity?.userAgent ?? undefined
    this.receivedAt = now
  }

  get headers(): Readonly<Record<string, string>> {
    return (this.#headers ??= joinedHeaders(this.#event))
  }

  header(name: string): string | undefined {
    if (this.#headers !== undefined) return this.#headers[name]
    // The common case, a header sent once (or not at all), without normalising every other header.
    let found: string | undefined
    let lines = 0
    const multi = this.#event.multiValueHeaders
    if (multi !== null && multi !== undefined) {
      for (const k in multi) {
        if (k.length !== name.length || k.toLowerCase() !== name) continue
        const v = multi[k]
        if (!Array.isArray(v)) continue
        lines += v.length
        found = v[0]
      }
    }
    if (lines > 1) return this.headers[name] // several lines: joined as `headers` joins them
    if (found !== undefined) return found
    const single = this.#event.headers
    if (single !== null && single !== undefined)
      for (const k in single)
        if (k.length === name.length && k.toLowerCase() === name) return single[k] ?? undefined
    return undefined
  }

  get rawHeaders(): ReadonlyMap<string, readonly string[]> {
    return (this.#rawHeaders ??= rawHeadersOf(this.#event))
  }

  get rawQuery(): readonly (readonly [string, string])[] {
    return (this.#rawQuery ??= rawQueryOf(this.#event))
  }

  get userAgent(): string | undefined {
    return this.#userAgent ?? this.header('user-agent')
  }
}

const NONE: Readonly<Record<string, string>> = Object.freeze(Object.create(null) as Record<string, string>)

function stringsOnly(source: Record<string, string | undefined> | null | undefined): Record<string, string> {
  if (source === null || source === undefined) return NONE
  const out: Record<string, string> = {}
  for (const k in source) {
    const v = source[k]
    if (typeof v === 'string') out[k] = v
  }
  return out
}

/** The route's query (null-prototype: `__proto__` is just a parameter), without SigV4's own parameters. */
function queryOf(event: APIGatewayProxyEvent): Readonly<Record<string, string | string[]>> {
  const single = event.queryStringParameters
  if ((single === null || single === undefined) && (event.multiValueQueryStringParameters ?? null) === null)
    return NONE
  const query = Object.create(null) as Record<string, string | string[]>
  if (single !== null && single !== undefined)
    for (const [k, v] of Object.entries(single))
      if (typeof v === 'string' && !SIGV4_QUERY_PARAMETERS.includes(k)) query[k] = v
  const multi = event.multiValueQueryStringParameters
  if (multi !== null && multi !== undefined)
    for (const [k, v] of Object.entries(multi))
      if (Array.isArray(v) && v.length > 1 && !SIGV4_QUERY_PARAMETERS.includes(k)) query[k] = v
  return query
}

export function normaliseEvent(event: APIGatewayProxyEvent, context: Context, now: number): BrokerRequest {
  return new EventRequest(event, context, now)
}
