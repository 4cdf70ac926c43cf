import { readCurrent, readPending } from './read-values'
import type { StepInput, StepResult } from './step-input'

/**
 * setSecret: make the target system accept the pending value, after refusing one for another user or system.
 * Run again: the pending credentials already log in, so nothing changes.
 */
export async function setSecretStep(input: StepInput): Promise<StepResult> {
  const pending = await readPending(input)
  const current = await readCurrent(input)
  input.strategy.checkPending(pending, current, input.ctx)
  if (!input.strategy.updatesExternalSystem)
    return { outcome: 'unchanged', detail: 'no external system to update' }
  if (await input.strategy.accepts(pending.value, input.ctx))
    return { outcome: 'unchanged', detail: 'pending credentials already active' }
  await input.strategy.apply(pending.value, current.value, input.ctx)
  return { outcome: 'changed', detail: 'pending credentials set' }
}
