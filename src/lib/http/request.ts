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

function lowerCaseHeaders(event: APIGatewayProxyEvent): {
  headers: Record<string, string>
  multi: Record<string, string[]>
} {
  // Null-prototype maps: a header named "constructor" or "__proto__" is just a header.
  const multi = Object.create(null) as Record<string, string[]>
  for (const [k, v] of Object.entries(event.multiValueHeaders ?? {})) {
    if (Array.isArray(v) && v.length > 0) (multi[k.toLowerCase()] ??= []).push(...v.map(String))
  }
  const headers = Object.create(null) as Record<string, string>
  for (const [k, v] of Object.entries(event.headers ?? {})) {
    if (typeof v !== 'string') continue
    const name = k.toLowerCase()
    const lines = multi[name]
    if (lines === undefined) multi[name] = [v]
    headers[name] = lines === undefined ? v : lines.join(', ')
  }
  for (const [name, lines] of Object.entries(multi)) headers[name] ??= lines.join(', ')
  return { headers, multi }
}

function decodeBody(event: APIGatewayProxyEvent): string | undefined {
  const raw = event.body ?? undefined
  if (raw === undefined || raw === null) return undefined
  return event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw
}

export function normaliseEvent(event: APIGatewayProxyEvent, context: Context, now: number): BrokerRequest {
  const { headers, multi } = lowerCaseHeaders(event)
  const query: Record<string, string | string[]> = {}
  for (const [k, v] of Object.entries(event.queryStringParameters ?? {}))
    if (typeof v === 'string') query[k] = v
  for (const [k, v] of Object.entries(event.multiValueQueryStringParameters ?? {}))
    if (Array.isArray(v) && v.length > 1) query[k] = v
  const body = decodeBody(event)
  const pathParameters: Record<string, string> = {}
  for (const [k, v] of Object.entries(event.pathParameters ?? {}))
    if (typeof v === 'string') pathParameters[k] = v
  const rc = event.requestContext as APIGatewayProxyEvent['requestContext'] | undefined
  return {
    requestId: rc?.requestId ?? context.awsRequestId,
    method: (event.httpMethod ?? 'GET').toUpperCase(),
    route: event.resource ?? rc?.resourcePath ?? 'unknown',
    path: event.path ?? '/',
    pathParameters,
    query,
    headers,
    multiValueHeaders: multi,
    body,
    bodyBytes: body === undefined ? 0 : Buffer.byteLength(body),
    sourceIp: rc?.identity?.sourceIp ?? undefined,
    userAgent: rc?.identity?.userAgent ?? headers['user-agent'],
    receivedAt: now,
  }
}
