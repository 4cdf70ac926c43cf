import {
  parseCreateUser,
  readCreateUser,
  readCurrentAccount,
  readServerFlavor,
  type MysqlAccount,
  type MysqlCredentials,
  type MysqlSession,
} from '../engines'
import { parseMysqlSecret, sameServer, type MysqlSecret } from '../engine-values'
import { stepError } from '../rotation-errors'
import { engineCall, isLoginRefused, onServer, requireEngine, withSession } from './strategy-common'
import type { RotationContext } from './rotation-strategy'

/**
 * What the MySQL/MariaDB strategies share: typed values, logins that say what they were for, the checks
 * that refuse what is not proven (a MySQL server, an account whose plugin is not mysql_native_password),
 * and the check of whom a session is. Proven on MariaDB 10.11 (docs/ROTATION-ENGINES-NOTES.md).
 */
export function my(value: unknown, what: string): MysqlSecret {
  return parseMysqlSecret(value, what)
}

/**
 * The login of a value. `withDatabase: false` for logins that only need the password to be right (the
 * setSecret probe, the user changing its own password): a clone whose grants are not copied yet cannot
 * open the secret's database, and that must read as "not done", not as a failure.
 */
export function mysqlCredentials(s: MysqlSecret, withDatabase = true): MysqlCredentials {
  return {
    username: s.username,
    password: s.password,
    host: s.host,
    port: s.port,
    ...(s.dbname === undefined || !withDatabase ? {} : { dbname: s.dbname }),
  }
}

/** `'app'@'%'` in messages (names only: both parts passed the engine's alphabet checks). */
export const printAccount = (a: MysqlAccount): string => `'${a.user}'@'${a.host}'`

/** Log in; a failure names the user, the server and why the login was made. */
export function connectMysql(
  purpose: string,
  creds: MysqlCredentials,
  ctx: RotationContext,
): Promise<MysqlSession> {
  const connect = requireEngine(ctx, 'mysql')
  return engineCall(`logging in as ${creds.username} ${onServer(creds)} (${purpose})`, () => connect(creds))
}

/** Log in with `creds`: true if they work, false when the server refuses them, throws on anything else. */
export async function mysqlCanLogIn(creds: MysqlCredentials, ctx: RotationContext): Promise<boolean> {
  let session: MysqlSession
  try {
    session = await connectMysql('do the pending credentials work yet?', creds, ctx)
  } catch (err) {
    if (isLoginRefused(err)) return false
    throw err
  }
  await session.close()
  return true
}

/**
 * Refuse a server this rotation is not proven on. MySQL (as opposed to MariaDB) needs other statements to
 * change a password without sending it (docs/ROTATION.md, "MySQL and MariaDB"), and no MySQL server can
 * run in this project's tests, so it is refused rather than tried.
 */
export async function checkProvenServer(s: MysqlSession, where: string, ctx: RotationContext): Promise<void> {
  const { flavor } = await engineCall(`reading the server version ${where}`, () => readServerFlavor(s))
  if (flavor !== 'mariadb')
    throw stepError(
      ctx.scope,
      `the server ${where} is MySQL, not MariaDB: the MySQL strategies are proven on MariaDB only, so a MySQL server is refused (see docs/ROTATION.md)`,
    )
}

/**
 * Refuse an account whose authentication is not `mysql_native_password` alone (MySQL 8's
 * caching_sha2_password, MariaDB's ed25519, several methods): its password would be switched to another
 * plugin, or could not be set without sending it.
 */
export async function checkNativeAccount(
  s: MysqlSession,
  account: MysqlAccount,
  where: string,
): Promise<void> {
  const line = await engineCall(`reading the account ${printAccount(account)} ${where}`, () =>
    readCreateUser(s, account),
  )
  await engineCall(`checking the authentication of ${printAccount(account)} ${where}`, () =>
    parseCreateUser(line, account),
  )
}

/**
 * testSecret: log in with the pending value and check whom the server took it for: CURRENT_USER() must be
 * the pending user (and the expected host pattern, when known).
 */
export async function verifyMysqlLogin(
  creds: MysqlCredentials,
  expectedHost: string | undefined,
  ctx: RotationContext,
): Promise<void> {
  const session = await connectMysql('testing the pending credentials', creds, ctx)
  const account = await withSession(session, (s) =>
    engineCall(`checking who the pending session is ${onServer(creds)}`, () => readCurrentAccount(s)),
  )
  if (account.user !== creds.username)
    throw stepError(ctx.scope, 'the pending credentials logged in as a different user')
  if (expectedHost !== undefined && account.host !== expectedHost)
    throw stepError(
      ctx.scope,
      `the pending credentials logged in as the account ${printAccount(account)}, not the one with host '${expectedHost}' ${onServer(creds)}`,
    )
}

/** The same server and database, and the same account: a pending value may change nothing else. */
export function checkSameMysqlSystem(pending: MysqlSecret, current: MysqlSecret, ctx: RotationContext): void {
  if (
    !sameServer(pending, current) ||
    pending.dbname !== current.dbname ||
    pending.accountHost !== current.accountHost
  )
    throw stepError(
      ctx.scope,
      'refusing a pending value whose host, port, dbname or accountHost differs from the current one',
    )
}
