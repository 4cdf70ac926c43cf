import type { FetchedSecret } from './secret-reader'

/**
 * The served representation of a secret. A JSON object or array is served parsed; anything else as the
 * string it is. A binary secret is served base64 with `valueEncoding: "base64"`. Parsing never throws and
 * never reports its input (Node's JSON.parse error quotes the first characters, which would be the secret).
 */
export interface ServedSecret {
  readonly name: string
  readonly versionId: string
  readonly createdDate: string | undefined
  readonly value: unknown
  readonly valueEncoding?: 'base64'
}

export function parseSecretString(s: string): unknown {
  const first = s.trimStart()[0]
  if (first !== '{' && first !== '[') return s
  try {
    const parsed: unknown = JSON.parse(s)
    return typeof parsed === 'object' && parsed !== null ? parsed : s
  } catch {
    return s
  }
}

/** Rendered once per fetched version and name: a cache hit serves the same (never mutated) object again. */
const rendered = new WeakMap<FetchedSecret, Map<string, ServedSecret>>()

export function renderSecret(name: string, secret: FetchedSecret): ServedSecret {
  let byName = rendered.get(secret)
  const hit = byName?.get(name)
  if (hit !== undefined) return hit
  const base = { name, versionId: secret.versionId, createdDate: secret.createdDate?.toISOString() }
  const served: ServedSecret = Object.freeze(
    secret.secretString !== undefined
      ? { ...base, value: parseSecretString(secret.secretString) }
      : {
          ...base,
          value: Buffer.from(secret.secretBinary ?? new Uint8Array()).toString('base64'),
          valueEncoding: 'base64' as const,
        },
  )
  if (byName === undefined) rendered.set(secret, (byName = new Map<string, ServedSecret>()))
  byName.set(name, served)
  return served
}

/** Whether an If-None-Match header matches the version (strong or weak tags, lists, and `*`). */
export function matchesIfNoneMatch(header: string | undefined, versionId: string): boolean {
  if (header === undefined || header.length > 8192) return false
  return header.split(',').some((raw) => {
    const tag = raw.trim()
    if (tag === '*') return true
    const bare = tag.startsWith('W/') ? tag.slice(2) : tag
    return bare === `"${versionId}"`
  })
}

export function etagFor(versionId: string): string {
  return `"${versionId}"`
}
