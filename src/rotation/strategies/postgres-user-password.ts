import { isAuthenticationFailure, quoteIdent, type DbSession } from '../db-session'
import { passwordClause, readPasswordEncryption } from '../password-verifier'
import { attempt, failed, stepError } from '../rotation-errors'
import { sameConnection, type PostgresSecret } from '../secret-value'
import {
  canLogIn,
  checkOnlyChanged,
  checkSameSystem,
  generatePassword,
  pg,
  verifyLogin,
  whereIs,
  withSession,
} from './pg-common'
import type { RotationContext, RotationStrategy } from './rotation-strategy'

/**
 * PostgreSQL single-user password rotation: the user changes its own password, logged in with the current
 * value, else AWSPREVIOUS, else an unlabelled (displaced) value, as the AWS Python template does. The
 * password never reaches the server in plain text: the function computes the verifier in the storage the
 * server is configured for (password-verifier.ts) and runs `ALTER ROLE "user" PASSWORD '<verifier>'`
 * (utility statements take no bind parameters, so whatever is sent is what statement logging and
 * pg_stat_activity show). Identifiers are checked strictly and double-quoted.
 */

/** `ALTER ROLE` as the user itself, in the storage its session's password_encryption names. */
async function changeOwnPassword(s: DbSession, p: PostgresSecret, ctx: RotationContext): Promise<void> {
  const where = whereIs(p)
  const encryption = await readPasswordEncryption(s, where)
  await attempt(`changing the password of role ${p.username} ${where}`, () =>
    s.query(
      `ALTER ROLE ${quoteIdent(p.username)} ${passwordClause(encryption, p.username, p.password, ctx.randomBytes)}`,
    ),
  )
}

export const postgresSingleUserStrategy: RotationStrategy = {
  kind: 'postgres-single-user',
  updatesExternalSystem: true,
  async generate(current, ctx) {
    pg(current.value, 'current')
    return { password: await generatePassword(ctx) }
  },
  checkPending(pending, current, ctx) {
    const p = pg(pending.value, 'pending')
    const c = pg(current.value, 'current')
    if (p.username !== c.username)
      throw stepError(ctx.scope, 'refusing a pending value for a different user than the current one')
    checkSameSystem(p, c, ctx)
    checkOnlyChanged(pending, current, ['password'], ctx)
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
        return failed(`logging in as ${creds.username} ${whereIs(creds)} (to change its password)`, err)
      }
      await withSession(session, (s) => changeOwnPassword(s, p, ctx))
      return
    }
    throw stepError(
      ctx.scope,
      `none of the ${tried} known credentials for ${c.username} log in ${whereIs(c)}; the password was changed outside rotation`,
    )
  },
  verify: (pending, ctx) => {
    const p = pg(pending, 'pending')
    return verifyLogin(p, p.username, ctx)
  },
}
