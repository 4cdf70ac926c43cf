import { RotationStepError } from '../lib/errors'

/** Where a rotation step is: carried into every error so the log line and the retry say which step failed. */
export interface StepScope {
  readonly step: string
  readonly secretId: string
  readonly clientRequestToken: string
}

/** A refusal or failure with a message that is safe to log: it names fields and codes, never values. */
export function stepError(scope: StepScope, message: string): RotationStepError {
  return new RotationStepError(`${scope.step}: ${message}`, {
    step: scope.step,
    secretId: scope.secretId,
    token: scope.clientRequestToken,
  })
}

/** A secret value that is not what its strategy needs. The message names the field, never its content. */
export class InvalidSecretValueError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'InvalidSecretValueError'
  }
}
