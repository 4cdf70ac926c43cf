import { createHash, createHmac, pbkdf2Sync } from 'node:crypto'

/**
 * PostgreSQL SCRAM-SHA-256 password verifiers (RFC 5802 / RFC 7677, PostgreSQL's storage format), computed
 * here so that `ALTER ROLE … PASSWORD` carries a verifier, never the password: PostgreSQL stores a
 * pre-hashed verifier as-is, and statement logs and pg_stat_activity then show only the verifier.
 *
 *   SaltedPassword = PBKDF2-HMAC-SHA-256(password, salt, iterations)
 *   StoredKey = SHA-256(HMAC(SaltedPassword, "Client Key"));  ServerKey = HMAC(SaltedPassword, "Server Key")
 *   verifier = SCRAM-SHA-256$<iterations>:<base64 salt>$<base64 StoredKey>:<base64 ServerKey>
 */
export const SCRAM_ITERATIONS = 4096
export const SCRAM_SALT_BYTES = 16
export const SCRAM_VERIFIER_PATTERN =
  /^SCRAM-SHA-256\$(\d+):([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2}):([A-Za-z0-9+/]+={0,2})$/

export interface ScramKeys {
  readonly iterations: number
  readonly salt: Buffer
  readonly storedKey: Buffer
  readonly serverKey: Buffer
}

/**
 * PostgreSQL runs SASLprep on the password, which leaves a pure-ASCII string unchanged. Rather than carry a
 * Unicode normalizer, non-ASCII passwords are refused (generated passwords are ASCII).
 */
function normalizePassword(password: string): Buffer {
  if (!/^[\x01-\x7f]+$/.test(password))
    throw new Error('SCRAM: the password must be non-empty ASCII without NUL')
  return Buffer.from(password, 'ascii')
}

export function deriveScramKeys(password: string, salt: Buffer, iterations = SCRAM_ITERATIONS): ScramKeys {
  if (salt.length === 0) throw new Error('SCRAM: empty salt')
  if (!Number.isInteger(iterations) || iterations < 1)
    throw new Error('SCRAM: iterations must be a positive integer')
  const salted = pbkdf2Sync(normalizePassword(password), salt, iterations, 32, 'sha256')
  const clientKey = createHmac('sha256', salted).update('Client Key').digest()
  return {
    iterations,
    salt,
    storedKey: createHash('sha256').update(clientKey).digest(),
    serverKey: createHmac('sha256', salted).update('Server Key').digest(),
  }
}

export function formatScramVerifier(keys: ScramKeys): string {
  const b64 = (b: Buffer): string => b.toString('base64')
  return `SCRAM-SHA-256$${keys.iterations}:${b64(keys.salt)}$${b64(keys.storedKey)}:${b64(keys.serverKey)}`
}

/** The verifier for `password`, with `randomBytes` supplying the salt (injected: tests pass a fixed one). */
export function scramSha256Verifier(
  password: string,
  randomBytes: (size: number) => Buffer,
  iterations = SCRAM_ITERATIONS,
): string {
  return formatScramVerifier(deriveScramKeys(password, randomBytes(SCRAM_SALT_BYTES), iterations))
}

export function parseScramVerifier(verifier: string): ScramKeys | undefined {
  const m = SCRAM_VERIFIER_PATTERN.exec(verifier)
  if (m === null) return undefined
  return {
    iterations: Number(m[1]),
    salt: Buffer.from(m[2] ?? '', 'base64'),
    storedKey: Buffer.from(m[3] ?? '', 'base64'),
    serverKey: Buffer.from(m[4] ?? '', 'base64'),
  }
}
