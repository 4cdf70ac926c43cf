import {
  createInvalidationDeps,
  createInvalidationHandler,
  loadInvalidationConfig,
  type InvalidationHandler,
  type InvalidationOutcome,
} from '../invalidation'

/**
 * EventBridge's target for Secrets Manager's `Secret Label Updated` and CloudTrail `RotationSucceeded`
 * events of this stage's brokered secrets: records the move in the invalidation register, which the HTTP
 * functions read. The composition is built on the first invocation (importing this file has no side effect).
 */
let run: InvalidationHandler | undefined

export async function handler(event: unknown): Promise<InvalidationOutcome> {
  run ??= createInvalidationHandler(createInvalidationDeps(loadInvalidationConfig()))
  return run(event)
}
