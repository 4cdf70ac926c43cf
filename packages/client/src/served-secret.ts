import { parseTree, type Node } from 'jsonc-parser'
import type { ServedSecret } from '../../../src/contract/wire'
import { clientProblemType, LossyNumberError } from './client-errors'

/**
 * A served secret read without losing anything. The broker embeds a JSON secret's stored text as is in the
 * answer's `value` member, so the exact text is a span of the answer: `secretString` is that span (what
 * Secrets Manager holds, byte for byte: numbers, escapes, key order, whitespace). `value` is parsed from it
 * on first use, with every number read from its digits: an integer a double cannot hold exactly becomes a
 * `bigint`, never a rounded number; a decimal a double cannot hold raises LossyNumberError (read
 * `secretString` with a decimal library then). JSON.parse would round `9007199254740993` to
 * `9007199254740992` without a word.
 *
 * jsonc-parser (already what rotation uses to edit secret texts in place) gives each node's offsets; the
 * answer has passed JSON.parse before this runs, so its lenient corners (comments, trailing commas) never
 * apply.
 */
export interface BrokerSecret<T = unknown> {
  readonly name: string
  readonly versionId: string
  /** ISO 8601, when the broker sent it. The client orders versions by it (it never goes backwards). */
  readonly createdDate: string | undefined
  /**
   * The value: for a JSON secret the parsed object (integers beyond 2^53 as `bigint`), for a string secret
   * the string, for a binary secret base64 (`valueEncoding: 'base64'`). Parsed on first read. `T` is not
   * checked at run time.
   */
  readonly value: T
  /** Secrets Manager's SecretString exactly as stored; undefined for a binary secret. */
  readonly secretString: string | undefined
  readonly valueEncoding: 'base64' | undefined
}

/** Where an object sits in an answer's syntax tree. */
export type AnswerTree = Node

export function answerTree(text: string): AnswerTree | undefined {
  return parseTree(text, [], { disallowComments: true, allowTrailingComma: false })
}

/** The object node of member `key` of an object node (the last one, as JSON.parse keeps the last). */
export function memberNode(object: AnswerTree | undefined, key: string): AnswerTree | undefined {
  const prop = object?.children?.findLast((p) => p.children?.[0]?.value === key)
  return prop?.children?.[1]
}

/**
 * The secret in `object` (an answer's root, or one batch item), already checked against the contract
 * (`served`); undefined when it has no `value` member (the caller reports an invalid answer).
 */
export function readServedSecret<T>(
  text: string,
  object: AnswerTree,
  served: ServedSecret,
): BrokerSecret<T> | undefined {
  const prop = object.children?.findLast((p) => p.children?.[0]?.value === 'value')
  const node = prop?.children?.[1]
  if (prop === undefined || node === undefined || prop.colonOffset === undefined) return undefined
  const base64 = served.valueEncoding === 'base64'
  let secretString: string | undefined
  let read: () => unknown
  if (base64 || node.type === 'string') {
    const s = served.value as string
    secretString = base64 ? undefined : s
    read = () => s
  } else {
    // From after the colon to the next member: the stored text's own leading and trailing whitespace is
    // part of the value (the broker writes `"value":` and the text with nothing around it).
    let end = node.offset + node.length
    while (end < text.length && ' \t\n\r'.includes(text[end] as string)) end++
    const stored = text.slice(prop.colonOffset + 1, end)
    secretString = stored
    read = () => parseLossless(stored)
  }
  let parsed: { v: unknown } | undefined
  return {
    name: served.name,
    versionId: served.versionId,
    createdDate: served.createdDate,
    secretString,
    valueEncoding: base64 ? 'base64' : undefined,
    get value(): T {
      parsed ??= { v: read() }
      return parsed.v as T
    },
  }
}

/** Parses JSON text (known to be valid) with numbers read from their digits; see the module comment. */
export function parseLossless(text: string): unknown {
  const root = answerTree(text)
  if (root === undefined) throw new TypeError('not JSON')
  return toValue(root, text, '$')
}

function toValue(node: Node, text: string, path: string): unknown {
  switch (node.type) {
    case 'object': {
      const out: Record<string, unknown> = {}
      for (const prop of node.children ?? []) {
        const [keyNode, valueNode] = prop.children ?? []
        if (keyNode === undefined || valueNode === undefined) continue
        const key = keyNode.value as string
        // defineProperty, not assignment: a member named "__proto__" must stay a member, as with JSON.parse.
        Object.defineProperty(out, key, {
          value: toValue(valueNode, text, `${path}${pathStep(key)}`),
          enumerable: true,
          writable: true,
          configurable: true,
        })
      }
      return out
    }
    case 'array':
      return (node.children ?? []).map((child, i) => toValue(child, text, `${path}[${i}]`))
    case 'number':
      return readNumber(text.slice(node.offset, node.offset + node.length), path)
    case 'null':
      return null
    case 'string':
    case 'boolean':
      return node.value as unknown
    case 'property':
      throw new TypeError('a property node outside an object')
  }
}

/** Field names are named in errors when they look like field names; anything else could be data. */
function pathStep(key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/.test(key) ? `.${key}` : '[…]'
}

const INTEGER = /^-?\d+$/

/** A JSON number from its digits: a number when a double holds it exactly, a bigint for larger integers. */
export function readNumber(digits: string, path = '$'): number | bigint {
  const n = Number(digits)
  if (INTEGER.test(digits)) return Number.isSafeInteger(n) ? n : BigInt(digits)
  if (sameDecimal(digits, n)) return n
  throw new LossyNumberError({
    status: 200,
    type: clientProblemType('lossy-number'),
    title: 'A number in the secret does not fit a JavaScript number',
    detail: `at ${path}: read secretString and parse it with a decimal library`,
    path,
  })
}

const DECIMAL = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/

/**
 * Whether `n` is the decimal `digits` denotes, as far as a double's shortest representation goes: `0.1`
 * and `1.50` are (they print back the same digits), `3.14159265358979323846` and `1e400` are not.
 */
function sameDecimal(digits: string, n: number): boolean {
  if (!Number.isFinite(n)) return false
  const a = canonical(digits)
  const b = canonical(String(n))
  return a !== undefined && b !== undefined && (a.digits === '' ? b.digits === '' : a.key === b.key)
}

function canonical(s: string): { digits: string; key: string } | undefined {
  const m = DECIMAL.exec(s)
  if (m === null) return undefined
  const [, sign, int = '', frac = '', exp = '0'] = m
  let digits = (int + frac).replace(/^0+/, '')
  let exponent = Number(exp) - frac.length
  const trimmed = digits.replace(/0+$/, '')
  exponent += digits.length - trimmed.length
  digits = trimmed
  return { digits, key: `${sign}${digits}e${exponent}` }
}
