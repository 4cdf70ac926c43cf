import { randomBytes } from 'node:crypto'
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import middy from '@middy/core'
import secretsManager from '@middy/secrets-manager'
import { getInternal } from '@middy/util'
import type { Context } from 'aws-lambda'
import { createSecretsManagerClient } from '../lib/aws-clients'
import { systemClock, type Clock } from '../lib/clock'
import { createLogger, type Log } from '../lib/logger'
import { createMetrics, type MetricsSink } from '../lib/metrics'
import {
  createPgConnector,
  createSecretsManagerPasswordGenerator,
  loadRotationConfig,
  runRotationStep,
  ROTATION_STEPS,
  type ConnectAs,
  type PasswordGenerator,
  type RotationConfig,
  type RotationEvent,
  type StepReport,
  type StrategyRegistry,
} from '../rotation'

/**
 * Secrets Manager's rotation entry: one invocation per step. The composition root is built once per
 * container (on the first invocation, so importing this file has no side effect), the master secrets of
 * the alternating-users strategy are read by @middy/secrets-manager, and a failed step throws so that
 * Secrets Manager retries it.
 */
export interface RotationHandlerDeps {
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

export type RotationHandler = (event: RotationEvent, context: Context) => Promise<StepReport>

/** Overrides for running the real composition outside Lambda (`npm run rotate` against moto). */
export interface DepsOverrides {
  readonly endpoint?: string
  readonly credentials?: { accessKeyId: string; secretAccessKey: string }
  readonly log?: Log
}

export function createDeps(config: RotationConfig, overrides: DepsOverrides = {}): RotationHandlerDeps {
  const sm = createSecretsManagerClient({
    region: config.region,
    requestTimeoutMs: config.upstreamTimeoutMs,
    maxAttempts: config.upstreamMaxAttempts,
    ...(overrides.endpoint === undefined ? {} : { endpoint: overrides.endpoint }),
    ...(overrides.credentials === undefined ? {} : { credentials: overrides.credentials }),
  })
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
    metrics: createMetrics({ stage: config.stage, service: 'secret-broker-rotation' }),
  }
}

/**
 * @middy/secrets-manager reads the master secrets with a bare GetSecretValue. Pin those reads to AWSCURRENT:
 * the documented default on AWS, and the only correct read on moto once labels have moved.
 */
function pinReadsToCurrent(sm: SecretsManagerClient): void {
  sm.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { VersionId?: unknown; VersionStage?: unknown }
      if (
        context.commandName === 'GetSecretValueCommand' &&
        input.VersionId === undefined &&
        input.VersionStage === undefined
      ) {
        input.VersionStage = 'AWSCURRENT'
      }
      return next(args)
    },
    { step: 'initialize', name: 'brokerPinGetSecretValueToCurrent', override: true },
  )
}

/**
 * The middy-wrapped step runner. The masters are fetched per invocation (`cacheExpiry: 0`, no prefetch):
 * a rotation is four invocations a month, a cached master would outlive its own rotation, and a positive
 * expiry makes @middy/util keep a refresh timer alive. Each master is awaited only by the step that needs
 * it, so one unreadable master fails only the rotations that use it.
 * @example const handler = createRotationHandler(createDeps(loadRotationConfig()))
 */
export function createRotationHandler(deps: RotationHandlerDeps): RotationHandler {
  const masterIds = [
    ...new Set(
      deps.config.targets.flatMap((t) => (t.masterSecretId === undefined ? [] : [t.masterSecretId])),
    ),
  ]
  const keyOf = new Map(masterIds.map((id, i) => [id, `master${i}`]))
  pinReadsToCurrent(deps.sm)
  const sharedClient = deps.sm
  // middy builds its client with `new AwsClient(options)`; hand it ours (timeouts, endpoint, the pin above).
  const AwsClient = function ReuseClient() {
    return sharedClient
  } as unknown as typeof SecretsManagerClient

  return middy<RotationEvent, StepReport>()
    .use(
      secretsManager({
        AwsClient,
        fetchData: Object.fromEntries(masterIds.map((id) => [keyOf.get(id) ?? id, id])),
        disablePrefetch: true,
        cacheExpiry: 0,
        cacheKey: 'secret-broker-rotation-masters',
      }),
    )
    .before((request) => {
      // Unused masters' promises must not become unhandled rejections; the step that needs one awaits it.
      for (const v of Object.values(request.internal as Record<string, unknown>)) {
        if (v instanceof Promise) v.catch(() => undefined)
      }
      Object.assign(request.context, {
        readMasterSecret: async (secretId: string): Promise<unknown> => {
          const key = keyOf.get(secretId)
          if (key === undefined) throw new Error('no master secret is configured under that id')
          const values = (await getInternal([key], request)) as Record<string, unknown>
          return values[key]
        },
      })
    })
    .handler(async (event, context) => {
      const { readMasterSecret } = context as Context & {
        readMasterSecret: (secretId: string) => Promise<unknown>
      }
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
          readMasterSecret,
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
    })
}

let instance: RotationHandler | undefined

export const handler = async (event: RotationEvent, context: Context): Promise<void> => {
  instance ??= createRotationHandler(createDeps(loadRotationConfig()))
  await instance(event, context)
}
