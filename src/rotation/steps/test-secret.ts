import { readPending } from './read-values'
import type { StepInput, StepResult } from './step-input'

/**
 * testSecret: log in with the pending value and run a query.
 * Run again: the same read-only check, with no side effect.
 */
export async function testSecretStep(input: StepInput): Promise<StepResult> {
  const pending = await readPending(input)
  if (!input.strategy.updatesExternalSystem)
    return { outcome: 'unchanged', detail: 'no external system to test' }
  await input.strategy.verify(pending.value, input.ctx)
  return { outcome: 'unchanged', detail: 'pending credentials work' }
}
