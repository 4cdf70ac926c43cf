import * as z from 'zod/mini'
import {
  ACCESS_KEY_ID_PATTERN,
  ACL_USER_PATTERN,
  IAM_USER_NAME_PATTERN,
  MYSQL_HOST_PATTERN,
  MYSQL_USER_PATTERN,
} from './engines'
import { InvalidSecretValueError } from './rotation-errors'
import { fieldProblems, toPort, type SecretValue } from './secret-value'

/**
 * The secret values of the MySQL/MariaDB, Redis ACL and IAM access key strategies, parsed in one place like
 * PostgreSQL's (secret-value.ts). Names are checked against the same patterns the engine primitives use
 * before they reach a statement; errors name fields and zod codes, never values.
 */
export const MYSQL_DEFAULT_PORT = 3306
export const REDIS_DEFAULT_PORT = 6379

const Port = z.union([z.int().check(z.gte(1), z.lte(65_535)), z.string().check(z.regex(/^\d{1,5}$/))])
const Host = z.string().check(z.minLength(1), z.maxLength(253))
const Password = z.string().check(z.minLength(1))

/** `{username, password, host, port?, dbname?, accountHost?}`; port 3306 when absent (as AWS's templates). */
export interface MysqlSecret extends SecretValue {
  readonly username: string
  readonly password: string
  readonly host: string
  readonly port: number
  readonly dbname: string | undefined
  /**
   * The host part of the account (`'app'@'10.0.%'`), only needed when several accounts share the user name;
   * the rotation then acts on that account and refuses the others.
   */
  readonly accountHost: string | undefined
}

const MysqlFields = z.looseObject({
  username: z.string().check(z.regex(MYSQL_USER_PATTERN)),
  password: Password,
  host: Host,
  port: z.optional(Port),
  dbname: z.optional(z.string().check(z.minLength(1), z.maxLength(64))),
  accountHost: z.optional(z.string().check(z.regex(MYSQL_HOST_PATTERN))),
})

export function parseMysqlSecret(value: unknown, what: string): MysqlSecret {
  const parsed = MysqlFields.safeParse(value)
  if (!parsed.success)
    throw new InvalidSecretValueError(
      `the ${what} value is not a MySQL secret: ${fieldProblems(parsed.error.issues)}`,
    )
  const d = parsed.data
  return {
    ...d,
    port: d.port === undefined ? MYSQL_DEFAULT_PORT : toPort(d.port, what),
    dbname: d.dbname,
    accountHost: d.accountHost,
  }
}

/** `{username, password, host, port?}`; port 6379 when absent. */
export interface RedisSecret extends SecretValue {
  readonly username: string
  readonly password: string
  readonly host: string
  readonly port: number
}

const RedisFields = z.looseObject({
  username: z.string().check(z.regex(ACL_USER_PATTERN)),
  password: Password,
  host: Host,
  port: z.optional(Port),
})

export function parseRedisSecret(value: unknown, what: string): RedisSecret {
  const parsed = RedisFields.safeParse(value)
  if (!parsed.success)
    throw new InvalidSecretValueError(
      `the ${what} value is not a Redis ACL secret: ${fieldProblems(parsed.error.issues)}`,
    )
  const d = parsed.data
  return { ...d, port: d.port === undefined ? REDIS_DEFAULT_PORT : toPort(d.port, what) }
}

/**
 * A master login for MySQL or Redis: a username and a password, and optionally where the server is (the
 * rotated secret's host and port otherwise, as for PostgreSQL's RDS-managed masters).
 */
export interface EngineMaster {
  readonly username: string
  readonly password: string
  readonly host: string | undefined
  readonly port: number | undefined
}

export function parseEngineMaster(value: unknown, secretId: string, engine: 'MySQL' | 'Redis'): EngineMaster {
  const parsed = z
    .looseObject({
      username: z.string().check(z.regex(engine === 'MySQL' ? MYSQL_USER_PATTERN : ACL_USER_PATTERN)),
      password: Password,
      host: z.optional(Host),
      port: z.optional(Port),
    })
    .safeParse(value)
  if (!parsed.success)
    throw new InvalidSecretValueError(
      `the master secret ${secretId} is not a ${engine} login: ${fieldProblems(parsed.error.issues)}`,
    )
  const { username, password, host, port } = parsed.data
  return {
    username,
    password,
    host,
    port: port === undefined ? undefined : toPort(port, `master secret ${secretId}`),
  }
}

/**
 * `{userName, accessKeyId, secretAccessKey}` of an IAM user. A value whose accessKeyId and secretAccessKey
 * are both empty holds no key yet (what the stack creates): its first rotation makes the user's first key.
 */
export interface AccessKeySecret extends SecretValue {
  readonly userName: string
  /** Empty when the value holds no key yet. */
  readonly accessKeyId: string
  readonly secretAccessKey: string
}

const AccessKeyFields = z.looseObject({
  userName: z.string().check(z.regex(IAM_USER_NAME_PATTERN)),
  accessKeyId: z.union([z.literal(''), z.string().check(z.regex(ACCESS_KEY_ID_PATTERN))]),
  secretAccessKey: z.string().check(z.maxLength(128)),
})

export function parseAccessKeySecret(value: unknown, what: string): AccessKeySecret {
  const parsed = AccessKeyFields.safeParse(value)
  if (!parsed.success)
    throw new InvalidSecretValueError(
      `the ${what} value is not an IAM access key secret: ${fieldProblems(parsed.error.issues)}`,
    )
  const d = parsed.data
  if ((d.accessKeyId === '') !== (d.secretAccessKey === ''))
    throw new InvalidSecretValueError(
      `the ${what} value has only one of accessKeyId and secretAccessKey (both, or neither before the first rotation)`,
    )
  return d
}

/** Host names compare case-insensitively; ports as numbers. */
export function sameServer(
  a: { readonly host: string; readonly port: number },
  b: { readonly host: string; readonly port: number },
): boolean {
  return a.host.toLowerCase() === b.host.toLowerCase() && a.port === b.port
}
