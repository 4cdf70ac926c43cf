import { stepError } from '../rotation-errors'
import { moveCurrentTo, removePendingFrom } from '../secrets-manager'
import { AWSCURRENT, AWSPENDING, hasStage, versionHolding } from '../version-stages'
import { readPendingRaw } from './read-values'
import type { StepInput, StepResult } from './step-input'

/**
 * finishSecret: move AWSCURRENT to this token (the old version becomes AWSPREVIOUS), then take AWSPENDING
 * off it. Run again: the token is already AWSCURRENT, so at most a leftover AWSPENDING label is removed.
 */
export async function finishSecretStep(input: StepInput): Promise<StepResult> {
  const { sm, metadata, token } = input
  const current = versionHolding(metadata.versions, AWSCURRENT)
  if (current === token) {
    if (!hasStage(metadata.versions, token, AWSPENDING)) return { outcome: 'unchanged', detail: 'already AWSCURRENT' }
    await removePendingFrom(sm, metadata.arn, token)
    return { outcome: 'changed', detail: 'already AWSCURRENT; removed the leftover AWSPENDING label' }
  }
  // Never make the value-less stub current: the broker would have nothing to serve.
  if ((await readPendingRaw(input)) === undefined) throw stepError(input.ctx.scope, 'this token has no pending value to make current')
  await moveCurrentTo(sm, metadata.arn, token, current)
  await removePendingFrom(sm, metadata.arn, token)
  return { outcome: 'changed', detail: 'AWSCURRENT moved to this version' }
}
