import { isAuthenticationFailure, type DbSession, type PgCredentials } from '../db-session'
import { attempt, failed, stepError } from '../rotation-errors'
import { withSession } from './strategy-common'
import { parsePostgresSecret, sameConnection, type PostgresSecret } from '../secret-value'
import type { RotationContext } from './rotation-strategy'

/**
 * What the PostgreSQL strategies share: typed values, where a database is (for error messages), logins
 * that say what they were for when they fail, and the pending-value checks.
 */
export function pg(value: unknown, what: string): PostgresSecret {
  return parsePostgresSecret(value, what)
}

const PRINTABLE_HOST = /^[A-Za-z0-9._:[\]-]{1,253}$/
const PRINTABLE_DB = /^[A-Za-z0-9_$.-]{1,63}$/

/** "on db.internal:5432/app": names the database in an error, printing only what looks like a name. */
export function whereIs(c: Pick<PgCredentials, 'host' | 'port' | 'dbname'>): string {
  const host = PRINTABLE_HOST.test(c.host) ? c.host : '(host)'
  const db = PRINTABLE_DB.test(c.dbname) ? c.dbname : '(database)'
  return `on ${host}:${c.port}/${db}`
}

export { checkOnlyChanged, generatePassword, withSession } from './strategy-common'

/** Log in; a failure names the role, the database and why the login was made. */
export function connectFor(purpose: string, creds: PgCredentials, ctx: RotationContext): Promise<DbSession> {
  return attempt(`logging in as ${creds.username} ${whereIs(creds)} (${purpose})`, () => ctx.connectAs(creds))
}

/** Log in with `creds`; true if they work, false on an authentication failure, throws on anything else. */
export async function canLogIn(creds: PostgresSecret, ctx: RotationContext): Promise<boolean> {
  let session: DbSession
  try {
    session = await ctx.connectAs(creds)
  } catch (err) {
    if (isAuthenticationFailure(err)) return false
    return failed(
      `logging in as ${creds.username} ${whereIs(creds)} (do the pending credentials work yet?)`,
      err,
    )
  }
  await withSession(session, (s) => attempt(`running SELECT 1 ${whereIs(creds)}`, () => s.query('SELECT 1')))
  return true
}

/**
 * The role a session of role $1 acts as in this database: its `role` setting (per database, then for every
 * database, then a database-wide one), else the role itself. This is the order PostgreSQL applies them in.
 */
const ACTING_ROLE_SQL = `coalesce(
  (SELECT substr(cfg, 6) FROM pg_catalog.pg_db_role_setting s CROSS JOIN LATERAL unnest(s.setconfig) AS cfg
    WHERE s.setrole IN (0, (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = $1))
      AND s.setdatabase IN (0, (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database()))
      AND cfg LIKE 'role=%'
    ORDER BY (s.setrole <> 0) DESC, (s.setdatabase <> 0) DESC LIMIT 1),
  $1)`

/**
 * testSecret: log in with the pending value and check whom the session is: `session_user` must be the
 * pending user, and `current_user` the role a session of `actsAs` would act as (the user itself for a
 * single user; the base user for both alternating users, which is what makes them interchangeable).
 */
export async function verifyLogin(
  creds: PostgresSecret,
  actsAs: string,
  ctx: RotationContext,
): Promise<void> {
  const session = await connectFor('testing the pending credentials', creds, ctx)
  const rows = await withSession(session, (s) =>
    attempt(`checking who the pending session is ${whereIs(creds)}`, () =>
      s.query<{ session_name: string; acting_name: string; expected_acting: string }>(
        `SELECT session_user AS session_name, current_user AS acting_name, ${ACTING_ROLE_SQL} AS expected_acting`,
        [actsAs],
      ),
    ),
  )
  const row = rows[0]
  if (row?.session_name !== creds.username)
    throw stepError(ctx.scope, 'the pending credentials logged in as a different user')
  if (row.acting_name !== row.expected_acting)
    throw stepError(
      ctx.scope,
      `a session of ${creds.username} acts as ${row.acting_name}, not as ${row.expected_acting} ${whereIs(creds)}`,
    )
}

export function checkSameSystem(
  pending: PostgresSecret,
  current: PostgresSecret,
  ctx: RotationContext,
): void {
  if (!sameConnection(pending, current)) {
    throw stepError(
      ctx.scope,
      'refusing a pending value whose host, port or dbname differs from the current one',
    )
  }
}
