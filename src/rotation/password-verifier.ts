import { createHash } from 'node:crypto'
import { quoteIdent, type DbSession } from './db-session'
import { attempt, InvalidSecretValueError, RotationFailure } from './rotation-errors'
import { scramSha256Verifier, SCRAM_VERIFIER_PATTERN } from './scram'

/**
 * The password clause of `ALTER ROLE`/`CREATE ROLE`, in the storage the server is configured for. PostgreSQL
 * hashes a plain password with `password_encryption` (scram-sha-256 or md5) and stores a pre-hashed one as
 * given; the function always sends the hash it computed, so the plain password never reaches the server's
 * statement log or pg_stat_activity, and the stored form is what PostgreSQL itself would have stored.
 *
 *   scram-sha-256: SCRAM-SHA-256$4096:<salt>$<StoredKey>:<ServerKey>  (scram.ts)
 *   md5:           "md5" + hex(md5(password || role name))              (PostgreSQL's pg_md5_encrypt)
 *
 * md5 is weak (one MD5 over the password, salted only by the role name) and deprecated since PostgreSQL 18;
 * it is kept only where the server is configured for it, e.g. for clients or poolers that speak only md5.
 */
export const PASSWORD_ENCRYPTIONS = ['scram-sha-256', 'md5'] as const
export type PasswordEncryption = (typeof PASSWORD_ENCRYPTIONS)[number]

export const MD5_VERIFIER_PATTERN = /^md5[0-9a-f]{32}$/

export function md5Verifier(password: string, roleName: string): string {
  if (password.length === 0) throw new Error('md5: empty password')
  return `md5${createHash('md5')
    .update(password + roleName, 'utf8')
    .digest('hex')}`
}

/** `password_encryption` as this session sees it (server default, or a per-role/per-database setting). */
export async function readPasswordEncryption(session: DbSession, where: string): Promise<PasswordEncryption> {
  const rows = await attempt(`reading password_encryption ${where}`, () =>
    session.query<{ password_encryption: string }>('SHOW password_encryption'),
  )
  const value = rows[0]?.password_encryption
  // PostgreSQL < 14 accepted "on" as an alias of md5.
  if (value === 'md5' || value === 'on') return 'md5'
  if (value === 'scram-sha-256') return 'scram-sha-256'
  throw new RotationFailure(`password_encryption ${where} is neither scram-sha-256 nor md5`)
}

/**
 * `PASSWORD '<verifier>'` for `roleName`. Refuses anything that is not a well-formed verifier, so nothing
 * but a verifier is ever embedded in a statement.
 */
export function passwordClause(
  encryption: PasswordEncryption,
  roleName: string,
  password: string,
  randomBytes: (size: number) => Buffer,
): string {
  quoteIdent(roleName) // the role name is part of the md5 hash: it must be the exact identifier
  let verifier: string
  try {
    verifier =
      encryption === 'md5' ? md5Verifier(password, roleName) : scramSha256Verifier(password, randomBytes)
  } catch (err) {
    // Our own messages ("the password must be non-empty ASCII without NUL"), never the password itself.
    throw new InvalidSecretValueError(
      `the pending password of ${roleName} cannot be stored as ${encryption}: ${err instanceof Error ? err.message : 'error'}`,
    )
  }
  const pattern = encryption === 'md5' ? MD5_VERIFIER_PATTERN : SCRAM_VERIFIER_PATTERN
  if (!pattern.test(verifier)) throw new Error('internal: malformed password verifier')
  return `PASSWORD '${verifier}'`
}
