/**
 * Secret rotation: one step runner over pluggable strategies, and its composition (compose.ts), which the
 * handler, `npm run rotate`, the tests and the benchmark build. Nothing else should import from deeper in
 * this folder.
 */
export {
  createEngineClients,
  createRotationDeps,
  createRotationFunction,
  type RotationDepsOverrides,
  type RotationFunction,
  type RotationFunctionDeps,
} from './compose'
export {
  runRotationStep,
  ROTATION_STEPS,
  type RotationDeps,
  type RotationEvent,
  type RotationStep,
  type StepReport,
} from './run-rotation-step'
export {
  loadRotationConfig,
  type RotationConfig,
  type RotationDocument,
  type RotationTarget,
} from './rotation-config'
export {
  createPgConnector,
  quoteIdent,
  type ConnectAs,
  type DbSession,
  type PgCredentials,
} from './db-session'
/** Password verifiers, for tools that provision database roles without sending a plain password. */
export { scramSha256Verifier } from './scram'
export { md5Verifier } from './password-verifier'
export { createSecretsManagerPasswordGenerator, type PasswordGenerator } from './secrets-manager'
export { defaultStrategies, type StrategyRegistry } from './strategies/registry'
export type { RotationStrategy, RotationContext } from './strategies/rotation-strategy'
export type { EngineClients } from './engine-clients'
/**
 * The engine primitives tools need to provision and inspect the MySQL/MariaDB, Redis and IAM targets of the
 * issue-15 strategies without sending a plain password (the demo stack, the tests' environments).
 */
export {
  createMysqlConnector,
  createRedisConnector,
  mysqlNativePasswordHash,
  readCallerIdentity,
  redisPasswordHash,
  type MysqlConnectAs,
  type MysqlCredentials,
  type MysqlSession,
  type RedisConnectAs,
  type RedisCredentials,
  type RedisSession,
  type TlsMode,
} from './engines'
export { MYSQL_DEFAULT_PORT, REDIS_DEFAULT_PORT } from './engine-values'
export { KEY_PROPAGATION } from './strategies/iam-access-key'
export { ONBOARDED_STRATEGIES, onboardSecret, type OnboardReport, type OnboardRequest } from './onboard'
