import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import middy from '@middy/core'
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda'
import { JSON_HEADERS, requiredEnv, writeAccessLine } from './access-line'

/** No cache: GetSecretValue (AWSCURRENT) on every request, the value parsed and served, one log line. */
const SECRET_ID = requiredEnv('BENCH_SECRET_ID')
const SECRET_NAME = requiredEnv('BENCH_SECRET_NAME')
const client = new SecretsManagerClient({})

export const handler = middy<APIGatewayProxyEvent, APIGatewayProxyResult>().handler(async (event) => {
  const startedAt = Date.now()
  const out = await client.send(
    new GetSecretValueCommand({ SecretId: SECRET_ID, VersionStage: 'AWSCURRENT' }),
  )
  const value: unknown = JSON.parse(out.SecretString ?? 'null')
  writeAccessLine(event, 200, startedAt, out.VersionId)
  return { statusCode: 200, headers: JSON_HEADERS, body: JSON.stringify({ name: SECRET_NAME, value }) }
})
