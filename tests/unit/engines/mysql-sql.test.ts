import { EngineError } from '../../../src/rotation/engines/engine-error'
import { alternateUser, quoteAccount } from '../../../src/rotation/engines/mysql/mysql-account'
import {
  alterUserPasswordStatement,
  flavorOfVersion,
  mysqlNativePasswordHash,
  setOwnPasswordStatement,
} from '../../../src/rotation/engines/mysql/mysql-password'
import { classifyMysqlError, mysqlTlsOptions } from '../../../src/rotation/engines/mysql/mysql-session'

const HASH = '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19'

describe('mysqlNativePasswordHash', () => {
  it("matches MySQL's PASSWORD('password')", () => {
    // Act / Assert: the value every MySQL manual and server returns for PASSWORD('password')
    expect(mysqlNativePasswordHash('password')).toBe(HASH)
  })

  it('hashes the UTF-8 bytes, as clients send them', () => {
    expect(mysqlNativePasswordHash('pässwörd')).toMatch(/^\*[0-9A-F]{40}$/)
    expect(mysqlNativePasswordHash('pässwörd')).not.toBe(mysqlNativePasswordHash('p?ssw?rd'))
  })

  it('refuses an empty password', () => {
    expect(() => mysqlNativePasswordHash('')).toThrow(EngineError)
  })
})

describe('account quoting', () => {
  it('quotes a valid user and host pattern', () => {
    expect(quoteAccount({ user: 'app_1.x$-y', host: '10.0.%' })).toBe("'app_1.x$-y'@'10.0.%'")
    expect(quoteAccount({ user: 'app', host: '10.0.0.0/255.255.255.0' })).toBe(
      "'app'@'10.0.0.0/255.255.255.0'",
    )
    expect(quoteAccount({ user: 'app', host: '::1' })).toBe("'app'@'::1'")
  })

  it.each([
    ["a'b", '%'],
    ['a\\b', '%'],
    ['a b', '%'],
    ['a`b', '%'],
    ['', '%'],
    ['x'.repeat(33), '%'],
    ['app', "%'; DROP USER root; --"],
    ['app', ''],
    ['app', 'h\\'],
  ])('refuses user %j at host %j with a message that does not quote it', (user, host) => {
    let error: unknown
    try {
      quoteAccount({ user, host })
    } catch (err) {
      error = err
    }
    expect(error).toBeInstanceOf(EngineError)
    expect((error as EngineError).kind).toBe('invalid-input')
    if (user.length > 0) expect((error as Error).message).not.toContain(user)
  })

  it('alternates between a user and its clone', () => {
    expect(alternateUser('app')).toBe('app_clone')
    expect(alternateUser('app_clone')).toBe('app')
    expect(() => alternateUser('x'.repeat(27))).toThrow(EngineError)
  })
})

describe('password statements', () => {
  it('gives the master an ALTER USER with the pre-computed hash', () => {
    expect(alterUserPasswordStatement({ user: 'app', host: '%' }, HASH)).toBe(
      `ALTER USER 'app'@'%' IDENTIFIED WITH mysql_native_password AS '${HASH}'`,
    )
  })

  it('lets a MariaDB user set its own hash with SET PASSWORD, and a MySQL user with ALTER USER', () => {
    expect(setOwnPasswordStatement('mariadb', HASH)).toBe(`SET PASSWORD = '${HASH}'`)
    expect(setOwnPasswordStatement('mysql', HASH)).toBe(
      `ALTER USER CURRENT_USER() IDENTIFIED WITH mysql_native_password AS '${HASH}'`,
    )
  })

  it('refuses anything that is not a native hash, so a plain password can never be embedded', () => {
    for (const bad of ['password', `${HASH}'`, HASH.toLowerCase(), `${HASH}0`, "*' OR 1=1 --"]) {
      expect(() => setOwnPasswordStatement('mariadb', bad)).toThrow(EngineError)
      expect(() => alterUserPasswordStatement({ user: 'app', host: '%' }, bad)).toThrow(EngineError)
    }
  })

  it('tells MariaDB from MySQL by the version string', () => {
    expect(flavorOfVersion('10.11.19-MariaDB-0+deb12u1-log')).toBe('mariadb')
    expect(flavorOfVersion('5.5.5-10.6.12-MariaDB')).toBe('mariadb')
    expect(flavorOfVersion('8.0.39')).toBe('mysql')
  })
})

describe('mysqlTlsOptions', () => {
  it('maps the three modes', () => {
    expect(mysqlTlsOptions('disable', 'db.example')).toBeUndefined()
    expect(mysqlTlsOptions('require', 'db.example')).toEqual({ rejectUnauthorized: false })
    expect(mysqlTlsOptions('verify-full', 'db.example')).toEqual({
      rejectUnauthorized: true,
      verifyIdentity: true,
    })
    expect(mysqlTlsOptions('verify-full', 'db.example', 'PEM')).toEqual({
      rejectUnauthorized: true,
      verifyIdentity: true,
      ca: 'PEM',
    })
  })

  it('refuses verify-full to an IP address, whose name mysql2 would not check', () => {
    expect(() => mysqlTlsOptions('verify-full', '10.0.0.5')).toThrow(/host name/)
    expect(() => mysqlTlsOptions('verify-full', '::1')).toThrow(/host name/)
  })
})

describe('classifyMysqlError', () => {
  it.each([
    ['ER_ACCESS_DENIED_ERROR', 'authentication-failed'],
    ['ER_ACCESS_DENIED_NO_PASSWORD_ERROR', 'authentication-failed'],
    ['ER_SPECIFIC_ACCESS_DENIED_ERROR', 'permission-denied'],
    ['ER_TABLEACCESS_DENIED_ERROR', 'permission-denied'],
    ['ECONNREFUSED', 'unavailable'],
    ['PROTOCOL_SEQUENCE_TIMEOUT', 'unavailable'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'unavailable'],
    ['SELF_SIGNED_CERT_IN_CHAIN', 'unavailable'],
    ['ER_PARSE_ERROR', 'server-error'],
  ])('%s is %s', (code, kind) => {
    expect(classifyMysqlError({ code, message: 'quotes SQL' })).toEqual({ kind, code })
  })

  it('keeps no code that is not a plain identifier', () => {
    expect(classifyMysqlError({ code: "bad code '*ABC'" })).toEqual({ kind: 'server-error', code: undefined })
    expect(classifyMysqlError(new Error('x'))).toEqual({ kind: 'server-error', code: undefined })
  })
})
