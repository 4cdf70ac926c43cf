import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import { NodeHttpHandler } from '@smithy/node-http-handler'

/**
 * The only place an AWS SDK client is constructed (Secrets Manager; DynamoDB for the invalidation register). Timeouts and attempts are bounded so no request can run
 * past the Lambda's own timeout: worst case ≈ maxAttempts × (connect + request timeout) + backoff.
 * The endpoint comes from the SDK's own AWS_ENDPOINT_URL* variables unless a caller passes one (tests).
 */
export interface SecretsManagerClientOptions {
  readonly region: string
  readonly requestTimeoutMs: number
  readonly maxAttempts: number
  readonly endpoint?: string
  readonly credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }
}

export function createSecretsManagerClient(opts: SecretsManagerClientOptions): SecretsManagerClient {
  return new SecretsManagerClient({
    region: opts.region,
    maxAttempts: opts.maxAttempts,
    retryMode: 'standard',
    requestHandler: new NodeHttpHandler({
      connectionTimeout: Math.min(1000, opts.requestTimeoutMs),
      requestTimeout: opts.requestTimeoutMs,
      // Without this, node-http-handler 4.x only logs a warning when requestTimeout passes and the call hangs on.
      throwOnRequestTimeout: true,
    }),
    ...(opts.endpoint === undefined ? {} : { endpoint: opts.endpoint }),
    ...(opts.credentials === undefined ? {} : { credentials: opts.credentials }),
  })
}

export type DynamoDbClientOptions = SecretsManagerClientOptions

/**
 * The invalidation register's client. The endpoint comes from AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL
 * (the local stack points them at the emulator) unless a caller passes one.
 */
export function createDynamoDbClient(opts: DynamoDbClientOptions): DynamoDBClient {
  return new DynamoDBClient({
    region: opts.region,
    maxAttempts: opts.maxAttempts,
    retryMode: 'standard',
    requestHandler: new NodeHttpHandler({
      connectionTimeout: Math.min(1000, opts.requestTimeoutMs),
      requestTimeout: opts.requestTimeoutMs,
      throwOnRequestTimeout: true,
    }),
    ...(opts.endpoint === undefined ? {} : { endpoint: opts.endpoint }),
    ...(opts.credentials === undefined ? {} : { credentials: opts.credentials }),
  })
}
