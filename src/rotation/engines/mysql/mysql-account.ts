import { MYSQL_USER_PATTERN } from '../../../contract/rotation-strategies'
import { EngineError } from '../engine-error'

export { MYSQL_USER_PATTERN }

/**
 * A MySQL/MariaDB account is a user name and a host pattern (`'app'@'%'`, `'app'@'10.0.%'`): two accounts
 * with the same name are different users with their own password and grants. Both parts are checked
 * against a strict alphabet before they are embedded in SQL (account names cannot be bound as parameters in
 * CREATE/ALTER USER, GRANT or SHOW GRANTS), so quoting never depends on the server's sql_mode
 * (NO_BACKSLASH_ESCAPES, ANSI_QUOTES).
 */
export interface MysqlAccount {
  readonly user: string
  readonly host: string
}

/**
 * User names: letters, digits and `_ $ . -`, 1–32 characters (MySQL's limit; MariaDB allows 80, but a clone
 * `<user>_clone` has to fit both). Host patterns: what MySQL accepts for hosts — names, IPv4/IPv6 literals,
 * `%`/`_` wildcards, `addr/netmask` and `addr/prefix` — 1–255 characters; `localhost` included.
 */
export const MYSQL_HOST_PATTERN = /^[A-Za-z0-9_.%:/-]{1,255}$/

export function assertMysqlUser(user: string): void {
  if (!MYSQL_USER_PATTERN.test(user))
    throw new EngineError('invalid-input', 'MySQL user name must be 1–32 characters of [A-Za-z0-9_$.-]')
}

export function assertHostPattern(host: string): void {
  if (!MYSQL_HOST_PATTERN.test(host))
    throw new EngineError('invalid-input', 'MySQL host pattern must be 1–255 characters of [A-Za-z0-9_.%:/-]')
}

/** `'user'@'host'`, after both checks. Safe in any statement that takes an account. */
export function quoteAccount(account: MysqlAccount): string {
  assertMysqlUser(account.user)
  assertHostPattern(account.host)
  return `'${account.user}'@'${account.host}'`
}

/**
 * The ways a server prints an account in SHOW GRANTS / SHOW CREATE USER: backticks (MariaDB 10.x, MySQL 8)
 * or single quotes (MySQL 5.7). Used to find and replace the grantee when copying grants to a clone.
 */
export function printedAccountForms(account: MysqlAccount): string[] {
  assertMysqlUser(account.user)
  assertHostPattern(account.host)
  return [`\`${account.user}\`@\`${account.host}\``, `'${account.user}'@'${account.host}'`]
}

/** The alternate user of alternating rotation: `<user>_clone`, or back to `<user>` from a clone. */
export function alternateUser(user: string, suffix = '_clone'): string {
  const alternate = user.endsWith(suffix) ? user.slice(0, -suffix.length) : `${user}${suffix}`
  assertMysqlUser(alternate)
  return alternate
}
