import * as z from 'zod/mini'
import { InvalidSecretValueError } from './rotation-errors'

/**
 * Secret values as rotation sees them: a JSON object with at least a `password`. Parsed in one place, and
 * errors name the field that is wrong, never its content (JSON.parse's own message quotes its input).
 */
export type SecretValue = Readonly<Record<string, unknown>> & { readonly password: string }

export interface PostgresSecret extends SecretValue {
  readonly username: string
  readonly host: string
  readonly port: number
  readonly dbname: string
}

/** PostgreSQL role names this code will touch: plain identifiers, with room for the `_clone` suffix. */
export const PG_USERNAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/

export function parseSecretValue(raw: string | undefined, what: string): SecretValue {
  if (raw === undefined) throw new InvalidSecretValueError(`the ${what} version has no string value`)
  let parsed: unknown
  try {
    parsed = JSON.parse(raw)
  } catch {
    throw new InvalidSecretValueError(`the ${what} value is not JSON`)
  }
  return toSecretValue(parsed, what)
}

export function toSecretValue(parsed: unknown, what: string): SecretValue {
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new InvalidSecretValueError(`the ${what} value is not a JSON object`)
  }
  const password = (parsed as Record<string, unknown>)['password']
  if (typeof password !== 'string' || password.length === 0) {
    throw new InvalidSecretValueError(`the ${what} value has no non-empty string field "password"`)
  }
  return parsed as SecretValue
}

const PostgresFields = z.looseObject({
  username: z.string().check(z.regex(PG_USERNAME_PATTERN)),
  password: z.string().check(z.minLength(1)),
  host: z.string().check(z.minLength(1), z.maxLength(253)),
  port: z.union([z.int().check(z.gte(1), z.lte(65_535)), z.string().check(z.regex(/^\d{1,5}$/))]),
  dbname: z.string().check(z.minLength(1), z.maxLength(63)),
})

export function parsePostgresSecret(value: unknown, what: string): PostgresSecret {
  const parsed = PostgresFields.safeParse(value)
  if (!parsed.success) {
    // Issue paths and codes only: zod messages are safe today, but a path cannot quote a value.
    const fields = [...new Set(parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'} (${i.code})`))]
    throw new InvalidSecretValueError(`the ${what} value is not a PostgreSQL secret: ${fields.join(', ')}`)
  }
  const port = Number(parsed.data.port)
  if (port < 1 || port > 65_535) throw new InvalidSecretValueError(`the ${what} value has an invalid port`)
  return { ...parsed.data, port }
}

/** The same target system: host, port and database. */
export function sameConnection(a: PostgresSecret, b: PostgresSecret): boolean {
  return a.host.toLowerCase() === b.host.toLowerCase() && a.port === b.port && a.dbname === b.dbname
}
