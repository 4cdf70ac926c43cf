import { existsSync, readFileSync } from 'node:fs'

/**
 * Finds a secret in what a server recorded. The tests use it to prove a password never reached a log: every
 * source is read as raw bytes (binary logs included) and searched for the secret as text and in the
 * encodings a statement could carry it in (hex literals, base64), so a password smuggled as `X'…'` or
 * `FROM_BASE64('…')` is caught too. A hit names the source and the encoding, never the secret.
 */
export interface LogSource {
  /** What the source is, e.g. `general log`, `binlog.000001`, `MONITOR`. */
  readonly name: string
  /** The recorded bytes, or a file to read them from (a missing file reads as empty). */
  readonly bytes: Buffer | (() => Buffer)
}

export interface LogHit {
  readonly source: string
  readonly encoding: 'text' | 'hex' | 'HEX' | 'base64'
  readonly count: number
}

export function fileSource(name: string, path: string): LogSource {
  return { name, bytes: () => (existsSync(path) ? readFileSync(path) : Buffer.alloc(0)) }
}

function countOccurrences(haystack: Buffer, needle: Buffer): number {
  if (needle.length === 0) return 0
  let count = 0
  for (let at = haystack.indexOf(needle); at !== -1; at = haystack.indexOf(needle, at + needle.length))
    count++
  return count
}

/** Where `secret` appears in `sources`; empty when it appears nowhere. Refuses secrets under 8 bytes (noise). */
export function scanSourcesFor(secret: string, sources: readonly LogSource[]): LogHit[] {
  if (Buffer.byteLength(secret) < 8) throw new Error('scanSourcesFor needs a secret of at least 8 bytes')
  const raw = Buffer.from(secret, 'utf8')
  const forms: [LogHit['encoding'], Buffer][] = [
    ['text', raw],
    ['hex', Buffer.from(raw.toString('hex'))],
    ['HEX', Buffer.from(raw.toString('hex').toUpperCase())],
    // base64 of the secret embedded at an unknown offset shifts its alphabet; the unpadded head is stable.
    ['base64', Buffer.from(raw.toString('base64').replace(/=+$/, '').slice(0, -2))],
  ]
  const hits: LogHit[] = []
  for (const source of sources) {
    const bytes = typeof source.bytes === 'function' ? source.bytes() : source.bytes
    for (const [encoding, needle] of forms) {
      const count = countOccurrences(bytes, needle)
      if (count > 0) hits.push({ source: source.name, encoding, count })
    }
  }
  return hits
}
