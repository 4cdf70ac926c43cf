import { putPendingVersion } from '../secrets-manager'
import { readCurrent, readPendingRaw } from './read-values'
import type { StepInput, StepResult } from './step-input'

/**
 * createSecret: generate the next value from AWSCURRENT and store it as AWSPENDING under this token.
 * Run again: the token already has a pending value, so nothing is generated and nothing is written.
 */
export async function createSecretStep(input: StepInput): Promise<StepResult> {
  if ((await readPendingRaw(input)) !== undefined)
    return { outcome: 'unchanged', detail: 'pending value already exists' }
  const current = await readCurrent(input)
  const next = await input.strategy.generate(current, input.ctx)
  // Same token, same value is idempotent on AWS; a concurrent duplicate with another value fails there with
  // ResourceExistsException and the retry then finds the pending value above.
  await putPendingVersion(input.sm, input.metadata.arn, input.token, JSON.stringify(next))
  return { outcome: 'changed', detail: 'pending value created' }
}
