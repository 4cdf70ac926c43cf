import middy from '@middy/core'
import secretsManager from '@middy/secrets-manager'
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda'
import { JSON_HEADERS, requiredEnv, secondsFromEnv, writeAccessLine } from './access-line'

/**
 * The same service with @middy/secrets-manager: the secret is fetched by the middleware (prefetched at
 * import, as by default), JSON-parsed once, put on the context, and refreshed by middy's own timer every
 * `cacheExpiry`. BENCH_CACHE_EXPIRY_SECONDS: 300 for the latency run; `default` leaves middy's own
 * default (-1: fetched once, kept for the life of the container).
 */
const SECRET_ID = requiredEnv('BENCH_SECRET_ID')
const SECRET_NAME = requiredEnv('BENCH_SECRET_NAME')
const expirySeconds = secondsFromEnv('BENCH_CACHE_EXPIRY_SECONDS')

type SecretContext = Context & { benchSecret?: unknown }

export const handler = middy<APIGatewayProxyEvent, APIGatewayProxyResult, Error, SecretContext>()
  .use(
    secretsManager({
      fetchData: { benchSecret: SECRET_ID },
      setToContext: true,
      ...(expirySeconds === undefined ? {} : { cacheExpiry: expirySeconds * 1000 }),
    }),
  )
  .handler((event, context) => {
    const startedAt = Date.now()
    writeAccessLine(event, 200, startedAt)
    return Promise.resolve({
      statusCode: 200,
      headers: JSON_HEADERS,
      body: JSON.stringify({ name: SECRET_NAME, value: context.benchSecret }),
    })
  })
