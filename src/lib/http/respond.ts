import type { APIGatewayProxyResult } from 'aws-lambda'
import { problemFor } from './problem'
import type { RouteResult } from './route'

/**
 * The API Gateway result for a route's answer or an error. Every response carries the same protective
 * headers; errors become RFC 9457 problem documents whose bodies depend only on the error kind. A 304 has
 * no body, so it carries no Content-Type either.
 */
function baseHeaders(requestId: string): Record<string, string> {
  return {
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    'Strict-Transport-Security': 'max-age=31536000',
    'X-Request-Id': requestId,
  }
}

export function respond(requestId: string, result: RouteResult): APIGatewayProxyResult {
  const body = result.bodyText ?? (result.body === undefined ? '' : JSON.stringify(result.body))
  const headers = baseHeaders(requestId)
  if (result.status !== 304) headers['Content-Type'] = 'application/json'
  if (result.headers !== undefined) for (const k in result.headers) headers[k] = result.headers[k] as string
  return { statusCode: result.status, headers, body }
}

export function respondWithProblem(requestId: string, err: unknown): APIGatewayProxyResult {
  const { problem, headers } = problemFor(err)
  return {
    statusCode: problem.status,
    headers: { 'Content-Type': 'application/problem+json', ...baseHeaders(requestId), ...headers },
    body: JSON.stringify(problem),
  }
}
