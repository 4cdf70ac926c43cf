/**
 * Engine primitives for the MySQL/MariaDB, Redis ACL and IAM access key strategies (issue 15): sessions,
 * password encodings that keep the plain text off the server, account/user copying, access key calls.
 * The strategies import from here; docs/ROTATION-ENGINES-NOTES.md says what each one is proven to do.
 */
export { EngineError, type EngineErrorKind } from './engine-error'
export { TLS_MODES, type TlsMode } from './tls-mode'

export {
  alternateUser,
  MYSQL_HOST_PATTERN,
  MYSQL_USER_PATTERN,
  quoteAccount,
  type MysqlAccount,
} from './mysql/mysql-account'
export {
  alterUserPasswordStatement,
  mysqlNativePasswordHash,
  setOwnPasswordStatement,
  type MysqlFlavor,
} from './mysql/mysql-password'
export {
  parseCreateUser,
  planCloneCreation,
  planCloneUpdate,
  sameGrants,
  type ClonePlan,
} from './mysql/mysql-grants'
export {
  accountExists,
  readCreateUser,
  readCurrentAccount,
  readGrants,
  readServerFlavor,
  resolveAccount,
} from './mysql/mysql-introspection'
export {
  createMysqlConnector,
  type MysqlConnectAs,
  type MysqlCredentials,
  type MysqlSession,
} from './mysql/mysql-session'

export {
  ACL_USER_PATTERN,
  addPasswordArgs,
  cloneUserArgs,
  redisPasswordHash,
  removeOtherPasswordsArgs,
  type AclUser,
} from './redis/redis-acl'
export {
  createRedisConnector,
  type RedisConnectAs,
  type RedisCredentials,
  type RedisSession,
} from './redis/redis-session'

export {
  ACCESS_KEY_ID_PATTERN,
  assertIamUserName,
  createAccessKey,
  IAM_USER_NAME_PATTERN,
  deleteAccessKey,
  listAccessKeys,
  planKeyRoom,
  setAccessKeyStatus,
  type AccessKeyInfo,
  type KeyRoomPlan,
  type KnownKeys,
  type NewAccessKey,
} from './iam/iam-access-keys'
export {
  arnNamesUser,
  readCallerIdentity,
  verifyAccessKey,
  type AccessKeyCredentials,
  type CallerIdentity,
  type GetCallerIdentity,
  type VerifyKeyOptions,
} from './iam/caller-identity'
