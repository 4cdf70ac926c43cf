import { getSecret } from '@aws-lambda-powertools/parameters/secrets'
import middy from '@middy/core'
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda'
import { JSON_HEADERS, requiredEnv, secondsFromEnv, writeAccessLine } from './access-line'

/**
 * What a service would write instead of calling the broker, with Powertools: `getSecret` (its default
 * provider and client, cached in the container for `maxAge`), JSON-parsed once by the library, one log line.
 * BENCH_MAX_AGE_SECONDS: 300 for the latency run; `default` leaves Powertools' own default (5 s).
 */
const SECRET_ID = requiredEnv('BENCH_SECRET_ID')
const SECRET_NAME = requiredEnv('BENCH_SECRET_NAME')
const maxAge = secondsFromEnv('BENCH_MAX_AGE_SECONDS')

export const handler = middy<APIGatewayProxyEvent, APIGatewayProxyResult>().handler(async (event) => {
  const startedAt = Date.now()
  const value =
    maxAge === undefined
      ? await getSecret(SECRET_ID, { transform: 'json' })
      : await getSecret(SECRET_ID, { transform: 'json', maxAge })
  writeAccessLine(event, 200, startedAt)
  return { statusCode: 200, headers: JSON_HEADERS, body: JSON.stringify({ name: SECRET_NAME, value }) }
})
