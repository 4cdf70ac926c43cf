import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import type { Clock } from '../lib/clock'
import { RotationStepError } from '../lib/errors'
import type { Log, LogFields } from '../lib/logger'
import type { ConnectAs } from './db-session'
import type { EngineClients } from './engine-clients'
import {
  causeChain,
  formatCauseChain,
  RotationFailure,
  RotationOperationError,
  stepError,
  type CauseLink,
  type StepScope,
} from './rotation-errors'
import type { RotationTarget } from './rotation-config'
import {
  describeSecret,
  readMasterSecretText,
  readVersion,
  type PasswordGenerator,
  type SecretMetadata,
} from './secrets-manager'
import { parseSecretDocument } from './secret-document'
import type { SecretValue } from './secret-value'
import { createSecretStep } from './steps/create-secret'
import { finishSecretStep } from './steps/finish-secret'
import { setSecretStep } from './steps/set-secret'
import type { StepInput, StepResult } from './steps/step-input'
import { testSecretStep } from './steps/test-secret'
import { defaultStrategies, type StrategyRegistry } from './strategies/registry'
import type { RotationContext } from './strategies/rotation-strategy'
import {
  AWSCURRENT,
  AWSPENDING,
  AWSPREVIOUS,
  hasStage,
  stagesOf,
  unlabelledVersions,
  versionHolding,
} from './version-stages'

export const ROTATION_STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const
export type RotationStep = (typeof ROTATION_STEPS)[number]

/** The event Secrets Manager sends; `Step` stays a string here because an unknown step must be refused. */
export interface RotationEvent {
  readonly Step: string
  readonly SecretId: string
  readonly ClientRequestToken: string
}

export interface RotationDeps {
  readonly sm: SecretsManagerClient
  readonly targets: readonly RotationTarget[]
  readonly passwords: PasswordGenerator
  readonly connectAs: ConnectAs
  /** MySQL, Redis and IAM clients (compose.ts builds them all); a strategy fails clearly without its own. */
  readonly engines?: Partial<EngineClients>
  readonly randomBytes: (size: number) => Buffer
  readonly clock: Clock
  readonly log: Log
  readonly strategies?: StrategyRegistry
}

export interface StepReport {
  readonly step: RotationStep
  readonly outcome: 'changed' | 'unchanged' | 'skipped'
  readonly detail: string
  readonly durationMs: number
}

/** At most this many unlabelled versions are tried as a last-resort login by setSecret. */
export const MAX_OLDER_VALUES = 5

function isRotationStep(step: string): step is RotationStep {
  return (ROTATION_STEPS as readonly string[]).includes(step)
}

function findTarget(
  targets: readonly RotationTarget[],
  metadata: SecretMetadata,
  requested: string,
): RotationTarget | undefined {
  const ids = new Set([metadata.arn, metadata.name, requested])
  return targets.find((t) => ids.has(t.secretId))
}

/**
 * Run one rotation step the way Secrets Manager's contract requires, and emit exactly one log record for it.
 *
 * Pre-flight (as AWS's Python templates do): rotation is enabled on the secret; the token is one of its
 * versions; a token already AWSCURRENT makes the step a logged no-op (finishSecret still removes a leftover
 * AWSPENDING label); a token that is not AWSPENDING is refused. Then the step runs; steps own idempotency.
 * @throws RotationStepError with a message safe to log; Secrets Manager retries the step.
 * @example await runRotationStep({ Step: 'createSecret', SecretId: arn, ClientRequestToken: token }, deps)
 */
export async function runRotationStep(event: RotationEvent, deps: RotationDeps): Promise<StepReport> {
  const started = deps.clock.now()
  const scope: StepScope = {
    step: event.Step,
    secretId: event.SecretId,
    clientRequestToken: event.ClientRequestToken,
  }
  const base: LogFields = {
    secretId: event.SecretId,
    step: event.Step,
    clientRequestToken: event.ClientRequestToken,
  }
  let strategyKind: string | undefined
  try {
    const step = event.Step
    if (!isRotationStep(step)) throw stepError(scope, 'unknown rotation step')
    if (
      typeof event.SecretId !== 'string' ||
      event.SecretId === '' ||
      typeof event.ClientRequestToken !== 'string' ||
      event.ClientRequestToken === ''
    ) {
      throw stepError(scope, 'the event needs a SecretId and a ClientRequestToken')
    }
    const metadata = await describeSecret(deps.sm, event.SecretId)
    const target = findTarget(deps.targets, metadata, event.SecretId)
    if (target === undefined)
      throw stepError(scope, 'this secret is not configured for rotation by this function')
    strategyKind = target.strategy
    if (!metadata.rotationEnabled) throw stepError(scope, 'rotation is not enabled on the secret')
    const token = event.ClientRequestToken
    const stages = stagesOf(metadata.versions, token)
    if (stages === undefined) throw stepError(scope, 'the token is not a version of the secret')
    const ctx = rotationContext(scope, target, metadata, deps)
    const input: StepInput = {
      sm: deps.sm,
      metadata,
      token,
      strategy: (deps.strategies ?? defaultStrategies)[target.strategy],
      ctx,
    }
    let result: StepResult | 'skipped'
    if (stages.includes(AWSCURRENT)) {
      result =
        step === 'finishSecret' && hasStage(metadata.versions, token, AWSPENDING)
          ? await finishSecretStep(input)
          : 'skipped'
    } else if (!stages.includes(AWSPENDING)) {
      throw stepError(scope, 'the token is neither AWSCURRENT nor AWSPENDING (a stale or displaced rotation)')
    } else {
      result = await dispatch(step, input)
    }
    const report: StepReport =
      result === 'skipped'
        ? {
            step,
            outcome: 'skipped',
            detail: 'version is already AWSCURRENT',
            durationMs: deps.clock.now() - started,
          }
        : { step, ...result, durationMs: deps.clock.now() - started }
    deps.log.info(`${step}: ${report.detail}`, {
      ...base,
      strategy: strategyKind,
      outcome: report.outcome,
      durationMs: report.durationMs,
    })
    return report
  } catch (err) {
    const durationMs = deps.clock.now() - started
    const failure = toStepError(err, scope)
    const cause = causeOf(err)
    deps.log.error(`${event.Step}: failed`, {
      ...base,
      strategy: strategyKind,
      outcome: 'failed',
      durationMs,
      reason: failure.message,
      ...(err instanceof RotationOperationError ? { operation: err.operation } : {}),
      ...(cause.length === 0 ? {} : { cause }),
      ...(sqlState(cause) === undefined ? {} : { dbCode: sqlState(cause) }),
    })
    throw failure
  }
}

/** The cause chain to log: none for our own refusals (their message says it all). */
function causeOf(err: unknown): CauseLink[] {
  if (err instanceof RotationStepError || err instanceof RotationFailure) return []
  return causeChain(err instanceof RotationOperationError ? err.cause : err)
}

/** The first database or socket code in the chain (kept as `dbCode` for log queries and alarms). */
function sqlState(cause: readonly CauseLink[]): string | undefined {
  return cause.find((l) => l.code !== undefined)?.code
}

async function dispatch(step: RotationStep, input: StepInput): Promise<StepResult> {
  switch (step) {
    case 'createSecret':
      return createSecretStep(input)
    case 'setSecret':
      return setSecretStep(input)
    case 'testSecret':
      return testSecretStep(input)
    case 'finishSecret':
      return finishSecretStep(input)
    default: {
      const unreachable: never = step
      throw new Error(`unhandled rotation step ${String(unreachable)}`)
    }
  }
}

/**
 * The error the step throws: our own refusals as they are; a failed operation as "<operation> failed
 * (<class> <code> ← caused by …)"; anything else as "failed (<class> <code>)". Only classes and codes of the
 * cause chain, never its messages, and no cause attached: a pg or SDK message can quote SQL or input, and
 * the Lambda runtime prints what it is thrown.
 */
function toStepError(err: unknown, scope: StepScope): RotationStepError {
  if (err instanceof RotationStepError) return err
  if (err instanceof RotationFailure) return stepError(scope, err.message)
  if (err instanceof RotationOperationError)
    return stepError(scope, `${err.operation} failed (${formatCauseChain(causeChain(err.cause))})`)
  return stepError(scope, `failed (${formatCauseChain(causeChain(err))})`)
}

function rotationContext(
  scope: StepScope,
  target: RotationTarget,
  metadata: SecretMetadata,
  deps: RotationDeps,
): RotationContext {
  const token = scope.clientRequestToken
  return {
    scope,
    target,
    passwords: deps.passwords,
    connectAs: deps.connectAs,
    engines: deps.engines ?? {},
    randomBytes: deps.randomBytes,
    readMasterSecret: async (secretId) =>
      parseSecretDocument(await readMasterSecretText(deps.sm, secretId, scope), `master secret ${secretId}`)
        .value,
    log: deps.log,
    previousValue: async () => {
      const previous = versionHolding(metadata.versions, AWSPREVIOUS)
      if (previous === undefined || previous === token) return undefined
      const raw = await readVersion(deps.sm, metadata.arn, { versionId: previous, stage: AWSPREVIOUS })
      return raw === undefined ? undefined : parseSecretDocument(raw, 'previous').value
    },
    olderValues: async () => {
      const previous = versionHolding(metadata.versions, AWSPREVIOUS)
      const current = versionHolding(metadata.versions, AWSCURRENT)
      const reads: { versionId: string; stage?: typeof AWSPREVIOUS }[] = [
        ...(previous === undefined || previous === token
          ? []
          : [{ versionId: previous, stage: AWSPREVIOUS as typeof AWSPREVIOUS }]),
        ...unlabelledVersions(metadata.versions, [token, ...(current === undefined ? [] : [current])])
          .slice(-MAX_OLDER_VALUES)
          .reverse()
          .map((versionId) => ({ versionId })),
      ]
      const values: SecretValue[] = []
      for (const sel of reads) {
        const raw = await readVersion(
          deps.sm,
          metadata.arn,
          sel.stage === undefined
            ? { versionId: sel.versionId }
            : { versionId: sel.versionId, stage: sel.stage },
        )
        if (raw === undefined) continue
        try {
          values.push(parseSecretDocument(raw, 'older').value)
        } catch {
          // not a usable value (another shape, or not JSON): skip it
        }
      }
      return values
    },
  }
}
