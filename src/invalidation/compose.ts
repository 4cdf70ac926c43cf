import { createDynamoDbClient } from '../lib/aws-clients'
import { createLogger, type Log } from '../lib/logger'
import { createMetrics, type MetricsSink } from '../lib/metrics'
import { createRegisterWriter } from '../lib/register'
import type { InvalidationConfig } from './invalidation-config'
import { recordInvalidation, type InvalidationDeps, type InvalidationOutcome } from './record-invalidation'

/**
 * The invalidation function's composition root, beside its core so the entry point (handlers/
 * invalidate-cache.ts) and the local event source (scripts/lib/local-events.ts) run exactly the same code.
 */
export interface InvalidationOverrides {
  readonly endpoint?: string
  readonly credentials?: { accessKeyId: string; secretAccessKey: string }
  readonly log?: Log
  readonly metrics?: MetricsSink
}

/** DynamoDB calls of the invalidation function: a short timeout, the SDK's retries for throttling and 5xx. */
const REGISTER_WRITE_TIMEOUT_MS = 2000
const REGISTER_WRITE_ATTEMPTS = 3

export function createInvalidationDeps(
  config: InvalidationConfig,
  overrides: InvalidationOverrides = {},
): InvalidationDeps & { destroy(): void } {
  const db = createDynamoDbClient({
    region: config.region,
    requestTimeoutMs: REGISTER_WRITE_TIMEOUT_MS,
    maxAttempts: REGISTER_WRITE_ATTEMPTS,
    ...(overrides.endpoint === undefined ? {} : { endpoint: overrides.endpoint }),
    ...(overrides.credentials === undefined ? {} : { credentials: overrides.credentials }),
  })
  return {
    scope: {
      accountId: config.accountId,
      region: config.region,
      secretNames: new Set(config.secretNames),
      secretPrefixes: config.secretPrefixes,
    },
    writer: createRegisterWriter(db, config.registerTable),
    log:
      overrides.log ??
      createLogger({
        level: config.logLevel,
        serviceName: 'secret-broker-invalidation',
        persistent: { stage: config.stage },
      }),
    metrics:
      overrides.metrics ?? createMetrics({ stage: config.stage, service: 'secret-broker-invalidation' }),
    destroy: () => db.destroy(),
  }
}

export type InvalidationHandler = (event: unknown) => Promise<InvalidationOutcome>

/**
 * The function EventBridge invokes with one event per invocation.
 * @example const handler = createInvalidationHandler(createInvalidationDeps(loadInvalidationConfig()))
 */
export function createInvalidationHandler(deps: InvalidationDeps): InvalidationHandler {
  return (event) => recordInvalidation(event, deps)
}
