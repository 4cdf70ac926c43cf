import fc from 'fast-check'
import {
  answerTree,
  parseLossless,
  readNumber,
  readServedSecret,
} from '../../../packages/client/src/served-secret'
import { LossyNumberError } from '../../../packages/client/src/client-errors'
import { ServedSecretSchema } from '../../../src/contract/wire'

/** An answer exactly as the broker writes one: the stored text embedded as is after `"value":`. */
function answer(stored: string, extra = ''): string {
  return `{"name":"demo/db","versionId":"v1","createdDate":"2026-11-01T00:00:00.000Z","value":${stored}${extra}}`
}

function read(text: string) {
  const served = ServedSecretSchema.parse(JSON.parse(text))
  const tree = answerTree(text)
  const secret =
    tree === undefined ? undefined : readServedSecret<Record<string, unknown>>(text, tree, served)
  if (secret === undefined) throw new Error('no secret in the answer')
  return secret
}

describe('readServedSecret', () => {
  it('gives the stored text byte for byte: big integers, escapes, key order, whitespace', () => {
    // Arrange: what a JSON.parse/JSON.stringify round trip would change in every way it can
    const stored = ' {"b": 9007199254740993, "a":"\\u00e9\\/x",\n  "10": 1.50, "2": [ 1e2 ]}\n'

    // Act
    const secret = read(answer(stored))

    // Assert
    expect(secret.secretString).toBe(stored)
    expect(JSON.stringify(JSON.parse(stored))).not.toBe(stored.trim())
  })

  it('reads an integer above 2^53 as a bigint, never rounded', () => {
    const secret = read(answer('{"accountId": 9007199254740993, "port": 5432, "neg": -12345678901234567890}'))

    expect(secret.value['accountId']).toBe(9007199254740993n)
    expect(secret.value['port']).toBe(5432)
    expect(secret.value['neg']).toBe(-12345678901234567890n)
    // What JSON.parse would have served instead:
    expect((JSON.parse('{"a":9007199254740993}') as { a: number }).a).toBe(9007199254740992)
  })

  it('serves a string secret as the string, and a binary one as base64 without a secretString', () => {
    const text = read(answer('"plain \\"text\\" secret"'))
    const binary = read(answer('"AAEC/w=="', ',"valueEncoding":"base64"'))

    expect(text.secretString).toBe('plain "text" secret')
    expect(text.value).toBe('plain "text" secret')
    expect(binary.secretString).toBeUndefined()
    expect(binary.valueEncoding).toBe('base64')
    expect(binary.value).toBe('AAEC/w==')
  })

  it('refuses a decimal a double cannot hold, naming where it is and never the value', () => {
    const secret = read(answer('{"limits": {"ratio": 3.14159265358979323846264}}'))

    let err: unknown
    try {
      expect(secret.value).toBeUndefined() // never reached: reading the value throws
    } catch (e) {
      err = e
    }

    expect(err).toBeInstanceOf(LossyNumberError)
    expect((err as LossyNumberError).path).toBe('$.limits.ratio')
    expect((err as Error).message).not.toContain('3.14159')
    expect(secret.secretString).toContain('3.14159265358979323846264')
  })

  it('parses on first read only, and the same object every time', () => {
    const secret = read(answer('{"a": {"b": 1}}'))

    expect(secret.value).toBe(secret.value)
  })
})

function hasUnsafeInteger(v: unknown): boolean {
  if (typeof v === 'number') return Number.isInteger(v) && !Number.isSafeInteger(v)
  if (typeof v !== 'object' || v === null) return false
  return Object.values(v).some(hasUnsafeInteger)
}

describe('parseLossless', () => {
  it('agrees with JSON.parse on any JSON whose numbers a double holds', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (v) => {
        // Integers beyond 2^53 are where the two differ on purpose (bigint against a rounded number).
        fc.pre(!hasUnsafeInteger(v))
        const text = JSON.stringify(v, null, 1)
        expect(parseLossless(text)).toEqual(JSON.parse(text))
      }),
      { numRuns: 300 },
    )
  })

  it('keeps a member named __proto__ as a member, as JSON.parse does', () => {
    const v = parseLossless('{"__proto__": {"polluted": true}, "a": 1}') as Record<string, unknown>

    expect(Object.keys(v)).toEqual(['__proto__', 'a'])
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined()
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype)
  })

  it('keeps the last of duplicate keys at the first position, as JSON.parse does', () => {
    const text = '{"a": 1, "b": 2, "a": 3}'

    expect(Object.entries(parseLossless(text) as object)).toEqual(Object.entries(JSON.parse(text) as object))
  })
})

describe('readNumber', () => {
  it.each([
    ['0', 0],
    ['-0', -0],
    ['9007199254740991', 9007199254740991],
    ['0.1', 0.1],
    ['1.50', 1.5],
    ['1e2', 100],
    ['-2.5E-3', -0.0025],
    ['1e21', 1e21],
  ])('reads %s as the number a double holds exactly', (digits, expected) => {
    expect(readNumber(digits)).toBe(expected)
  })

  it.each([
    ['9007199254740992', 9007199254740992n],
    ['9007199254740993', 9007199254740993n],
    ['-9007199254740993', -9007199254740993n],
    ['123456789012345678901234567890', 123456789012345678901234567890n],
  ])('reads the integer %s beyond the safe range as a bigint', (digits, expected) => {
    expect(readNumber(digits)).toBe(expected)
  })

  it.each(['1e400', '1e-400', '0.30000000000000000001', '9007199254740993e0'])(
    'refuses %s, which a double would round',
    (digits) => {
      expect(() => readNumber(digits)).toThrow(LossyNumberError)
    },
  )
})
