import type { APIGatewayProxyEvent, Context } from 'aws-lambda'

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
  readonly query: Readonly<Record<string, string | string[]>>
  /** Lower-cased names; a header sent on several lines is its lines joined with ", ". */
  readonly headers: Readonly<Record<string, string>>
  /** Lower-cased names; every line of every header, in order (SigV4 needs the lines as they came). */
  readonly multiValueHeaders: Readonly<Record<string, readonly string[]>>
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

/** Lower-cased names → every line of the header, in order. */
function headerLines(event: APIGatewayProxyEvent): Record<string, string[]> {
  const multi = Object.create(null) as Record<string, string[]>
  for (const [k, v] of Object.entries(event.multiValueHeaders ?? {})) {
    if (Array.isArray(v) && v.length > 0) (multi[k.toLowerCase()] ??= []).push(...v.map(String))
  }
  for (const [k, v] of Object.entries(event.headers ?? {})) {
    if (typeof v === 'string') multi[k.toLowerCase()] ??= [v]
  }
  return multi
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
  #lines: Record<string, string[]> | undefined
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

  get multiValueHeaders(): Readonly<Record<string, readonly string[]>> {
    return (this.#lines ??= headerLines(this.#event))
  }

  get userAgent(): string | undefined {
    return this.#userAgent ?? this.headers['user-agent']
  }
}

function stringsOnly(source: Record<string, string | undefined> | null | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  if (source === null || source === undefined) return out
  for (const k in source) {
    const v = source[k]
    if (typeof v === 'string') out[k] = v
  }
  return out
}

function queryOf(event: APIGatewayProxyEvent): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = stringsOnly(event.queryStringParameters)
  const multi = event.multiValueQueryStringParameters
  if (multi !== null && multi !== undefined)
    for (const [k, v] of Object.entries(multi)) if (Array.isArray(v) && v.length > 1) query[k] = v
  return query
}

export function normaliseEvent(event: APIGatewayProxyEvent, context: Context, now: number): BrokerRequest {
  return new EventRequest(event, context, now)
}
