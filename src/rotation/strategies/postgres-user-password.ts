import { isAuthenticationFailure, quoteIdent, type DbSession } from '../db-session'
import { stepError } from '../rotation-errors'
import { scramSha256Verifier, SCRAM_VERIFIER_PATTERN } from '../scram'
import {
  parsePostgresSecret,
  PG_USERNAME_PATTERN,
  sameConnection,
  type PostgresSecret,
  type SecretValue,
} from '../secret-value'
import type { RotationContext, RotationStrategy } from './rotation-strategy'

/**
 * PostgreSQL password rotation. The password never reaches the server in plain text: the Lambda computes a
 * SCRAM-SHA-256 verifier and runs `ALTER ROLE "user" PASSWORD '<verifier>'` (utility statements take no bind
 * parameters, so whatever is sent is what statement logging and pg_stat_activity show). Identifiers are
 * checked strictly and double-quoted; the verifier is checked against its format before it is embedded.
 *
 * - single user: the user changes its own password, logged in with the current value, else AWSPREVIOUS,
 *   else an unlabelled (displaced) value, as the AWS Python template does.
 * - alternating users: a master login creates `<user>_clone` (member of `<user>`) on the first rotation
 *   and alternates between the two, so the previous credentials keep working through the next rotation.
 */
export const CLONE_SUFFIX = '_clone'

export function alternateUsername(username: string): string {
  return username.endsWith(CLONE_SUFFIX)
    ? username.slice(0, -CLONE_SUFFIX.length)
    : `${username}${CLONE_SUFFIX}`
}

function pg(value: unknown, what: string): PostgresSecret {
  return parsePostgresSecret(value, what)
}

/** `ALTER ROLE`/`CREATE ROLE` with a verifier literal; refuses anything that is not a well-formed verifier. */
function passwordClause(password: string, ctx: RotationContext): string {
  const verifier = scramSha256Verifier(password, ctx.randomBytes)
  if (!SCRAM_VERIFIER_PATTERN.test(verifier)) throw stepError(ctx.scope, 'internal: malformed SCRAM verifier')
  return `PASSWORD '${verifier}'`
}

async function withSession<T>(session: DbSession, fn: (s: DbSession) => Promise<T>): Promise<T> {
  try {
    return await fn(session)
  } finally {
    await session.close()
  }
}

/** Log in with `creds`; true if they work, false on an authentication failure, throws on anything else. */
async function canLogIn(creds: PostgresSecret, ctx: RotationContext): Promise<boolean> {
  try {
    const session = await ctx.connectAs(creds)
    await withSession(session, (s) => s.query('SELECT 1'))
    return true
  } catch (err) {
    if (isAuthenticationFailure(err)) return false
    throw err
  }
}

async function verifyLogin(pending: SecretValue, ctx: RotationContext): Promise<void> {
  const creds = pg(pending, 'pending')
  const session = await ctx.connectAs(creds)
  const rows = await withSession(session, (s) =>
    s.query<{ user_name: string }>('SELECT current_user AS user_name, now() AS checked_at'),
  )
  if (rows[0]?.user_name !== creds.username)
    throw stepError(ctx.scope, 'the pending credentials logged in as a different user')
}

function checkSameSystem(pending: PostgresSecret, current: PostgresSecret, ctx: RotationContext): void {
  if (!sameConnection(pending, current)) {
    throw stepError(
      ctx.scope,
      'refusing a pending value whose host, port or dbname differs from the current one',
    )
  }
}

async function generatePassword(ctx: RotationContext): Promise<string> {
  return ctx.passwords.generate({
    length: ctx.target.passwordLength,
    excludeCharacters: ctx.target.excludeCharacters,
  })
}

export const postgresSingleUserStrategy: RotationStrategy = {
  kind: 'postgres-single-user',
  updatesExternalSystem: true,
  async generate(current, ctx) {
    pg(current, 'current')
    return { ...current, password: await generatePassword(ctx) }
  },
  checkPending(pending, current, ctx) {
    const p = pg(pending, 'pending')
    const c = pg(current, 'current')
    if (p.username !== c.username)
      throw stepError(ctx.scope, 'refusing a pending value for a different user than the current one')
    checkSameSystem(p, c, ctx)
  },
  accepts: (pending, ctx) => canLogIn(pg(pending, 'pending'), ctx),
  async apply(pending, current, ctx) {
    const p = pg(pending, 'pending')
    const c = pg(current, 'current')
    const logins = (): AsyncGenerator<PostgresSecret> =>
      (async function* () {
        yield c
        for (const older of await ctx.olderValues()) {
          try {
            const o = pg(older, 'older')
            // Only values for this very user and system: an older value can never redirect the change.
            if (o.username === c.username && sameConnection(o, c)) yield o
          } catch {
            // an older value of another shape is simply not a candidate
          }
        }
      })()
    let tried = 0
    for await (const creds of logins()) {
      tried++
      let session: DbSession
      try {
        session = await ctx.connectAs(creds)
      } catch (err) {
        if (isAuthenticationFailure(err)) continue
        throw err
      }
      await withSession(session, (s) =>
        s.query(`ALTER ROLE ${quoteIdent(p.username)} ${passwordClause(p.password, ctx)}`),
      )
      return
    }
    throw stepError(
      ctx.scope,
      `none of the ${tried} known credentials for this user log in; the password was changed outside rotation`,
    )
  },
  verify: verifyLogin,
}

export const postgresAlternatingUsersStrategy: RotationStrategy = {
  kind: 'postgres-alternating-users',
  updatesExternalSystem: true,
  async generate(current, ctx) {
    const c = pg(current, 'current')
    const next = alternateUsername(c.username)
    if (!PG_USERNAME_PATTERN.test(next))
      throw stepError(ctx.scope, 'the alternate user name would exceed 63 characters')
    return { ...current, username: next, password: await generatePassword(ctx) }
  },
  checkPending(pending, current, ctx) {
    const p = pg(pending, 'pending')
    const c = pg(current, 'current')
    if (p.username !== alternateUsername(c.username)) {
      throw stepError(
        ctx.scope,
        'refusing a pending value whose user is not the alternate of the current user',
      )
    }
    checkSameSystem(p, c, ctx)
  },
  accepts: (pending, ctx) => canLogIn(pg(pending, 'pending'), ctx),
  async apply(pending, current, ctx) {
    const p = pg(pending, 'pending')
    const c = pg(current, 'current')
    const masterId = ctx.target.masterSecretId
    if (masterId === undefined)
      throw stepError(ctx.scope, 'postgres-alternating-users needs a masterSecretId')
    const master = pg(await ctx.readMasterSecret(masterId), 'master')
    if (master.host.toLowerCase() !== c.host.toLowerCase() || master.port !== c.port) {
      throw stepError(ctx.scope, 'refusing a master secret for another server than the current value')
    }
    const base = p.username.endsWith(CLONE_SUFFIX) ? c.username : p.username
    const session = await ctx.connectAs(master)
    await withSession(session, async (s) => {
      await s.query('BEGIN')
      try {
        const exists = await s.query('SELECT 1 AS found FROM pg_catalog.pg_roles WHERE rolname = $1', [
          p.username,
        ])
        const verb = exists.length === 0 ? 'CREATE' : 'ALTER'
        await s.query(`${verb} ROLE ${quoteIdent(p.username)} WITH LOGIN ${passwordClause(p.password, ctx)}`)
        // The clone gets the original user's privileges by membership (AWS's template does the same); GRANT
        // is idempotent, so a retry after a crash between the two statements still ends with the grant.
        if (p.username !== base) await s.query(`GRANT ${quoteIdent(base)} TO ${quoteIdent(p.username)}`)
        await s.query('COMMIT')
      } catch (err) {
        await s.query('ROLLBACK').catch(() => undefined)
        throw err
      }
    })
  },
  verify: verifyLogin,
}
