/**
 * Cache invalidation from Secrets Manager's own events: which events count (pure), what the function records
 * in the register, its configuration and composition. Nothing should import from deeper in this folder.
 */
export {
  classifyEvent,
  CLOUDTRAIL_SERVICE_EVENT,
  IGNORE_REASONS,
  LABEL_UPDATED,
  ROTATION_SUCCEEDED,
  SECRETS_MANAGER_SOURCE,
  type ClassifiedEvent,
  type IgnoreReason,
  type InvalidationScope,
} from './invalidation-event'
export { recordInvalidation, type InvalidationDeps, type InvalidationOutcome } from './record-invalidation'
export {
  loadInvalidationConfig,
  parseInvalidationDocument,
  type InvalidationConfig,
  type InvalidationDocument,
} from './invalidation-config'
export {
  createInvalidationDeps,
  createInvalidationHandler,
  type InvalidationHandler,
  type InvalidationOverrides,
} from './compose'
