import { putPendingVersion } from '../secrets-manager'
import { withFields } from '../secret-document'
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
  await putPendingVersion(input.sm, input.metadata.arn, input.token, withFields(current, changes))
  return { outcome: 'changed', detail: 'pending value created' }
}
