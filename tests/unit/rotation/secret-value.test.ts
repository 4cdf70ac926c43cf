import { parsePostgresMaster, parsePostgresSecret } from '../../../src/rotation/secret-value'

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

describe('parsePostgresMaster', () => {
  it('accepts an RDS-managed master secret: only a username and a password', () => {
    expect(parsePostgresMaster({ username: 'postgres', password: 'CANARY-m' }, 'rds!db-x')).toEqual({
      username: 'postgres',
      password: 'CANARY-m',
      host: undefined,
      port: undefined,
    })
  })
  it('keeps host and port when the master has them', () => {
    expect(
      parsePostgresMaster({ username: 'a', password: 'p', host: 'db', port: '6432', dbname: 'x' }, 'm'),
    ).toMatchObject({ host: 'db', port: 6432 })
  })
  it('names the master secret and the missing field, never a value', () => {
    const attempt = (): unknown => parsePostgresMaster({ username: 'CANARY bad' }, 'rds!db-1')
    expect(attempt).toThrow(/master secret rds!db-1 is not a PostgreSQL login: username .*password/)
    expect(attempt).not.toThrow(/CANARY/)
  })
})
