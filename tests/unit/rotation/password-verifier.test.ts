import { createHash } from 'node:crypto'
import { md5Verifier, passwordClause } from '../../../src/rotation/password-verifier'

describe('password verifiers in the storage the server is configured for', () => {
  it('md5 is "md5" + hex(md5(password || role name)), as PostgreSQL stores it', () => {
    const expected = `md5${createHash('md5')
      .update('s3cret' + 'app_user')
      .digest('hex')}`
    expect(md5Verifier('s3cret', 'app_user')).toBe(expected)
    expect(md5Verifier('s3cret', 'app_user_clone')).not.toBe(expected) // salted by the role name
  })

  it('builds an md5 or a SCRAM clause, never one with the password', () => {
    const salt = (n: number): Buffer => Buffer.alloc(n, 3)
    expect(passwordClause('md5', 'app_user', 'CANARY-pw', salt)).toBe(
      `PASSWORD '${md5Verifier('CANARY-pw', 'app_user')}'`,
    )
    expect(passwordClause('scram-sha-256', 'app_user', 'CANARY-pw', salt)).toMatch(
      /^PASSWORD 'SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+'$/,
    )
    expect(passwordClause('md5', 'app_user', 'CANARY-pw', salt)).not.toContain('CANARY')
  })

  it('refuses a role name it would not quote', () => {
    expect(() => passwordClause('md5', 'app"; DROP', 'pw', (n) => Buffer.alloc(n))).toThrow(
      'refusing to quote an identifier',
    )
  })
})
