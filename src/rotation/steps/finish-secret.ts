import { stepError } from '../rotation-errors'
import { moveCurrentTo, removePendingFrom } from '../secrets-manager'
import { AWSCURRENT, AWSPENDING, hasStage, versionHolding } from '../version-stages'
import { parseSecretDocument } from '../secret-document'
import { readCurrent, readPendingRaw } from './read-values'
import type { StepInput, StepResult } from './step-input'

/**
 * finishSecret: move AWSCURRENT to this token (the old version becomes AWSPREVIOUS), then take AWSPENDING
 * off it. Run again: the token is already AWSCURRENT, so at most a leftover AWSPENDING label is removed.
 */
export async function finishSecretStep(input: StepInput): Promise<StepResult> {
  const { sm, metadata, token } = input
  const current = versionHolding(metadata.versions, AWSCURRENT)
  if (current === token) {
    if (!hasStage(metadata.versions, token, AWSPENDING))
      return { outcome: 'unchanged', detail: 'already AWSCURRENT' }
    await removePendingFrom(sm, metadata.arn, token)
    return { outcome: 'changed', detail: 'already AWSCURRENT; removed the leftover AWSPENDING label' }
  }
  // Never make the value-less stub current (the broker would have nothing to serve), nor a value setSecret
  // would refuse (another user or system): the label move is the last guard against a planted value.
  const raw = await readPendingRaw(input)
  if (raw === undefined) throw stepError(input.ctx.scope, 'this token has no pending value to make current')
  input.strategy.checkPending(parseSecretDocument(raw, 'pending'), await readCurrent(input), input.ctx)
  await moveCurrentTo(sm, metadata.arn, token, current)
  await removePendingFrom(sm, metadata.arn, token)
  return { outcome: 'changed', detail: 'AWSCURRENT moved to this version' }
}
