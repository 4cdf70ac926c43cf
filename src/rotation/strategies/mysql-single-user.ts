import {
  mysqlNativePasswordHash,
  readCurrentAccount,
  setOwnPasswordStatement,
  type MysqlSession,
} from '../engines'
import { sameServer, type MysqlSecret } from '../engine-values'
import { stepError } from '../rotation-errors'
import {
  checkNativeAccount,
  checkProvenServer,
  checkSameMysqlSystem,
  my,
  mysqlCanLogIn,
  mysqlCredentials,
  printAccount,
  verifyMysqlLogin,
} from './mysql-common'
import {
  checkOnlyChanged,
  engineCall,
  generatePassword,
  isLoginRefused,
  onServer,
  requireEngine,
  withSession,
} from './strategy-common'
import type { RotationContext, RotationStrategy } from './rotation-strategy'

/**
 * MySQL/MariaDB single user: the user changes its own password, logged in with the current value, else
 * AWSPREVIOUS, else an unlabelled (displaced) value, as the PostgreSQL single user does. The password never
 * reaches the server in plain text: the function computes the `mysql_native_password` authentication
 * string and runs `SET PASSWORD = '<hash>'` (MariaDB takes a quoted 41-character hash as the hash; neither
 * server redacts `IDENTIFIED BY '<plain>'` from its general, slow or binary log). No privilege is needed.
 * Refused: a MySQL server (its self-change statement is different and unproven here) and an account whose
 * plugin is not mysql_native_password alone.
 */
async function changeOwnPassword(s: MysqlSession, p: MysqlSecret, ctx: RotationContext): Promise<void> {
  const where = onServer(p)
  await checkProvenServer(s, where, ctx)
  const account = await engineCall(`checking who the session is ${where}`, () => readCurrentAccount(s))
  if (account.user !== p.username)
    throw stepError(ctx.scope, `the login for ${p.username} ${where} acts as another user`)
  if (p.accountHost !== undefined && account.host !== p.accountHost)
    throw stepError(
      ctx.scope,
      `the login for ${p.username} ${where} matched the account ${printAccount(account)}, not the one with host '${p.accountHost}'`,
    )
  await checkNativeAccount(s, account, where)
  const statement = setOwnPasswordStatement('mariadb', mysqlNativePasswordHash(p.password))
  await engineCall(`changing the password of ${printAccount(account)} ${where}`, () => s.query(statement))
}

/** The logins to try, newest first: current, then older values for this very user and server. */
async function* loginsFor(c: MysqlSecret, ctx: RotationContext): AsyncGenerator<MysqlSecret> {
  yield c
  for (const older of await ctx.olderValues()) {
    try {
      const o = my(older, 'older')
      // Only values for this very user and server: an older value can never redirect the change.
      if (o.username === c.username && sameServer(o, c)) yield { ...c, password: o.password }
    } catch {
      // an older value of another shape is simply not a candidate
    }
  }
}

export const mysqlSingleUserStrategy: RotationStrategy = {
  kind: 'mysql-single-user',
  updatesExternalSystem: true,
  async generate(current, ctx) {
    my(current.value, 'current')
    return { password: await generatePassword(ctx) }
  },
  checkPending(pending, current, ctx) {
    const p = my(pending.value, 'pending')
    const c = my(current.value, 'current')
    if (p.username !== c.username)
      throw stepError(ctx.scope, 'refusing a pending value for a different user than the current one')
    checkSameMysqlSystem(p, c, ctx)
    checkOnlyChanged(pending, current, ['password'], ctx)
  },
  accepts: (pending, ctx) => mysqlCanLogIn(mysqlCredentials(my(pending, 'pending'), false), ctx),
  async apply(pending, current, ctx) {
    const p = my(pending, 'pending')
    const c = my(current, 'current')
    const connect = requireEngine(ctx, 'mysql')
    let tried = 0
    for await (const creds of loginsFor(c, ctx)) {
      tried++
      let session: MysqlSession
      try {
        session = await engineCall(
          `logging in as ${creds.username} ${onServer(creds)} (to change its password)`,
          () => connect(mysqlCredentials(creds, false)),
        )
      } catch (err) {
        if (isLoginRefused(err)) continue
        throw err
      }
      await withSession(session, (s) => changeOwnPassword(s, p, ctx))
      return
    }
    throw stepError(
      ctx.scope,
      `none of the ${tried} known credentials for ${c.username} log in ${onServer(c)}; the password was changed outside rotation`,
    )
  },
  verify: (pending, ctx) => {
    const p = my(pending, 'pending')
    return verifyMysqlLogin(mysqlCredentials(p), p.accountHost, ctx)
  },
}
