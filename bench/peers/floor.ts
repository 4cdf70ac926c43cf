import middy from '@middy/core'
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda'
import { JSON_HEADERS, writeAccessLine } from './access-line'

/** The floor: a bare middy handler that writes one log line and returns a constant body. */
const BODY = JSON.stringify({ status: 'ok' })

export const handler = middy<APIGatewayProxyEvent, APIGatewayProxyResult>().handler((event) => {
  const startedAt = Date.now()
  writeAccessLine(event, 200, startedAt)
  return Promise.resolve({ statusCode: 200, headers: JSON_HEADERS, body: BODY })
})
