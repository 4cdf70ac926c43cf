import fc from 'fast-check'
import { differingFields, parseSecretDocument, withFields } from '../../../src/rotation/secret-document'

const PW = 'CANARY-0123456789abcdefghijklmnop'
const ISSUE_INPUT = `{"username":"svc","password":"${PW}","accountId":12345678901234567891}`

describe('withFields: the next value is the current text with only the changed fields replaced', () => {
  it('keeps an integer above 2^53 digit for digit (the issue input)', () => {
    const next = withFields(parseSecretDocument(ISSUE_INPUT, 'current'), { password: 'NEW-PW' })
    expect(next).toBe('{"username":"svc","password":"NEW-PW","accountId":12345678901234567891}')
  })

  it('keeps formatting, key order, escapes and other numbers exactly', () => {
    const text = [
      '{',
      '    "note": "caf\\u00e9 \\/ \\"quoted\\"",',
      `\t"password" :  "${PW}",`,
      '    "ratio": 1.50, "big": -9007199254740993e0,',
      '    "username": "svc", "nested": {"z": 1, "a": [1.0, "\\n"]}',
      '}',
      '',
    ].join('\n')
    const next = withFields(parseSecretDocument(text, 'current'), {
      password: 'p"w\\',
      username: 'svc_clone',
    })
    expect(next).toBe(
      text.replace(`"${PW}"`, '"p\\"w\\\\"').replace('"username": "svc"', '"username": "svc_clone"'),
    )
    expect(JSON.parse(next)).toMatchObject({ password: 'p"w\\', username: 'svc_clone' })
  })

  it('changes nothing outside the replaced value, for any JSON object (property)', () => {
    const extra = fc.dictionary(
      fc.string({ maxLength: 8 }).filter((k) => k !== 'password' && k !== '__proto__'),
      fc.jsonValue(),
      { maxKeys: 6 },
    )
    fc.assert(
      fc.property(extra, fc.integer({ min: 0, max: 4 }), fc.string({ minLength: 1 }), (rest, indent, pw) => {
        const text = JSON.stringify({ ...rest, password: 'old-password' }, null, indent)
        const next = withFields(parseSecretDocument(text, 'current'), { password: pw })
        const at = text.indexOf('"old-password"')
        const encoded = JSON.stringify(pw)
        expect(next.slice(0, at)).toBe(text.slice(0, at))
        expect(next.slice(at, at + encoded.length)).toBe(encoded)
        expect(next.slice(at + encoded.length)).toBe(text.slice(at + '"old-password"'.length))
      }),
    )
  })

  it('refuses to replace a field the value does not have, rather than adding it', () => {
    const doc = parseSecretDocument(`{"password":"${PW}"}`, 'current')
    expect(() => withFields(doc, { password: 'x', username: 'u' })).toThrow(
      'the current value has no string field "username" to replace',
    )
  })
})

describe('parseSecretDocument: plain JSON only, refused with a message that never quotes the value', () => {
  it.each([
    [
      'a comment',
      `{"password":"${PW}" // CANARY\n}`,
      'the current value is not JSON (InvalidCommentToken at offset',
    ],
    [
      'a trailing comma',
      `{"password":"${PW}",}`,
      'the current value is not JSON (PropertyNameExpected at offset',
    ],
    ['single quotes', `{'password':'${PW}'}`, 'the current value is not JSON (InvalidSymbol at offset 1)'],
    [
      'a duplicate key',
      `{"password":"${PW}","password":"CANARY-2"}`,
      'the current value has the key "password" twice',
    ],
    [
      'a nested duplicate key',
      `{"password":"${PW}","o":{"a":1,"a":2}}`,
      'the current value has the key "a" twice',
    ],
    ['an array', `["${PW}"]`, 'the current value is not a JSON object'],
  ])('refuses %s', (_what, text, message) => {
    const attempt = (): unknown => parseSecretDocument(text, 'current')
    expect(attempt).toThrow(message)
    expect(attempt).not.toThrow(/CANARY/)
  })
})

describe('differingFields: lossless comparison', () => {
  const doc = (text: string) => parseSecretDocument(text, 'x')

  it('sees integers that differ beyond 2^53 although they parse to the same double', () => {
    expect(12345678901234567891 === 12345678901234567892).toBe(true) // why JSON.parse cannot compare them
    const a = doc(ISSUE_INPUT)
    const b = doc(ISSUE_INPUT.replace('567891', '567892'))
    expect(differingFields(a, b, ['password'])).toEqual(['accountId'])
  })

  it('ignores key order and whitespace, and the fields a rotation changes', () => {
    const a = doc(`{"username":"svc","password":"a","n":1,"o":{"x":[1,"é"]}}`)
    const b = doc(`{ "o": { "x": [1, "\\u00e9"] }, "n": 1, "password": "b", "username": "svc" }`)
    expect(differingFields(a, b, ['password'])).toEqual([])
  })

  it('names an added or removed field', () => {
    expect(
      differingFields(doc('{"password":"a","x":1}'), doc('{"password":"b","y":1}'), ['password']),
    ).toEqual(['x', 'y'])
  })
})
