import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { IAMClient } from '@aws-sdk/client-iam'
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import { STSClient } from '@aws-sdk/client-sts'
import { NodeHttpHandler } from '@smithy/node-http-handler'
import { createSecretsManagerClient } from '../lib/aws-clients'
import { systemClock, type Clock } from '../lib/clock'
import { createLogger, type Log } from '../lib/logger'
import { createMetrics, type MetricsSink } from '../lib/metrics'
import { createPgConnector, type ConnectAs } from './db-session'
import type { EngineClients } from './engine-clients'
import {
  createMysqlConnector,
  createRedisConnector,
  readCallerIdentity,
  type GetCallerIdentity,
} from './engines'
import type { RotationConfig } from './rotation-config'
import { ROTATION_STEPS, runRotationStep, type RotationEvent, type StepReport } from './run-rotation-step'
import { createSecretsManagerPasswordGenerator, type PasswordGenerator } from './secrets-manager'
import type { StrategyRegistry } from './strategies/registry'

/**
 * The rotation function's composition root: what the Lambda handler builds once per container, and what
 * `npm run rotate`, the tests and the benchmark build with their own endpoint, logger and metrics. Every
 * side effect is here: the Secrets Manager client (which also reads master secrets, when a step needs one),
 * the PostgreSQL connector, the MySQL/Redis connectors and the IAM and STS clients of the other strategies,
 * the password generator, randomness, the clock, the logger and the metrics.
 * No middleware: a rotation step is one call, and its one external read (a master secret) is a plain
 * GetSecretValue on the same client.
 */
export interface RotationFunctionDeps {
  readonly config: Pick<RotationConfig, 'targets'>
  readonly sm: SecretsManagerClient
  readonly log: Log
  readonly connectAs: ConnectAs
  /** MySQL, Redis and IAM clients; a strategy whose client is missing fails its step, naming it. */
  readonly engines?: Partial<EngineClients>
  readonly passwords: PasswordGenerator
  readonly randomBytes: (size: number) => Buffer
  readonly clock: Clock
  readonly strategies?: StrategyRegistry
  /** Step outcomes and durations as EMF metrics (dimension: the step, one of four). */
  readonly metrics?: MetricsSink
}

/** Overrides for running the real composition outside Lambda (`npm run rotate` against moto, tests). */
export interface RotationDepsOverrides {
  /** Secrets Manager's endpoint, and IAM's and STS's unless `awsEndpoint` says otherwise (moto serves all three). */
  readonly endpoint?: string
  readonly credentials?: { accessKeyId: string; secretAccessKey: string }
  /** IAM's and STS's endpoint when it is not `endpoint` (a test's authenticating moto). */
  readonly iamEndpoint?: string
  readonly log?: Log
  /** `null` for no metrics at all. */
  readonly metrics?: MetricsSink | null
}

/** One rotation step as Secrets Manager invokes it: resolves with the step's report, throws so it is retried. */
export type RotationFunction = (event: RotationEvent) => Promise<StepReport>

export function createRotationDeps(
  config: RotationConfig,
  overrides: RotationDepsOverrides = {},
): RotationFunctionDeps {
  const sm = createSecretsManagerClient({
    region: config.region,
    requestTimeoutMs: config.upstreamTimeoutMs,
    maxAttempts: config.upstreamMaxAttempts,
    ...(overrides.endpoint === undefined ? {} : { endpoint: overrides.endpoint }),
    ...(overrides.credentials === undefined ? {} : { credentials: overrides.credentials }),
  })
  const metrics =
    overrides.metrics === undefined
      ? createMetrics({ stage: config.stage, service: 'secret-broker-rotation' })
      : overrides.metrics
  return {
    config,
    sm,
    log: overrides.log ?? createLogger({ level: config.logLevel, serviceName: 'secret-broker-rotation' }),
    connectAs: createPgConnector({
      sslMode: config.pgSslMode,
      connectTimeoutMs: config.pgConnectTimeoutMs,
      statementTimeoutMs: config.pgStatementTimeoutMs,
    }),
    engines: createEngineClients(config, overrides),
    passwords: createSecretsManagerPasswordGenerator(sm),
    randomBytes,
    clock: systemClock,
    ...(metrics === null ? {} : { metrics }),
  }
}

/**
 * The MySQL/MariaDB and Redis connectors (TLS, connect and statement timeouts as for PostgreSQL: `pgSslMode`
 * and the `pg*TimeoutMs` settings apply to every database and cache engine), the IAM client (the rotation
 * role's credentials) and GetCallerIdentity signed with a key under test (a short-lived STS client per key,
 * one attempt: the strategy retries while a new key propagates).
 */
export function createEngineClients(
  config: Pick<
    RotationConfig,
    | 'region'
    | 'pgSslMode'
    | 'pgConnectTimeoutMs'
    | 'pgStatementTimeoutMs'
    | 'upstreamTimeoutMs'
    | 'upstreamMaxAttempts'
  >,
  overrides: Pick<RotationDepsOverrides, 'endpoint' | 'iamEndpoint' | 'credentials'> = {},
): EngineClients {
  const endpoint = overrides.iamEndpoint ?? overrides.endpoint
  const requestHandler = (): NodeHttpHandler =>
    new NodeHttpHandler({
      connectionTimeout: Math.min(1000, config.upstreamTimeoutMs),
      requestTimeout: config.upstreamTimeoutMs,
      throwOnRequestTimeout: true,
    })
  const iam = new IAMClient({
    region: config.region,
    maxAttempts: config.upstreamMaxAttempts,
    retryMode: 'standard',
    requestHandler: requestHandler(),
    ...(endpoint === undefined ? {} : { endpoint }),
    ...(overrides.credentials === undefined ? {} : { credentials: overrides.credentials }),
  })
  const getCallerIdentity: GetCallerIdentity = async (creds) => {
    const sts = new STSClient({
      region: config.region,
      maxAttempts: 1,
      requestHandler: requestHandler(),
      credentials: { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey },
      ...(endpoint === undefined ? {} : { endpoint }),
    })
    try {
      return await readCallerIdentity(sts)
    } finally {
      sts.destroy()
    }
  }
  const sessions = {
    tlsMode: config.pgSslMode,
    connectTimeoutMs: config.pgConnectTimeoutMs,
  }
  return {
    mysql: createMysqlConnector({ ...sessions, queryTimeoutMs: config.pgStatementTimeoutMs }),
    redis: createRedisConnector({ ...sessions, commandTimeoutMs: config.pgStatementTimeoutMs }),
    iam,
    getCallerIdentity,
    sleep: (ms) => sleep(ms),
  }
}

/**
 * The step runner with its metrics: one `RotationStepSucceeded`/`RotationStepFailed` count and one duration
 * per invocation, under a bounded `step` dimension.
 * @example const rotate = createRotationFunction(createRotationDeps(loadRotationConfig())); await rotate(event)
 */
export function createRotationFunction(deps: RotationFunctionDeps): RotationFunction {
  return async (event) => {
    const started = deps.clock.now()
    const step = (ROTATION_STEPS as readonly string[]).includes(event.Step) ? event.Step : 'unknown'
    const record = (ok: boolean): void => {
      if (deps.metrics === undefined) return
      deps.metrics.count(ok ? 'RotationStepSucceeded' : 'RotationStepFailed')
      deps.metrics.timing('RotationStepDuration', deps.clock.now() - started)
      deps.metrics.flush({ step })
    }
    try {
      const report = await runRotationStep(event, {
        sm: deps.sm,
        targets: deps.config.targets,
        passwords: deps.passwords,
        connectAs: deps.connectAs,
        ...(deps.engines === undefined ? {} : { engines: deps.engines }),
        randomBytes: deps.randomBytes,
        clock: deps.clock,
        log: deps.log,
        ...(deps.strategies === undefined ? {} : { strategies: deps.strategies }),
      })
      record(true)
      return report
    } catch (err) {
      record(false)
      throw err
    }
  }
}
