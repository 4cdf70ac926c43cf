/**
 * Errors of the engine primitives (MySQL/MariaDB, Redis ACL, IAM access keys). Their messages name the
 * operation, fields and the server's error code, never a value: the driver errors they replace can quote
 * SQL, ACL rules or a password (mysql2 keeps the statement in `err.sql`; Redis echoes a bad ACL rule in its
 * reply), so the original is never kept as `cause` either.
 *
 * The strategies wrap every engine call at their boundary (strategies/engine-call.ts): the failure then
 * names the operation and the account it acted on, with this error's class and code as its cause
 * (`… failed (EngineError ER_ACCESS_DENIED_ERROR)`), like a PostgreSQL failure names its SQLSTATE; an
 * `invalid-input` refusal keeps this error's own message, which names fields and never values.
 */
export type EngineErrorKind =
  /** The input can never work (bad identifier, unsupported plugin, unexpected server output). */
  | 'invalid-input'
  /** The server refused the credentials (wrong password, unknown user, disabled user). */
  | 'authentication-failed'
  /** The server refused the operation for lack of privilege. */
  | 'permission-denied'
  /** Network, timeout, TLS or server unavailable: a retry may succeed. */
  | 'unavailable'
  /** Any other server error. */
  | 'server-error'

export class EngineError extends Error {
  readonly kind: EngineErrorKind
  /** A safe code: SQLSTATE-like, the server's error name (`ER_ACCESS_DENIED_ERROR`, `WRONGPASS`), or a socket code. */
  readonly code: string | undefined

  constructor(kind: EngineErrorKind, message: string, code?: string) {
    super(code === undefined ? message : `${message} (${code})`)
    this.name = 'EngineError'
    this.kind = kind
    this.code = code
  }
}

/** A code that is safe to log: letters, digits and underscores only, bounded. */
export function safeCode(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isInteger(value)) return String(value)
  return typeof value === 'string' && /^[A-Za-z0-9_]{1,40}$/.test(value) ? value : undefined
}
