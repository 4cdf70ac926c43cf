import type { APIGatewayProxyResult } from 'aws-lambda'
import { describeError, isBrokerError } from '../errors'
import type { BrokerResponse } from './http-types'
import { problemFor } from './problem'
import { brokerContext, type HttpMiddleware } from './request-context'

/**
 * Turns the logic's BrokerResponse (or an error) into the API Gateway result. Every response carries the
 * same protective headers; errors become RFC 9457 problem documents whose bodies depend only on the error
 * kind. Unexpected errors are logged by class and code (never by message: SDK and JSON.parse messages can
 * quote a secret) and answered with a bare 500.
 */
function baseHeaders(requestId: string, contentType: string): Record<string, string> {
  return {
    'Content-Type': contentType,
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    'Strict-Transport-Security': 'max-age=31536000',
    'X-Request-Id': requestId,
  }
}

export function httpResponder(): HttpMiddleware {
  return {
    after: (request) => {
      const ctx = brokerContext(request.context)
      const res = request.response as unknown as BrokerResponse
      request.response = {
        statusCode: res.status,
        headers: { ...baseHeaders(ctx.req.requestId, 'application/json'), ...res.headers },
        body: res.body === undefined ? '' : JSON.stringify(res.body),
      } satisfies APIGatewayProxyResult
    },
    onError: (request) => {
      const ctx = request.context.broker
      const requestId = ctx?.req.requestId ?? request.context.awsRequestId
      const err = request.error
      const { problem, headers } = problemFor(err)
      if (!isBrokerError(err)) ctx?.log.error('unexpected error', describeError(err))
      else if (problem.status >= 500) ctx?.log.warn('request failed', describeError(err))
      request.response = {
        statusCode: problem.status,
        headers: { ...baseHeaders(requestId, 'application/problem+json'), ...headers },
        body: JSON.stringify(problem),
      }
    },
  }
}
