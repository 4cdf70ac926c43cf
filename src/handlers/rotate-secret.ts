import {
  createRotationDeps,
  createRotationFunction,
  loadRotationConfig,
  type RotationEvent,
  type RotationFunction,
} from '../rotation'

let rotate: RotationFunction | undefined

/**
 * Secrets Manager's rotation entry: one invocation per step. The composition (src/rotation/compose.ts) is
 * built on the first invocation, so importing this file has no side effect; a failed step throws so that
 * Secrets Manager retries it.
 */
export const handler = async (event: RotationEvent): Promise<void> => {
  rotate ??= createRotationFunction(createRotationDeps(loadRotationConfig()))
  await rotate(event)
}
