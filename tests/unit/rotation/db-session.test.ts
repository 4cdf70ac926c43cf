import {
  dbErrorCode,
  isAuthenticationFailure,
  pgSslConfig,
  quoteIdent,
} from '../../../src/rotation/db-session'

describe('pgSslConfig', () => {
  it('turns TLS off for disable', () => {
    expect(pgSslConfig('disable', 'db.internal')).toBe(false)
  })
  it('encrypts without verification for require', () => {
    expect(pgSslConfig('require', 'db.internal')).toEqual({ rejectUnauthorized: false })
  })
  it('verifies the chain and the host name for verify-full', () => {
    expect(pgSslConfig('verify-full', 'db.internal')).toEqual({
      rejectUnauthorized: true,
      servername: 'db.internal',
    })
  })
  it('sends no SNI name for an IP address under verify-full', () => {
    expect(pgSslConfig('verify-full', '10.0.0.5')).toEqual({ rejectUnauthorized: true })
  })
})

describe('quoteIdent', () => {
  it('double-quotes a plain identifier', () => {
    expect(quoteIdent('demo_app')).toBe('"demo_app"')
  })
  it.each(['a"b', 'x; DROP ROLE y', '', '1abc', 'a'.repeat(64), 'name with space'])('refuses %j', (name) => {
    expect(() => quoteIdent(name)).toThrow(/refusing to quote/)
  })
})

describe('isAuthenticationFailure', () => {
  it.each([
    ['28P01', true],
    ['28000', true],
    ['ECONNREFUSED', false],
    ['57014', false],
  ])('code %s → %s', (code, expected) => {
    expect(isAuthenticationFailure(Object.assign(new Error('x'), { code }))).toBe(expected)
  })
  it('keeps only code-shaped codes for logs', () => {
    expect(dbErrorCode({ code: 'syntax error near "secret"' })).toBeUndefined()
    expect(dbErrorCode({ code: '42601' })).toBe('42601')
  })
})
