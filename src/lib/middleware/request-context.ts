import type { MiddlewareObj } from '@middy/core'
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda'
import type { Clock } from '../clock'
import { SIGV4_QUERY_PARAMETERS } from '../auth/sigv4-auth'
import { lazyChild, type Log } from '../logger'
import type { BrokerContext, BrokerRequest } from './http-types'

export type BrokerLambdaContext = Context & { broker?: BrokerContext }
export type HttpMiddleware = MiddlewareObj<
  APIGatewayProxyEvent,
  APIGatewayProxyResult,
  Error,
  BrokerLambdaContext
>

/** The request's BrokerContext, created by `requestContext()`. */
export function brokerContext(context: BrokerLambdaContext): BrokerContext {
  if (context.broker === undefined) throw new Error('requestContext() middleware has not run')
  return context.broker
}

export function normaliseEvent(event: APIGatewayProxyEvent, context: Context, now: number): BrokerRequest {
  const headers: Record<string, string> = {}
  for (const [k, v] of Object.entries(event.headers ?? {}))
    if (typeof v === 'string') headers[k.toLowerCase()] = v
  const query: Record<string, string | string[]> = {}
  const multi = event.multiValueQueryStringParameters ?? {}
  for (const [k, v] of Object.entries(event.queryStringParameters ?? {}))
    if (typeof v === 'string' && !SIGV4_QUERY_PARAMETERS.includes(k)) query[k] = v
  for (const [k, v] of Object.entries(multi))
    if (Array.isArray(v) && v.length > 1 && !SIGV4_QUERY_PARAMETERS.includes(k)) query[k] = v
  const rawBody = event.body ?? undefined
  const body =
    rawBody === undefined || rawBody === null
      ? undefined
      : event.isBase64Encoded
        ? Buffer.from(rawBody, 'base64').toString('utf8')
        : rawBody
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
    rawHeaders: rawHeadersOf(event),
    rawQuery: rawQueryOf(event),
    body,
    bodyBytes: body === undefined ? 0 : Buffer.byteLength(body),
    sourceIp: rc?.identity?.sourceIp ?? undefined,
    userAgent: rc?.identity?.userAgent ?? headers['user-agent'],
    receivedAt: now,
  }
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

/** First in the stack: normalises the event and gives the request its context and request-scoped logger. */
export function requestContext(opts: { clock: Clock; log: Log }): HttpMiddleware {
  return {
    before: (request) => {
      const req = normaliseEvent(request.event, request.context, opts.clock.now())
      request.context.broker = {
        req,
        caller: undefined,
        audit: {},
        log: lazyChild(opts.log, { requestId: req.requestId, route: req.route }),
      }
    },
  }
}
