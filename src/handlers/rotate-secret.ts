import {
  createRotationDeps,
  createRotationFunction,
  loadRotationConfig,
  onboardSecret,
  type OnboardReport,
  type OnboardRequest,
  type RotationEvent,
  type RotationFunction,
  type RotationFunctionDeps,
} from '../rotation'

let deps: RotationFunctionDeps | undefined
let rotate: RotationFunction | undefined

/** `npm run onboard`'s invocation (docs/ROTATION.md, "Day 1"); Secrets Manager never sends `onboard`. */
export interface OnboardEvent {
  readonly onboard: OnboardRequest
}

function isOnboardEvent(event: RotationEvent | OnboardEvent): event is OnboardEvent {
  return typeof (event as Partial<OnboardEvent>).onboard === 'object'
}

/**
 * Secrets Manager's rotation entry: one invocation per step. The composition (src/rotation/compose.ts) is
 * built on the first invocation, so importing this file has no side effect; a failed step throws so that
 * Secrets Manager retries it. An `{ onboard }` event (an operator's `npm run onboard`) sets a database user's
 * first password to its secret's value through the master, before the rotation schedule is turned on.
 */
export const handler = async (event: RotationEvent | OnboardEvent): Promise<OnboardReport | undefined> => {
  deps ??= createRotationDeps(loadRotationConfig())
  if (isOnboardEvent(event)) return onboardSecret(event.onboard, { ...deps, targets: deps.config.targets })
  rotate ??= createRotationFunction(deps)
  await rotate(event)
  return undefined
}
