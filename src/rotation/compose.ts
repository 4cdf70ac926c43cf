import { randomBytes } from 'node:crypto'
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import { createSecretsManagerClient } from '../lib/aws-clients'
import { systemClock, type Clock } from '../lib/clock'
import { createLogger, type Log } from '../lib/logger'
import { createMetrics, type MetricsSink } from '../lib/metrics'
import { createPgConnector, type ConnectAs } from './db-session'
import type { RotationConfig } from './rotation-config'
import { ROTATION_STEPS, runRotationStep, type RotationEvent, type StepReport } from './run-rotation-step'
import { createSecretsManagerPasswordGenerator, type PasswordGenerator } from './secrets-manager'
import type { StrategyRegistry } from './strategies/registry'

/**
 * The rotation function's composition root: what the Lambda handler builds once per container, and what
 * `npm run rotate`, the tests and the benchmark build with their own endpoint, logger and metrics. Every
 * side effect is here: the Secrets Manager client (which also reads master secrets, when a step needs one),
 * the PostgreSQL connector, the password generator, randomness, the clock, the logger and the metrics.
 * No middleware: a rotation step is one call, and its one external read (a master secret) is a plain
 * GetSecretValue on the same client.
 */
export interface RotationFunctionDeps {
  readonly config: Pick<RotationConfig, 'targets'>
  readonly sm: SecretsManagerClient
  readonly log: Log
  readonly connectAs: ConnectAs
  readonly passwords: PasswordGenerator
  readonly randomBytes: (size: number) => Buffer
  readonly clock: Clock
  readonly strategies?: StrategyRegistry
  /** Step outcomes and durations as EMF metrics (dimension: the step, one of four). */
  readonly metrics?: MetricsSink
}

/** Overrides for running the real composition outside Lambda (`npm run rotate` against moto, tests). */
export interface RotationDepsOverrides {
  readonly endpoint?: string
  readonly credentials?: { accessKeyId: string; secretAccessKey: string }
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
    passwords: createSecretsManagerPasswordGenerator(sm),
    randomBytes,
    clock: systemClock,
    ...(metrics === null ? {} : { metrics }),
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
