import * as z from 'zod/mini'
import { PG_USERNAME_PATTERN } from '../contract/rotation-strategies'
import { InvalidSecretValueError } from './rotation-errors'

/**
 * Secret values as rotation sees them: a JSON object. The text is parsed in one place (secret-document.ts);
 * each strategy then reads the fields it needs through its own typed parser (a password for the database
 * strategies, an access key for IAM), and errors name the field that is wrong, never its content.
 */
export type SecretValue = Readonly<Record<string, unknown>>

export interface PostgresSecret extends SecretValue {
  readonly username: string
  readonly password: string
  readonly host: string
  readonly port: number
  readonly dbname: string
}

/** PostgreSQL role names this code will touch: plain identifiers (contract/rotation-strategies.ts). */
export { PG_USERNAME_PATTERN }

export function toSecretValue(parsed: unknown, what: string): SecretValue {
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new InvalidSecretValueError(`the ${what} value is not a JSON object`)
  }
  return parsed as SecretValue
}

/** The value's `password`, for the strategies that rotate one. */
export function passwordOf(value: SecretValue, what: string): string {
  const password = value['password']
  if (typeof password !== 'string' || password.length === 0) {
    throw new InvalidSecretValueError(`the ${what} value has no non-empty string field "password"`)
  }
  return password
}

const PostgresFields = z.looseObject({
  username: z.string().check(z.regex(PG_USERNAME_PATTERN)),
  password: z.string().check(z.minLength(1)),
  host: z.string().check(z.minLength(1), z.maxLength(253)),
  port: z.union([z.int().check(z.gte(1), z.lte(65_535)), z.string().check(z.regex(/^\d{1,5}$/))]),
  dbname: z.string().check(z.minLength(1), z.maxLength(63)),
})

export function fieldProblems(issues: readonly { path: PropertyKey[]; code: string }[]): string {
  // Issue paths and codes only: zod messages are safe today, but a path cannot quote a value.
  return [...new Set(issues.map((i) => `${i.path.map(String).join('.') || '(root)'} (${i.code})`))].join(', ')
}

export function toPort(port: number | string, what: string): number {
  const n = Number(port)
  if (n < 1 || n > 65_535) throw new InvalidSecretValueError(`the ${what} value has an invalid port`)
  return n
}

export function parsePostgresSecret(value: unknown, what: string): PostgresSecret {
  const parsed = PostgresFields.safeParse(value)
  if (!parsed.success) {
    throw new InvalidSecretValueError(
      `the ${what} value is not a PostgreSQL secret: ${fieldProblems(parsed.error.issues)}`,
    )
  }
  return { ...parsed.data, port: toPort(parsed.data.port, what) }
}

/**
 * A master secret: a login and a password, and optionally where the server is. RDS-managed master secrets
 * (`rds!db-…`, `rds!cluster-…`) hold only `{"username","password"}`; the rest comes from the rotated secret.
 */
export interface PostgresMaster {
  readonly username: string
  readonly password: string
  readonly host: string | undefined
  readonly port: number | undefined
}

const MasterFields = z.looseObject({
  username: PostgresFields.shape.username,
  password: PostgresFields.shape.password,
  host: z.optional(PostgresFields.shape.host),
  port: z.optional(PostgresFields.shape.port),
})

export function parsePostgresMaster(value: unknown, secretId: string): PostgresMaster {
  const parsed = MasterFields.safeParse(value)
  if (!parsed.success) {
    throw new InvalidSecretValueError(
      `the master secret ${secretId} is not a PostgreSQL login: ${fieldProblems(parsed.error.issues)}`,
    )
  }
  const { username, password, host, port } = parsed.data
  return {
    username,
    password,
    host,
    port: port === undefined ? undefined : toPort(port, `master secret ${secretId}`),
  }
}

/** The same target system: host, port and database. */
export function sameConnection(a: PostgresSecret, b: PostgresSecret): boolean {
  return a.host.toLowerCase() === b.host.toLowerCase() && a.port === b.port && a.dbname === b.dbname
}
