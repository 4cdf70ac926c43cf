import type { Log } from '../../lib/logger'
import type { RotationStrategyKind } from '../../contract/rotation-strategies'
import type { ConnectAs } from '../db-session'
import type { EngineClients } from '../engine-clients'
import type { StepScope } from '../rotation-errors'
import type { RotationTarget } from '../rotation-config'
import type { PasswordGenerator } from '../secrets-manager'
import type { FieldChanges, SecretDocument } from '../secret-document'
import type { SecretValue } from '../secret-value'

/** What a strategy may use. Everything with a side effect arrives here, so strategies test with fakes. */
export interface RotationContext {
  readonly scope: StepScope
  readonly target: RotationTarget
  readonly passwords: PasswordGenerator
  readonly connectAs: ConnectAs
  /** MySQL, Redis and IAM clients; a strategy asks for the one it needs with `requireEngine`. */
  readonly engines: Partial<EngineClients>
  readonly randomBytes: (size: number) => Buffer
  /**
   * The AWSCURRENT value of a master secret (the strategies whose traits say `needsMaster`), read with the rotation function's
   * own Secrets Manager client when the step needs it. A failure names the secret id and the SDK error.
   */
  readonly readMasterSecret: (secretId: string) => Promise<SecretValue>
  /**
   * Older values of this secret to log in with when the current one no longer does, newest first:
   * AWSPREVIOUS, then unlabelled versions (a displaced rotation's value). Read lazily, only when needed.
   */
  readonly olderValues: () => Promise<readonly SecretValue[]>
  /** The AWSPREVIOUS value, if a version other than this token holds it (iam-access-key retires its key). */
  readonly previousValue: () => Promise<SecretValue | undefined>
  readonly log: Log
}

/**
 * A rotation strategy: which fields a new value changes and how to make the target system accept it. The
 * step files own idempotency (createSecret checks for an existing pending value, setSecret first probes
 * `accepts`), so a strategy's methods may assume they are needed. Strategies never build a value's text:
 * createSecret splices the changed fields into the current text, so everything else stays byte for byte.
 */
export interface RotationStrategy {
  readonly kind: RotationStrategyKind
  /** False when there is no system to update (random): setSecret and testSecret then only check the value. */
  readonly updatesExternalSystem: boolean
  /** createSecret: the new values of the fields a rotation changes; checkPending refuses any other change. */
  generate(current: SecretDocument, ctx: RotationContext): Promise<FieldChanges>
  /** setSecret and finishSecret, before anything else: refuse a pending value that changes more than it may. */
  checkPending(pending: SecretDocument, current: SecretDocument, ctx: RotationContext): void
  /** setSecret's idempotency probe: does the target already accept these credentials? */
  accepts(pending: SecretValue, ctx: RotationContext): Promise<boolean>
  /**
   * createSecret, when the pending value could not be stored: undo what `generate` created outside Secrets
   * Manager (iam-access-key deletes the new key, whose secret would otherwise be lost). Optional.
   */
  discard?(changes: FieldChanges, current: SecretDocument, ctx: RotationContext): Promise<void>
  /** setSecret: make the target accept `pending`. */
  apply(pending: SecretValue, current: SecretValue, ctx: RotationContext): Promise<void>
  /** testSecret: prove `pending` works. */
  verify(pending: SecretValue, ctx: RotationContext): Promise<void>
}
