/**
 * The rotation strategies a stage may declare (`secrets.<name>.rotation.strategy` in serverless.yml): the
 * names shared by the stage schema, the runtime catalog (shown by GET /secrets/{name}/rotation) and the
 * rotation function's strategy registry, and what each one needs. Packaging, the rotation function's
 * configuration and the IAM policy all read the traits below, so a strategy is described in one place.
 */
export const ROTATION_STRATEGIES = [
  'random',
  'postgres-single-user',
  'postgres-alternating-users',
  'mysql-single-user',
  'mysql-alternating-users',
  'redis-acl-single-user',
  'redis-acl-alternating-users',
  'iam-access-key',
] as const
export type RotationStrategyKind = (typeof ROTATION_STRATEGIES)[number]

/** The system a strategy changes: none (random), a database or cache server, or IAM. */
export type RotationEngine = 'none' | 'postgres' | 'mysql' | 'redis' | 'iam'

export interface RotationStrategyTraits {
  readonly engine: RotationEngine
  /** The strategy logs in with a separate master secret (`rotation.masterSecret`, `masterSecretId`). */
  readonly needsMaster: boolean
  /** The strategy alternates between `<user>` and `<user>_clone`. */
  readonly alternating: boolean
}

export const ROTATION_STRATEGY_TRAITS: Readonly<Record<RotationStrategyKind, RotationStrategyTraits>> =
  Object.freeze({
    random: { engine: 'none', needsMaster: false, alternating: false },
    'postgres-single-user': { engine: 'postgres', needsMaster: false, alternating: false },
    'postgres-alternating-users': { engine: 'postgres', needsMaster: true, alternating: true },
    'mysql-single-user': { engine: 'mysql', needsMaster: false, alternating: false },
    'mysql-alternating-users': { engine: 'mysql', needsMaster: true, alternating: true },
    // A Redis user cannot change its own password without ACL rights: both Redis strategies need a master.
    'redis-acl-single-user': { engine: 'redis', needsMaster: true, alternating: false },
    'redis-acl-alternating-users': { engine: 'redis', needsMaster: true, alternating: true },
    'iam-access-key': { engine: 'iam', needsMaster: false, alternating: false },
  })

/** The strategies that need a master secret, for messages ("… only applies to a, b, c"). */
export const STRATEGIES_WITH_MASTER: readonly RotationStrategyKind[] = ROTATION_STRATEGIES.filter(
  (s) => ROTATION_STRATEGY_TRAITS[s].needsMaster,
)

/**
 * The user names each engine's strategies touch, checked before a name reaches a statement (the engine
 * primitives), when a value is parsed, and at packaging (infra/plan.ts).
 * - PostgreSQL: plain identifiers, 63 characters at most.
 * - MySQL/MariaDB: 1–32 of letters, digits and `_ $ . -` (MySQL's limit; MariaDB allows 80, but a clone
 *   `<user>_clone` has to fit both).
 * - Redis ACL: no spaces or control characters (an ACL LIST line could not be replayed), 128 at most.
 * - IAM: IAM's own alphabet for user names, 64 at most.
 */
export const PG_USERNAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/
export const MYSQL_USER_PATTERN = /^[A-Za-z0-9_$.-]{1,32}$/
export const ACL_USER_PATTERN = /^[A-Za-z0-9_.:@+=-]{1,128}$/
export const IAM_USER_NAME_PATTERN = /^[\w+=,.@-]{1,64}$/
