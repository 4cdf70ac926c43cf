import { createHash } from 'node:crypto'
import { EngineError } from '../engine-error'
import { quoteAccount, type MysqlAccount } from './mysql-account'

/**
 * Passwords reach MySQL/MariaDB only as their `mysql_native_password` authentication string, computed here:
 * neither server redacts `IDENTIFIED BY '<plain>'` from the general or slow log (MariaDB 10.11 writes it
 * verbatim to both, and the binary log keeps CREATE/ALTER USER as sent; proven in
 * tests/integration/engines/mysql-*.test.ts), while a pre-computed string is stored as given.
 *
 *   mysql_native_password:  '*' + upper-case hex( SHA1( SHA1( password ) ) )      (41 characters)
 *
 * The string is not the password, but anyone who has it can guess offline (unsalted SHA1), so logs that
 * show it still deserve protection, as for PostgreSQL's SCRAM verifiers.
 *
 * Which statement, per server (all proven on MariaDB 10.11 except where marked):
 * - alternating users, run by the master: `ALTER USER 'u'@'h' IDENTIFIED WITH mysql_native_password AS
 *   '<hash>'`. The same text works on MariaDB ≥ 10.4 (WITH/AS are synonyms of VIA/USING) and on MySQL 5.7
 *   and 8.0 (not proven here: no MySQL server in Debian). Needs CREATE USER (or UPDATE on `mysql`).
 * - single user, changing its own password: on MariaDB `SET PASSWORD = '<hash>'` (a quoted 41-character
 *   hash is taken as the hash; MariaDB refuses ALTER USER on oneself without CREATE USER, error 1227).
 *   On MySQL ≥ 5.7.6 that same statement would set the password to the literal text of the hash, so it is
 *   never sent there: MySQL gets `ALTER USER CURRENT_USER() IDENTIFIED WITH mysql_native_password AS
 *   '<hash>'` (unproven here; MySQL documents that a user may change its own password without privileges,
 *   whether that covers the AS form must be checked on a MySQL 8 server before the strategy claims it).
 *
 * Not supported: `caching_sha2_password` (MySQL 8's default; its stored form is a salted SHA-256 crypt
 * `$A$005$<20-byte salt><43 chars>` that MySQL accepts with AS, but no MySQL server can prove it here),
 * MariaDB's `ed25519` and `parsec`, and accounts with several authentication methods (`VIA a OR b`): a
 * rotation of such a user is refused rather than silently switching its plugin.
 */
export type MysqlFlavor = 'mariadb' | 'mysql'

export const NATIVE_PLUGIN = 'mysql_native_password'
const NATIVE_HASH = /^\*[0-9A-F]{40}$/

/** `*` + upper hex SHA1(SHA1(password)), over the password's UTF-8 bytes (what clients send). */
export function mysqlNativePasswordHash(password: string): string {
  if (password.length === 0) throw new EngineError('invalid-input', 'password must not be empty')
  const stage1 = createHash('sha1').update(password, 'utf8').digest()
  return `*${createHash('sha1').update(stage1).digest('hex').toUpperCase()}`
}

export function assertNativeHash(hash: string): void {
  if (!NATIVE_HASH.test(hash))
    throw new EngineError('invalid-input', 'authentication string is not a mysql_native_password hash')
}

/** The flavor from `SELECT VERSION()`: MariaDB says so in its version string (`10.11.19-MariaDB-…`). */
export function flavorOfVersion(version: string): MysqlFlavor {
  return /mariadb/i.test(version) ? 'mariadb' : 'mysql'
}

/** `IDENTIFIED WITH mysql_native_password AS '<hash>'`: understood by MariaDB ≥ 10.4 and MySQL 5.7/8.0. */
export function nativeAuthClause(hash: string): string {
  assertNativeHash(hash)
  return `IDENTIFIED WITH ${NATIVE_PLUGIN} AS '${hash}'`
}

/** The master sets another account's password (alternating users). */
export function alterUserPasswordStatement(account: MysqlAccount, hash: string): string {
  return `ALTER USER ${quoteAccount(account)} ${nativeAuthClause(hash)}`
}

/** The user sets its own password (single user); the statement differs per flavor, see above. */
export function setOwnPasswordStatement(flavor: MysqlFlavor, hash: string): string {
  assertNativeHash(hash)
  switch (flavor) {
    case 'mariadb':
      return `SET PASSWORD = '${hash}'`
    case 'mysql':
      return `ALTER USER CURRENT_USER() ${nativeAuthClause(hash)}`
    default: {
      const unreachable: never = flavor
      throw new EngineError('invalid-input', `unknown MySQL flavor ${String(unreachable)}`)
    }
  }
}
