import middy from '@middy/core'
import secretsManager from '@middy/secrets-manager'
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda'
import type { AuditSink } from '../audit'
import type { Clock } from '../clock'
import type { HttpConfig } from '../config'
import type { Log } from '../logger'
import type { MetricsSink } from '../metrics'
import { recordMetrics } from './record-metrics'
import { auditAccess } from './audit-access'
import { authenticateCaller } from './authenticate-caller'
import { httpResponder } from './http-responder'
import type { RouteLogic } from './http-types'
import { brokerContext, requestContext, type BrokerLambdaContext } from './request-context'

/**
 * The one place middy is composed. In order: request context (normalised request, request-scoped logger)
 * → responder (serialises results, turns errors into problem+json) → [local stage: @middy/secrets-manager
 * loads the demo consumers' keys] → authenticateCaller → recordMetrics → auditAccess → the route's logic.
 * `after` hooks run in reverse, so the audit record is written before the responder serialises a value.
 */
export interface HttpStackDeps {
  readonly config: HttpConfig
  readonly clock: Clock
  readonly log: Log
  readonly auditSink: AuditSink
  readonly metrics: MetricsSink
  /** Client options for @middy/secrets-manager (local stage key loading); the SDK's env endpoint otherwise. */
  readonly localKeysClientOptions?: ConstructorParameters<typeof SecretsManagerClient>[0]
}

export type HttpHandler = (
  event: APIGatewayProxyEvent,
  context: BrokerLambdaContext,
) => Promise<APIGatewayProxyResult>

export function withHttpStack<D extends HttpStackDeps>(
  logic: RouteLogic<D>,
  deps: D,
  opts: { public?: boolean } = {},
): HttpHandler {
  const { config } = deps
  const stack = middy<APIGatewayProxyEvent, APIGatewayProxyResult, Error, BrokerLambdaContext>()
    .use(requestContext({ clock: deps.clock, log: deps.log }))
    .use(httpResponder())
  if (opts.public !== true) {
    if (config.authMode === 'local-sigv4' && config.localConsumersSecretId !== undefined) {
      stack.use(
        secretsManager({
          AwsClient: SecretsManagerClient,
          awsClientOptions: deps.localKeysClientOptions ?? { region: config.region },
          fetchData: { localConsumerKeys: config.localConsumersSecretId },
          setToContext: true,
          // Loaded once per container, no refresh timer (timers keep processes alive and fire in frozen Lambdas).
          cacheExpiry: -1,
          disablePrefetch: true,
          cacheKey: `local-consumer-keys:${config.localConsumersSecretId}`,
        }),
      )
    }
    stack.use(
      authenticateCaller({
        mode: config.authMode,
        accountId: config.accountId,
        region: config.region,
        clock: deps.clock,
      }),
    )
    stack.use(recordMetrics({ metrics: deps.metrics }))
    stack.use(auditAccess({ sink: deps.auditSink, clock: deps.clock }))
  }
  return stack.handler(
    async (_event, context) =>
      (await logic(brokerContext(context), deps)) as unknown as APIGatewayProxyResult,
  )
}
