import type { RotationStrategyKind } from '../../contract/rotation-strategies'
import { postgresAlternatingUsersStrategy } from './postgres-alternating-users'
import { postgresSingleUserStrategy } from './postgres-user-password'
import { randomPasswordStrategy } from './random-password'
import type { RotationStrategy } from './rotation-strategy'

export type StrategyRegistry = Readonly<Record<RotationStrategyKind, RotationStrategy>>

export const defaultStrategies: StrategyRegistry = Object.freeze({
  random: randomPasswordStrategy,
  'postgres-single-user': postgresSingleUserStrategy,
  'postgres-alternating-users': postgresAlternatingUsersStrategy,
})
