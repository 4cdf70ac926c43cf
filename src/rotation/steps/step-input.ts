import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import type { SecretMetadata } from '../secrets-manager'
import type { RotationContext, RotationStrategy } from '../strategies/rotation-strategy'

/** What every step gets from the runner, after the pre-flight checks passed. */
export interface StepInput {
  readonly sm: SecretsManagerClient
  readonly metadata: SecretMetadata
  readonly token: string
  readonly strategy: RotationStrategy
  readonly ctx: RotationContext
}

/** `changed`: this run did the work; `unchanged`: it was already done (a retry or a repeat). */
export interface StepResult {
  readonly outcome: 'changed' | 'unchanged'
  readonly detail: string
}
