import type { Connection, ConnectionOptions, SslOptions } from 'mysql2/promise'
import { EngineError, safeCode, type EngineErrorKind } from '../engine-error'
import { isIpLiteral, type TlsMode } from '../tls-mode'

/**
 * MySQL/MariaDB access as a side effect, like db-session.ts for PostgreSQL: strategies call
 * `connectAs(creds)` and get a `MysqlSession`, so unit tests pass a fake and only this file knows `mysql2`
 * (pure JavaScript: no compiled driver to break at a Lambda runtime change, AWS issues #52/#120/#143).
 * Every connection has a connect timeout and a per-query timeout; TLS follows the function's `TlsMode`.
 * Every error leaves as an `EngineError` carrying the server's error name only: mysql2 errors keep the
 * statement (`err.sql`) and MariaDB quotes it in syntax errors, and a statement can hold a password hash.
 */
export interface MysqlCredentials {
  readonly username: string
  readonly password: string
  readonly host: string
  readonly port: number
  /** Optional default database. */
  readonly dbname?: string
}

export interface MysqlSession {
  /** Text-protocol query; `params` are bound client-side by mysql2 (not usable for account names). */
  query<R extends Record<string, unknown> = Record<string, unknown>>(
    sql: string,
    params?: readonly unknown[],
  ): Promise<R[]>
  close(): Promise<void>
}

export type MysqlConnectAs = (creds: MysqlCredentials) => Promise<MysqlSession>

export interface MysqlConnectorOptions {
  readonly tlsMode: TlsMode
  readonly connectTimeoutMs: number
  readonly queryTimeoutMs: number
  /** Extra trusted CA certificates (PEM) for `verify-full`, e.g. a private CA; Node's store otherwise. */
  readonly ca?: string
}

/**
 * mysql2's TLS options per mode. mysql2 checks the host name only when `verifyIdentity` is set (its default
 * `checkServerIdentity` accepts any name) and sends no SNI for an IP literal: `verify-full` sets both
 * `rejectUnauthorized` and `verifyIdentity`, and refuses an IP literal host, whose name mysql2 would check
 * against "localhost" instead of the address.
 */
export function mysqlTlsOptions(mode: TlsMode, host: string, ca?: string): SslOptions | undefined {
  switch (mode) {
    case 'disable':
      return undefined
    case 'require':
      return { rejectUnauthorized: false }
    case 'verify-full':
      if (isIpLiteral(host))
        throw new EngineError('invalid-input', 'verify-full needs a host name, not an IP address, for MySQL')
      return { rejectUnauthorized: true, verifyIdentity: true, ...(ca === undefined ? {} : { ca }) }
    default: {
      const unreachable: never = mode
      throw new EngineError('invalid-input', `unknown TLS mode ${String(unreachable)}`)
    }
  }
}

// 1698 ER_ACCESS_DENIED_NO_PASSWORD_ERROR is a refused login too (e.g. an account that uses unix_socket).
const AUTH_FAILED = new Set([
  'ER_ACCESS_DENIED_ERROR',
  'ER_ACCESS_DENIED_NO_PASSWORD_ERROR',
  'ER_ACCOUNT_HAS_BEEN_LOCKED',
  'ER_MUST_CHANGE_PASSWORD_LOGIN',
])
const DENIED = new Set([
  'ER_DBACCESS_DENIED_ERROR',
  'ER_TABLEACCESS_DENIED_ERROR',
  'ER_COLUMNACCESS_DENIED_ERROR',
  'ER_SPECIFIC_ACCESS_DENIED_ERROR',
  'ER_CANT_CREATE_USER_WITH_GRANT',
  'ER_PASSWORD_ANONYMOUS_USER',
  'ER_PASSWORD_NOT_ALLOWED',
])
const UNAVAILABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
  'HANDSHAKE_NO_SSL_SUPPORT',
  // mysql2's code for any failed TLS handshake (an unverifiable certificate included); Node's code is lost.
  'HANDSHAKE_SSL_ERROR',
])

/** The error's kind and safe code, from mysql2's `code` (server error name or Node/socket/TLS code). */
export function classifyMysqlError(err: unknown): { kind: EngineErrorKind; code: string | undefined } {
  const raw = err !== null && typeof err === 'object' ? (err as { code?: unknown }).code : undefined
  const code = safeCode(raw)
  if (code === undefined) return { kind: 'server-error', code }
  if (AUTH_FAILED.has(code)) return { kind: 'authentication-failed', code }
  if (DENIED.has(code)) return { kind: 'permission-denied', code }
  if (UNAVAILABLE.has(code) || /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED)/.test(code))
    return { kind: 'unavailable', code }
  return { kind: 'server-error', code }
}

function engineError(what: string, err: unknown): EngineError {
  const { kind, code } = classifyMysqlError(err)
  return new EngineError(kind, `MySQL ${what} failed`, code)
}

export function createMysqlConnector(opts: MysqlConnectorOptions): MysqlConnectAs {
  return async (creds) => {
    const config: ConnectionOptions = {
      host: creds.host,
      port: creds.port,
      user: creds.username,
      password: creds.password,
      ...(creds.dbname === undefined ? {} : { database: creds.dbname }),
      connectTimeout: opts.connectTimeoutMs,
      multipleStatements: false,
      charset: 'utf8mb4',
    }
    const ssl = mysqlTlsOptions(opts.tlsMode, creds.host, opts.ca)
    if (ssl !== undefined) config.ssl = ssl
    let conn: Connection
    try {
      // Loaded on first use: mysql2 (with its character-set tables) is most of the rotation bundle, and a
      // function rotating only PostgreSQL secrets or access keys never needs it.
      const { createConnection } = await import('mysql2/promise')
      conn = await createConnection(config)
    } catch (err) {
      throw engineError('connect', err)
    }
    // A dropped connection is reported on the next query; without a listener it would crash the process.
    conn.on('error', () => undefined)
    return {
      async query<R extends Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<R[]> {
        try {
          const [rows] = await conn.query(
            { sql, timeout: opts.queryTimeoutMs },
            params === undefined ? undefined : [...params],
          )
          return Array.isArray(rows) ? (rows as R[]) : []
        } catch (err) {
          throw engineError('query', err)
        }
      },
      close: async () => {
        await conn.end().catch(() => {
          conn.destroy()
        })
      },
    }
  }
}
