import { Client, escapeIdentifier, escapeLiteral, type ClientConfig } from 'pg'
import type { PgSslMode } from './rotation-config'

/**
 * PostgreSQL access as a side effect: strategies call `connectAs(creds)` and get a `DbSession`, so unit
 * tests pass a fake and only this file knows `pg`. Every connection has a connect timeout and a statement
 * timeout; TLS is `disable`, `require` (encrypted, unverified) or `verify-full` (CA and host name checked).
 */
export interface PgCredentials {
  readonly username: string
  readonly password: string
  readonly host: string
  readonly port: number
  readonly dbname: string
}

export interface DbSession {
  query<R extends Record<string, unknown> = Record<string, unknown>>(
    sql: string,
    params?: readonly unknown[],
  ): Promise<R[]>
  close(): Promise<void>
}

export type ConnectAs = (creds: PgCredentials) => Promise<DbSession>

export interface PgConnectorOptions {
  readonly sslMode: PgSslMode
  readonly connectTimeoutMs: number
  readonly statementTimeoutMs: number
  readonly applicationName?: string
}

export function pgSslConfig(mode: PgSslMode, host: string): ClientConfig['ssl'] {
  switch (mode) {
    case 'disable':
      return false
    case 'require':
      return { rejectUnauthorized: false }
    case 'verify-full':
      // Node checks the certificate chain and that the certificate names `host`; SNI takes names, not IPs.
      return /^[\d.]+$|:/.test(host)
        ? { rejectUnauthorized: true }
        : { rejectUnauthorized: true, servername: host }
    default: {
      const unreachable: never = mode
      throw new Error(`unknown pgSslMode ${String(unreachable)}`)
    }
  }
}

export function createPgConnector(opts: PgConnectorOptions): ConnectAs {
  return async (creds) => {
    const client = new Client({
      host: creds.host,
      port: creds.port,
      user: creds.username,
      password: creds.password,
      database: creds.dbname,
      ssl: pgSslConfig(opts.sslMode, creds.host),
      connectionTimeoutMillis: opts.connectTimeoutMs,
      statement_timeout: opts.statementTimeoutMs,
      query_timeout: opts.statementTimeoutMs + 1000,
      application_name: opts.applicationName ?? 'secret-broker-rotation',
    })
    // A dropped connection is reported on the next query; without a listener it would crash the process.
    client.on('error', () => undefined)
    try {
      await client.connect()
    } catch (err) {
      await client.end().catch(() => undefined)
      throw err
    }
    return {
      async query<R extends Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<R[]> {
        const res = await client.query<R>(sql, params === undefined ? undefined : [...params])
        return res.rows
      },
      close: async () => {
        await client.end().catch(() => undefined)
      },
    }
  }
}

/** The SQLSTATE of a PostgreSQL error, or the errno code of a socket error: safe to log, unlike messages. */
export function dbErrorCode(err: unknown): string | undefined {
  const code = err !== null && typeof err === 'object' ? (err as { code?: unknown }).code : undefined
  return typeof code === 'string' && /^[A-Z0-9_]{1,32}$/.test(code) ? code : undefined
}

/** invalid_password (28P01) or invalid_authorization_specification (28000): these credentials don't log in. */
export function isAuthenticationFailure(err: unknown): boolean {
  const code = dbErrorCode(err)
  return code === '28P01' || code === '28000'
}

/** Always double-quoted, after a strict check, so the name can be embedded in utility statements. */
export function quoteIdent(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_$]{0,62}$/.test(name))
    throw new Error('refusing to quote an identifier outside [A-Za-z_][A-Za-z0-9_$]{0,62}')
  return `"${name}"`
}

/**
 * Any identifier read back from the catalogs (a database or a role this code did not name): pg's own
 * quoting, which doubles embedded quotes. Used only for names the server itself returned.
 */
export function quoteCatalogIdent(name: string): string {
  return escapeIdentifier(name)
}

/**
 * A string literal for a utility statement (which takes no bind parameters): pg's own quoting, which doubles
 * quotes and switches to E'' when the text has a backslash, so it is right whatever standard_conforming_strings says.
 */
export function quoteLiteral(text: string): string {
  return escapeLiteral(text)
}
