import { parsePostgresSecret, parseSecretValue } from '../../../src/rotation/secret-value'

describe('parseSecretValue', () => {
  it('refuses non-JSON without quoting the input', () => {
    expect(() => parseSecretValue('CANARY-not-json', 'current')).toThrow(/^the current value is not JSON$/)
  })
  it('refuses a value without a password', () => {
    expect(() => parseSecretValue('{"username":"a"}', 'pending')).toThrow(
      'no non-empty string field "password"',
    )
  })
  it('refuses an array', () => {
    expect(() => parseSecretValue('["CANARY"]', 'pending')).toThrow('not a JSON object')
  })
})

describe('parsePostgresSecret', () => {
  const ok = {
    username: 'app',
    password: 'CANARY-pw',
    host: 'h',
    port: '5432',
    dbname: 'd',
    engine: 'postgres',
  }
  it('coerces a string port and keeps other fields', () => {
    expect(parsePostgresSecret(ok, 'current')).toEqual({ ...ok, port: 5432 })
  })
  it('names missing fields, never values', () => {
    const attempt = (): unknown =>
      parsePostgresSecret({ ...ok, host: undefined, username: 'bad name; CANARY' }, 'pending')
    expect(attempt).toThrow(/username .*host/)
    expect(attempt).not.toThrow(/CANARY/)
  })
})
