import type { FetchedSecret } from './secret-reader'

/**
 * The served representation of a secret, as JSON text. A value that is a JSON object or array is embedded
 * byte for byte — numbers beyond 2^53, string escapes, key order and formatting exactly as stored — so the
 * broker never alters a value on the way; anything else is served as the JSON string it is, and a binary
 * secret as base64 with `valueEncoding: "base64"`. Parsing is only a validity check, never reported (Node's
 * JSON.parse error quotes the first characters, which would be the secret).
 */
export function isJsonContainer(s: string): boolean {
  const first = s.trimStart()[0]
  if (first !== '{' && first !== '[') return false
  try {
    JSON.parse(s)
    return true
  } catch {
    return false
  }
}

/** The `value` member's JSON text. */
function valueText(secret: FetchedSecret): { text: string; base64: boolean } {
  if (secret.secretString !== undefined) {
    const s = secret.secretString
    return { text: isJsonContainer(s) ? s : JSON.stringify(s), base64: false }
  }
  return {
    text: JSON.stringify(Buffer.from(secret.secretBinary ?? new Uint8Array()).toString('base64')),
    base64: true,
  }
}

/** The members after `{` of a served secret's JSON object, for embedding in a batch item. */
export interface RenderedSecret {
  readonly versionId: string
  /** `"name":…,"versionId":…,"createdDate":…,"value":…[,"valueEncoding":"base64"]` */
  readonly members: string
}

/** Rendered once per fetched version and name: a cache hit reuses the same text. */
const rendered = new WeakMap<FetchedSecret, Map<string, RenderedSecret>>()

export function renderSecret(name: string, secret: FetchedSecret): RenderedSecret {
  let byName = rendered.get(secret)
  const hit = byName?.get(name)
  if (hit !== undefined) return hit
  const { text, base64 } = valueText(secret)
  const created =
    secret.createdDate === undefined
      ? ''
      : `,"createdDate":${JSON.stringify(secret.createdDate.toISOString())}`
  const out: RenderedSecret = {
    versionId: secret.versionId,
    members:
      `"name":${JSON.stringify(name)},"versionId":${JSON.stringify(secret.versionId)}${created}` +
      `,"value":${text}${base64 ? ',"valueEncoding":"base64"' : ''}`,
  }
  if (byName === undefined) rendered.set(secret, (byName = new Map<string, RenderedSecret>()))
  byName.set(name, out)
  return out
}

/** The served secret as a JSON document. */
export function servedSecretJson(r: RenderedSecret): string {
  return `{${r.members}}`
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

/**
 * The version ids an If-None-Match header names (strong or weak tags; `*` names none): what the caller
 * already holds. Bounded like `matchesIfNoneMatch`, and at most 8 tags are considered.
 */
export function ifNoneMatchVersions(header: string | undefined): string[] {
  if (header === undefined || header.length > 8192) return []
  const out: string[] = []
  for (const raw of header.split(',').slice(0, 8)) {
    const tag = raw.trim()
    const bare = tag.startsWith('W/') ? tag.slice(2) : tag
    if (bare.length > 2 && bare.startsWith('"') && bare.endsWith('"')) out.push(bare.slice(1, -1))
  }
  return out
}

export function etagFor(versionId: string): string {
  return `"${versionId}"`
}
