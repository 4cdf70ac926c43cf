import { EngineError } from '../engine-error'
import { assertMysqlUser, quoteAccount, type MysqlAccount } from './mysql-account'
import { flavorOfVersion, type MysqlFlavor } from './mysql-password'
import type { MysqlSession } from './mysql-session'

/**
 * What the rotation reads from the server before it changes anything. SHOW GRANTS / SHOW CREATE USER for
 * another account need SELECT on the `mysql` schema (both servers); for the session's own account they
 * need nothing.
 */

export async function readServerFlavor(
  session: MysqlSession,
): Promise<{ flavor: MysqlFlavor; version: string }> {
  const [row] = await session.query<{ v: unknown }>('SELECT VERSION() AS v')
  const version = typeof row?.v === 'string' ? row.v : ''
  return { flavor: flavorOfVersion(version), version }
}

/** The host patterns that exist for `user` (one account per row of mysql.user). */
export async function readAccountHosts(session: MysqlSession, user: string): Promise<string[]> {
  assertMysqlUser(user)
  const rows = await session.query<{ host: unknown }>(
    'SELECT Host AS host FROM mysql.user WHERE User = ? ORDER BY Host',
    [user],
  )
  return rows.flatMap((r) => (typeof r.host === 'string' ? [r.host] : []))
}

/**
 * The single account of `user`: its host pattern is what a clone copies. Several accounts with the same
 * name (`app@'10.%'` and `app@'%'` with their own passwords and grants) are ambiguous: refused unless the
 * secret names the host (`expectedHost`).
 */
export async function resolveAccount(
  session: MysqlSession,
  user: string,
  expectedHost?: string,
): Promise<MysqlAccount> {
  const hosts = await readAccountHosts(session, user)
  if (expectedHost !== undefined) {
    if (!hosts.includes(expectedHost))
      throw new EngineError('invalid-input', 'no account with that user name and host')
    return { user, host: expectedHost }
  }
  const [host, ...more] = hosts
  if (host === undefined) throw new EngineError('invalid-input', 'no account with that user name')
  if (more.length > 0)
    throw new EngineError('invalid-input', 'several accounts share that user name; name the host')
  return { user, host }
}

/** The account's own host pattern as the server matched this login (CURRENT_USER() = 'user@host'). */
export async function readCurrentAccount(session: MysqlSession): Promise<MysqlAccount> {
  const [row] = await session.query<{ u: unknown }>('SELECT CURRENT_USER() AS u')
  const text = typeof row?.u === 'string' ? row.u : ''
  const at = text.lastIndexOf('@')
  if (at <= 0) throw new EngineError('invalid-input', 'CURRENT_USER() is not user@host')
  return { user: text.slice(0, at), host: text.slice(at + 1) }
}

const firstColumn = (rows: Record<string, unknown>[]): string[] =>
  rows.map((r) => {
    const value = Object.values(r)[0]
    if (typeof value !== 'string') throw new EngineError('invalid-input', 'unexpected SHOW output')
    return value
  })

export async function readGrants(session: MysqlSession, account: MysqlAccount): Promise<string[]> {
  return firstColumn(await session.query(`SHOW GRANTS FOR ${quoteAccount(account)}`))
}

export async function readCreateUser(session: MysqlSession, account: MysqlAccount): Promise<string> {
  const [line] = firstColumn(await session.query(`SHOW CREATE USER ${quoteAccount(account)}`))
  if (line === undefined) throw new EngineError('invalid-input', 'SHOW CREATE USER returned nothing')
  return line
}

export async function accountExists(session: MysqlSession, account: MysqlAccount): Promise<boolean> {
  return (await readAccountHosts(session, account.user)).includes(account.host)
}
