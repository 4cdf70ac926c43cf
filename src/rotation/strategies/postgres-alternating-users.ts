import { quoteIdent, type DbSession, type PgCredentials } from '../db-session'
import { passwordClause, readPasswordEncryption } from '../password-verifier'
import { attempt, stepError } from '../rotation-errors'
import { parsePostgresMaster, PG_USERNAME_PATTERN, type PostgresSecret } from '../secret-value'
import { syncClone } from './pg-clone-sync'
import {
  canLogIn,
  checkOnlyChanged,
  checkSameSystem,
  connectFor,
  generatePassword,
  pg,
  verifyLogin,
  whereIs,
  withSession,
} from './pg-common'
import type { RotationContext, RotationStrategy } from './rotation-strategy'

/**
 * PostgreSQL alternating users: a master login creates `<user>_clone` on the first rotation and then
 * alternates between the two, so the previous credentials keep working through the next rotation. Either
 * user may be AWSCURRENT at any time, so the two must be interchangeable for the application: the base user
 * owns everything and the clone acts as it (pg-clone-sync.ts), re-synced by the master on every rotation in
 * the same transaction as the password change.
 */
export const CLONE_SUFFIX = '_clone'

export function alternateUsername(username: string): string {
  return username.endsWith(CLONE_SUFFIX)
    ? username.slice(0, -CLONE_SUFFIX.length)
    : `${username}${CLONE_SUFFIX}`
}

export function baseUsername(username: string): string {
  return username.endsWith(CLONE_SUFFIX) ? username.slice(0, -CLONE_SUFFIX.length) : username
}

/**
 * How the master logs in: its own username and password; host and port from the master secret when it has
 * them (they must be the rotated secret's), else from the rotated secret (an RDS-managed master secret holds
 * only a username and a password); always the rotated secret's database, because that is where the
 * clone's objects are reassigned. AWS's own rotation template takes the database from the rotated secret too.
 */
export function masterCredentials(
  masterId: string,
  masterValue: unknown,
  current: PostgresSecret,
  ctx: RotationContext,
): PgCredentials {
  const master = parsePostgresMaster(masterValue, masterId)
  const host = master.host ?? current.host
  const port = master.port ?? current.port
  if (host.toLowerCase() !== current.host.toLowerCase() || port !== current.port)
    throw stepError(
      ctx.scope,
      `refusing the master secret ${masterId}: its host or port is not the current value's`,
    )
  return { username: master.username, password: master.password, host, port, dbname: current.dbname }
}

async function setPasswordAndSync(
  s: DbSession,
  p: PostgresSecret,
  base: string,
  where: string,
  ctx: RotationContext,
): Promise<void> {
  const clone = `${base}${CLONE_SUFFIX}`
  const run = (what: string, sql: string, params?: readonly unknown[]): Promise<unknown> =>
    attempt(`${what} ${where}`, () => s.query(sql, params))
  await run('starting a transaction', 'BEGIN')
  try {
    const encryption = await readPasswordEncryption(s, where)
    const exists = await attempt(`looking up role ${p.username} ${where}`, () =>
      s.query('SELECT 1 AS found FROM pg_catalog.pg_roles WHERE rolname = $1', [p.username]),
    )
    const verb = exists.length === 0 ? 'CREATE' : 'ALTER'
    await run(
      `${verb === 'CREATE' ? 'creating' : 'changing the password of'} role ${p.username}`,
      `${verb} ROLE ${quoteIdent(p.username)} WITH LOGIN ${passwordClause(encryption, p.username, p.password, ctx.randomBytes)}`,
    )
    const cloneExists =
      p.username === clone ||
      (
        await attempt(`looking up role ${clone} ${where}`, () =>
          s.query('SELECT 1 AS found FROM pg_catalog.pg_roles WHERE rolname = $1', [clone]),
        )
      ).length > 0
    if (cloneExists) {
      const synced = await syncClone(s, { base, clone }, where, ctx.scope)
      for (const warning of synced.warnings)
        ctx.log.warn(`${ctx.scope.step}: ${warning}`, { secretId: ctx.scope.secretId, step: ctx.scope.step })
    }
    await run('committing', 'COMMIT')
  } catch (err) {
    await s.query('ROLLBACK').catch(() => undefined)
    throw err
  }
}

export const postgresAlternatingUsersStrategy: RotationStrategy = {
  kind: 'postgres-alternating-users',
  updatesExternalSystem: true,
  async generate(current, ctx) {
    const c = pg(current.value, 'current')
    const next = alternateUsername(c.username)
    if (!PG_USERNAME_PATTERN.test(next))
      throw stepError(ctx.scope, 'the alternate user name would exceed 63 characters')
    return { username: next, password: await generatePassword(ctx) }
  },
  checkPending(pending, current, ctx) {
    const p = pg(pending.value, 'pending')
    const c = pg(current.value, 'current')
    if (p.username !== alternateUsername(c.username)) {
      throw stepError(
        ctx.scope,
        'refusing a pending value whose user is not the alternate of the current user',
      )
    }
    checkSameSystem(p, c, ctx)
    checkOnlyChanged(pending, current, ['password', 'username'], ctx)
  },
  accepts: (pending, ctx) => canLogIn(pg(pending, 'pending'), ctx),
  async apply(pending, current, ctx) {
    const p = pg(pending, 'pending')
    const c = pg(current, 'current')
    const masterId = ctx.target.masterSecretId
    if (masterId === undefined)
      throw stepError(ctx.scope, 'postgres-alternating-users needs a masterSecretId')
    const master = masterCredentials(masterId, await ctx.readMasterSecret(masterId), c, ctx)
    const session = await connectFor(`as the master of ${masterId}`, master, ctx)
    await withSession(session, (s) =>
      setPasswordAndSync(s, p, baseUsername(p.username), whereIs(master), ctx),
    )
  },
  verify: (pending, ctx) => {
    const p = pg(pending, 'pending')
    return verifyLogin(p, baseUsername(p.username), ctx)
  },
}
