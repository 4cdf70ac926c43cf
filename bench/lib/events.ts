import type { APIGatewayProxyEvent, Context } from 'aws-lambda'

/**
 * The requests every in-process measurement sends: real API Gateway REST proxy events as AWS_IAM delivers
 * them (identity in `requestContext.identity.userArn`), and a Lambda context with the usual fields.
 * Every target receives the same event object shape; only the request id changes between invocations.
 */
export const BENCH_ACCOUNT_ID = '123456789012'
export const BENCH_REGION = 'us-east-1'
/** The reader listed in the catalog, and the assumed-role session ARN API Gateway reports for it. */
export const BENCH_READER_ROLE = `arn:aws:iam::${BENCH_ACCOUNT_ID}:role/orders-service`
export const BENCH_CALLER_ARN = `arn:aws:sts::${BENCH_ACCOUNT_ID}:assumed-role/orders-service/orders-task-7f3c`
/** The logical name callers ask for; the Secrets Manager secret behind it has the same name. */
export const BENCH_SECRET_NAME = 'bench/orders-db'
/** The invalidation register's table, as a deployed stage's HTTP functions are configured (the bench's moto has it). */
export const BENCH_REGISTER_TABLE = 'secret-broker-bench-register'
/** The benchmark secret's value (a fixed demo credential, not a secret of anyone's). */
export const BENCH_SECRET_VALUE = {
  engine: 'postgres',
  host: 'orders-db.prod.internal',
  port: 5432,
  dbname: 'orders',
  username: 'orders_app',
  password: 'Zq3v9T1mR8xK2pL7wN4cB6yH0sD5fGj',
} as const

export interface EventSpec {
  readonly method: string
  readonly resource: string
  readonly path: string
  readonly pathParameters: Record<string, string> | null
  readonly body: string | null
  readonly headers?: Record<string, string>
}

export const GET_SECRET_EVENT: EventSpec = {
  method: 'GET',
  resource: '/secrets/{name+}',
  path: `/secrets/${BENCH_SECRET_NAME}`,
  pathParameters: { name: BENCH_SECRET_NAME },
  body: null,
}

/** One event per HTTP function, for the cold-start runs. */
export const FUNCTION_EVENTS: Readonly<Record<string, EventSpec>> = {
  health: { method: 'GET', resource: '/health', path: '/health', pathParameters: null, body: null },
  whoami: { method: 'GET', resource: '/whoami', path: '/whoami', pathParameters: null, body: null },
  'list-secrets': { method: 'GET', resource: '/secrets', path: '/secrets', pathParameters: null, body: null },
  'get-secret': GET_SECRET_EVENT,
  'batch-get-secrets': {
    method: 'POST',
    resource: '/secrets:batchGet',
    path: '/secrets:batchGet',
    pathParameters: null,
    body: JSON.stringify({ names: [BENCH_SECRET_NAME] }),
    headers: { 'Content-Type': 'application/json' },
  },
}

export function apiGatewayEvent(spec: EventSpec, requestId: string): APIGatewayProxyEvent {
  const headers = {
    Accept: 'application/json',
    Host: 'abc123.execute-api.us-east-1.amazonaws.com',
    'User-Agent': 'orders/1.4 aws-sdk-js/3',
    'X-Amzn-Trace-Id': `Root=1-67a0c1f2-${requestId.padStart(24, '0').slice(-24)}`,
    'X-Forwarded-For': '10.0.12.7',
    'X-Forwarded-Port': '443',
    'X-Forwarded-Proto': 'https',
    ...(spec.headers ?? {}),
  }
  return {
    resource: spec.resource,
    path: spec.path,
    httpMethod: spec.method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: spec.pathParameters,
    stageVariables: null,
    body: spec.body,
    isBase64Encoded: false,
    requestContext: {
      accountId: BENCH_ACCOUNT_ID,
      apiId: 'abc123',
      authorizer: null,
      domainName: 'abc123.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'abc123',
      extendedRequestId: `ext-${requestId}`,
      httpMethod: spec.method,
      path: `/prod${spec.path}`,
      protocol: 'HTTP/1.1',
      requestId,
      requestTime: '28/Nov/2026:12:00:00 +0000',
      requestTimeEpoch: 1_795_867_200_000,
      resourceId: 'r1s2t3',
      resourcePath: spec.resource,
      stage: 'prod',
      identity: {
        accessKey: 'ASIAEXAMPLEEXAMPLE00',
        accountId: BENCH_ACCOUNT_ID,
        apiKey: null,
        apiKeyId: null,
        caller: 'AROAEXAMPLEEXAMPLE00:orders-task-7f3c',
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: '10.0.12.7',
        user: 'AROAEXAMPLEEXAMPLE00:orders-task-7f3c',
        userAgent: 'orders/1.4 aws-sdk-js/3',
        userArn: BENCH_CALLER_ARN,
      },
    },
  }
}

/** The runtime's context object (without the deprecated done/fail/succeed callbacks, which nothing here calls). */
export function lambdaContext(functionName: string, requestId: string): Context {
  const context: Omit<Context, 'done' | 'fail' | 'succeed'> = {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${BENCH_REGION}:${BENCH_ACCOUNT_ID}:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: '2026/11/28/[$LATEST]0123456789abcdef',
    getRemainingTimeInMillis: () => 10_000,
  }
  return context as Context
}

/** The catalog the broker bundles carry: one secret, one reader. */
export function benchCatalogJson(secretId: string): string {
  return JSON.stringify({ secrets: [{ name: BENCH_SECRET_NAME, secretId, readers: [BENCH_READER_ROLE] }] })
}
