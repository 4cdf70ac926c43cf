import type { RotationStrategyKind } from '../../contract/rotation-strategies'
import { iamAccessKeyStrategy } from './iam-access-key'
import { mysqlAlternatingUsersStrategy } from './mysql-alternating-users'
import { mysqlSingleUserStrategy } from './mysql-single-user'
import { postgresAlternatingUsersStrategy } from './postgres-alternating-users'
import { postgresSingleUserStrategy } from './postgres-user-password'
import { randomPasswordStrategy } from './random-password'
import { redisAclAlternatingUsersStrategy } from './redis-acl-alternating-users'
import { redisAclSingleUserStrategy } from './redis-acl-single-user'
import type { RotationStrategy } from './rotation-strategy'

export type StrategyRegistry = Readonly<Record<RotationStrategyKind, RotationStrategy>>

export const defaultStrategies: StrategyRegistry = Object.freeze({
  random: randomPasswordStrategy,
  'postgres-single-user': postgresSingleUserStrategy,
  'postgres-alternating-users': postgresAlternatingUsersStrategy,
  'mysql-single-user': mysqlSingleUserStrategy,
  'mysql-alternating-users': mysqlAlternatingUsersStrategy,
  'redis-acl-single-user': redisAclSingleUserStrategy,
  'redis-acl-alternating-users': redisAclAlternatingUsersStrategy,
  'iam-access-key': iamAccessKeyStrategy,
})
