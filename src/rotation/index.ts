/**
 * Secret rotation: one step runner over pluggable strategies. The handler composes these; nothing else
 * should import from deeper in this folder.
 */
export {
  runRotationStep,
  ROTATION_STEPS,
  type RotationDeps,
  type RotationEvent,
  type RotationStep,
  type StepReport,
} from './run-rotation-step'
export { loadRotationConfig, type RotationConfig, type RotationTarget } from './rotation-config'
export { createPgConnector, type ConnectAs, type DbSession, type PgCredentials } from './db-session'
export { createSecretsManagerPasswordGenerator, type PasswordGenerator } from './secrets-manager'
export { defaultStrategies, type StrategyRegistry } from './strategies/registry'
export type { RotationStrategy, RotationContext } from './strategies/rotation-strategy'
