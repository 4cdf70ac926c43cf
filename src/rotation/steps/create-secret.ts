import { putPendingVersion } from '../secrets-manager'
import { causeChain } from '../rotation-errors'
import { withFields, type FieldChanges, type SecretDocument } from '../secret-document'
import { readCurrent, readPendingRaw } from './read-values'
import type { StepInput, StepResult } from './step-input'

/**
 * createSecret: the next value is the AWSCURRENT text with only the strategy's changed fields replaced
 * (byte for byte otherwise), stored as AWSPENDING under this token.
 * Run again: the token already has a pending value, so nothing is generated and nothing is written.
 */
export async function createSecretStep(input: StepInput): Promise<StepResult> {
  if ((await readPendingRaw(input)) !== undefined)
    return { outcome: 'unchanged', detail: 'pending value already exists' }
  const current = await readCurrent(input)
  const changes = await input.strategy.generate(current, input.ctx)
  // Same token, same value is idempotent on AWS; a concurrent duplicate with another value fails there with
  // ResourceExistsException and the retry then finds the pending value above.
  try {
    await putPendingVersion(input.sm, input.metadata.arn, input.token, withFields(current, changes))
  } catch (err) {
    await discardUnstored(input, changes, current)
    throw err
  }
  return { outcome: 'changed', detail: 'pending value created' }
}

/**
 * The put failed: let the strategy undo what `generate` made outside Secrets Manager (a new access key),
 * unless the value was stored after all (a timeout after the write): then the retry finds it and uses it.
 * A failed undo is logged, never thrown over the put's own failure.
 */
async function discardUnstored(
  input: StepInput,
  changes: FieldChanges,
  current: SecretDocument,
): Promise<void> {
  const { strategy, ctx } = input
  if (strategy.discard === undefined) return
  try {
    if ((await readPendingRaw(input)) !== undefined) return
    await strategy.discard(changes, current, ctx)
  } catch (err) {
    ctx.log.warn(`${ctx.scope.step}: could not undo what the unstored pending value refers to`, {
      secretId: ctx.scope.secretId,
      step: ctx.scope.step,
      cause: causeChain(err),
    })
  }
}
