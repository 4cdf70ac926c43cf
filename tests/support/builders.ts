import type { APIGatewayProxyEvent } from 'aws-lambda'
import type { Context } from 'aws-lambda'
import type { HttpConfig } from '../../src/lib/config'
import type { RuntimeCatalogDocument } from '../../src/lib/secrets'

export const ACCOUNT = '123456789012'
export const ORDERS = `arn:aws:iam::${ACCOUNT}:role/orders-service`
export const BILLING = `arn:aws:iam::${ACCOUNT}:role/billing-service`
export const ORDERS_DB_ARN = `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:orders/db-AbCdEf`
export const BILLING_KEY_ARN = `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:billing/key-GhIjKl`

export function aCatalogDocument(overrides: Partial<RuntimeCatalogDocument> = {}): RuntimeCatalogDocument {
  return {
    secrets: [
      { name: 'orders/db', secretId: ORDERS_DB_ARN, readers: [ORDERS] },
      { name: 'billing/key', secretId: BILLING_KEY_ARN, readers: [BILLING, ORDERS] },
    ],
    ...overrides,
  }
}

export function anHttpConfig(overrides: Partial<HttpConfig> = {}): HttpConfig {
  return {
    stage: 'dev',
    region: 'us-east-1',
    accountId: ACCOUNT,
    authMode: 'iam',
    catalogJson: JSON.stringify(aCatalogDocument()),
    catalogCheckedAtBuild: false,
    cacheTtlMs: 300_000,
    cacheMaxEntries: 100,
    maxStaleMs: 900_000,
    forceRefreshMinIntervalMs: 10_000,
    maxValueAgeMs: 3_600_000,
    registerTable: undefined,
    invalidationPollMs: 2000,
    registerFallbackTtlMs: 300_000,
    upstreamTimeoutMs: 2000,
    upstreamMaxAttempts: 1,
    localConsumersSecretId: undefined,
    auditFile: undefined,
    localStackId: undefined,
    apiId: undefined,
    logLevel: 'INFO',
    ...overrides,
  }
}

let seq = 0
/** An API Gateway REST proxy event as AWS_IAM delivers it. */
export function anApiEvent(opts: {
  method?: string
  path: string
  resource?: string
  pathParameters?: Record<string, string>
  headers?: Record<string, string>
  query?: Record<string, string>
  body?: string
  userArn?: string | null
  sourceIp?: string
}): APIGatewayProxyEvent {
  seq += 1
  const userArn =
    opts.userArn === undefined
      ? ORDERS.replace(':iam::', ':sts::').replace(':role/', ':assumed-role/') + '/session-1'
      : opts.userArn
  return {
    resource: opts.resource ?? '/secrets/{name+}',
    path: opts.path,
    httpMethod: opts.method ?? 'GET',
    headers: opts.headers ?? {},
    multiValueHeaders: {},
    queryStringParameters: opts.query ?? null,
    multiValueQueryStringParameters: null,
    pathParameters: opts.pathParameters ?? null,
    stageVariables: null,
    body: opts.body ?? null,
    isBase64Encoded: false,
    requestContext: {
      requestId: `req-${seq}`,
      resourcePath: opts.resource ?? '/secrets/{name+}',
      identity: {
        userArn,
        sourceIp: opts.sourceIp ?? '10.0.0.7',
        userAgent: 'orders/1.0',
        accountId: ACCOUNT,
      },
    },
  } as unknown as APIGatewayProxyEvent
}

export function aSecretEvent(
  name: string,
  extra: Omit<Parameters<typeof anApiEvent>[0], 'path'> = {},
): APIGatewayProxyEvent {
  return anApiEvent({ path: `/secrets/${name}`, pathParameters: { name }, ...extra })
}

export function aLambdaContext(): Context {
  return {
    awsRequestId: 'lambda-req',
    functionName: 'test',
    getRemainingTimeInMillis: () => 10_000,
  } as unknown as Context
}
