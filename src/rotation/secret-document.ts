import { applyEdits, modify, parseTree, printParseErrorCode, type Node, type ParseError } from 'jsonc-parser'
import { InvalidSecretValueError } from './rotation-errors'
import { toSecretValue, type SecretValue } from './secret-value'

/**
 * A secret value as Secrets Manager stores it (the exact text) and as rotation reads it (parsed). Rotation
 * never re-serialises a value: `JSON.stringify(JSON.parse(text))` rounds integers above 2^53, rewrites
 * escapes and drops formatting, and whatever it wrote would be the secret from then on. Instead the next
 * value is the current text with only the changed fields' values replaced (jsonc-parser's `modify` +
 * `applyEdits` without formatting options: a splice at the field's offsets, the rest untouched), and the
 * checks that compare two values compare them losslessly (numbers by their digits as written).
 *
 * Only plain JSON is accepted (RFC 8259): a value with comments, trailing commas or duplicate keys is refused
 * with a message that names the problem and never quotes the value, rather than being altered silently.
 */
export interface SecretDocument {
  /** The SecretString, byte for byte. */
  readonly text: string
  /** The parsed object. Numbers are doubles here: use it for strings and small numbers only. */
  readonly value: SecretValue
  readonly root: Node
}

/**
 * The fields a strategy changes, with their new string values: the password (and the user name for
 * alternating users), or an access key's id and secret. Each must already be a string field of the value.
 */
export type FieldChanges = Readonly<Record<string, string>>

const PARSE_OPTIONS = { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false }
/** A key is named in an error only when it looks like a field name, never when it could be data. */
const NAMEABLE_KEY = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/

export function parseSecretDocument(raw: string | undefined, what: string): SecretDocument {
  if (raw === undefined) throw new InvalidSecretValueError(`the ${what} version has no string value`)
  const errors: ParseError[] = []
  const root = parseTree(raw, errors, PARSE_OPTIONS)
  const first = errors[0]
  const where = first === undefined ? '' : ` (${printParseErrorCode(first.error)} at offset ${first.offset})`
  let parsed: unknown
  try {
    parsed = JSON.parse(raw)
  } catch {
    // JSON.parse's own message quotes the input; jsonc-parser's error code and offset do not.
    throw new InvalidSecretValueError(`the ${what} value is not JSON${where}`)
  }
  // jsonc-parser is lenient in places JSON is not, and the other way round; accept only what both accept.
  if (first !== undefined || root === undefined)
    throw new InvalidSecretValueError(`the ${what} value is not plain JSON${where}`)
  const duplicate = firstDuplicateKey(root)
  if (duplicate !== undefined) {
    const key = NAMEABLE_KEY.test(duplicate) ? `"${duplicate}"` : '(a key)'
    throw new InvalidSecretValueError(
      `the ${what} value has the key ${key} twice; JSON readers disagree on which one wins, so it is refused`,
    )
  }
  return { text: raw, value: toSecretValue(parsed, what), root }
}

function firstDuplicateKey(node: Node): string | undefined {
  if (node.type === 'object') {
    const seen = new Set<string>()
    for (const prop of node.children ?? []) {
      const key = prop.children?.[0]?.value as string | undefined
      if (key === undefined) continue
      if (seen.has(key)) return key
      seen.add(key)
    }
  }
  for (const child of node.children ?? []) {
    const found = firstDuplicateKey(child)
    if (found !== undefined) return found
  }
  return undefined
}

function topLevelValue(doc: SecretDocument, key: string): Node | undefined {
  const prop = doc.root.children?.find((p) => p.children?.[0]?.value === key)
  return prop?.children?.[1]
}

/**
 * The text of the next value: `doc` with each changed field's value replaced and nothing else touched.
 * @throws InvalidSecretValueError when a field to replace is not already a string in the value.
 */
export function withFields(doc: SecretDocument, changes: FieldChanges, what = 'current'): string {
  let text = doc.text
  for (const [field, value] of Object.entries(changes)) {
    const node = topLevelValue(parseSecretDocument(text, what), field)
    if (node?.type !== 'string')
      throw new InvalidSecretValueError(`the ${what} value has no string field "${field}" to replace`)
    // No formatting options: `modify` then only replaces the value's own span with JSON.stringify(value).
    text = applyEdits(text, modify(text, [field], value, {}))
  }
  const next = parseSecretDocument(text, 'next')
  const changed = Object.keys(changes)
  if (differingFields(next, doc, changed).length > 0 || changed.some((f) => next.value[f] !== changes[f]))
    throw new InvalidSecretValueError('internal: replacing fields changed more than those fields')
  return text
}

/** A lossless canonical form: key order and whitespace ignored, numbers compared by their digits as written. */
function canonical(node: Node, text: string): string {
  switch (node.type) {
    case 'object': {
      const entries = (node.children ?? []).map((p) => {
        const [k, v] = p.children ?? []
        return `${JSON.stringify(k?.value)}:${v === undefined ? '' : canonical(v, text)}`
      })
      return `{${entries.sort().join(',')}}`
    }
    case 'array':
      return `[${(node.children ?? []).map((c) => canonical(c, text)).join(',')}]`
    case 'number':
      return `n${text.slice(node.offset, node.offset + node.length)}`
    case 'string':
      return JSON.stringify(node.value)
    case 'boolean':
    case 'null':
      return String(node.value)
    case 'property':
      throw new Error('internal: a property node outside an object')
  }
}

/**
 * The top-level fields (other than `ignore`) whose values differ between two documents, compared losslessly:
 * `12345678901234567891` and `12345678901234567892` differ although both parse to the same double.
 */
export function differingFields(a: SecretDocument, b: SecretDocument, ignore: readonly string[]): string[] {
  const keysOf = (d: SecretDocument): string[] =>
    (d.root.children ?? []).map((p) => p.children?.[0]?.value as string)
  const keys = [...new Set([...keysOf(a), ...keysOf(b)])].filter((k) => !ignore.includes(k))
  return keys
    .filter((k) => {
      const x = topLevelValue(a, k)
      const y = topLevelValue(b, k)
      return x === undefined || y === undefined || canonical(x, a.text) !== canonical(y, b.text)
    })
    .map((k) => (NAMEABLE_KEY.test(k) ? k : '(a field)'))
}
