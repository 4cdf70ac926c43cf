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
  return {
    statusCode: result.status,
    headers: {
      ...(result.status === 304 ? {} : { 'Content-Type': 'application/json' }),
      ...baseHeaders(requestId),
      ...result.headers,
    },
    body,
  }
}

export function respondWithProblem(requestId: string, err: unknown): APIGatewayProxyResult {
  const { problem, headers } = problemFor(err)
  return {
    statusCode: problem.status,
    headers: { 'Content-Type': 'application/problem+json', ...baseHeaders(requestId), ...headers },
    body: JSON.stringify(problem),
  }
}
