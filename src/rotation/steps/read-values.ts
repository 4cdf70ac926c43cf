import { stepError } from '../rotation-errors'
import { readVersion } from '../secrets-manager'
import { parseSecretDocument, type SecretDocument } from '../secret-document'
import { AWSCURRENT, AWSPENDING } from '../version-stages'
import type { StepInput } from './step-input'

export async function readCurrent(input: StepInput): Promise<SecretDocument> {
  const raw = await readVersion(input.sm, input.metadata.arn, { stage: AWSCURRENT })
  if (raw === undefined) throw stepError(input.ctx.scope, 'the secret has no AWSCURRENT value')
  return parseSecretDocument(raw, 'current')
}

/** This token's AWSPENDING value, or undefined while it is still RotateSecret's value-less stub. */
export async function readPendingRaw(input: StepInput): Promise<string | undefined> {
  return readVersion(input.sm, input.metadata.arn, { versionId: input.token, stage: AWSPENDING })
}

export async function readPending(input: StepInput): Promise<SecretDocument> {
  const raw = await readPendingRaw(input)
  if (raw === undefined)
    throw stepError(input.ctx.scope, 'this token has no pending value yet (createSecret has not completed)')
  return parseSecretDocument(raw, 'pending')
}
