import { ErrorReply } from '@redis/client'
import { EngineError } from '../../../src/rotation/engines/engine-error'
import {
  addPasswordArgs,
  cloneUserArgs,
  parseAclGetUser,
  redisPasswordHash,
  removeOtherPasswordsArgs,
  splitAclRules,
} from '../../../src/rotation/engines/redis/redis-acl'
import { classifyRedisError, redisTlsOptions } from '../../../src/rotation/engines/redis/redis-session'

const A = 'a'.repeat(64)
const B = 'b'.repeat(64)
const C = 'c'.repeat(64)

describe('redisPasswordHash', () => {
  it('is the lower-case hex SHA-256 of the UTF-8 password', () => {
    expect(redisPasswordHash('foobar')).toBe(
      'c3ab8ff13720e8ad9047dd39466b3c8974e592c2fa383d4a3960714caef0c4f2',
    )
    expect(() => redisPasswordHash('')).toThrow(EngineError)
  })
})

describe('parseAclGetUser', () => {
  it('reads the RESP2 flat array and the RESP3 map', () => {
    const resp2 = [
      'flags',
      ['on', 'sanitize-payload'],
      'passwords',
      [A, B],
      'commands',
      '+@all',
      'keys',
      '~*',
    ]
    expect(parseAclGetUser('app', resp2)).toEqual({
      name: 'app',
      flags: ['on', 'sanitize-payload'],
      passwordHashes: [A, B],
    })
    expect(parseAclGetUser('app', { flags: new Set(['off']), passwords: [] })).toEqual({
      name: 'app',
      flags: ['off'],
      passwordHashes: [],
    })
    expect(parseAclGetUser('app', new Map([['passwords', [C]]]))).toEqual({
      name: 'app',
      flags: [],
      passwordHashes: [C],
    })
  })

  it('returns undefined for a missing user and refuses what is not a hash list', () => {
    expect(parseAclGetUser('app', null)).toBeUndefined()
    expect(() => parseAclGetUser('app', ['passwords', ['plain-text']])).toThrow(EngineError)
    expect(() => parseAclGetUser('app', 'OK')).toThrow(EngineError)
  })
})

describe('password rules', () => {
  const user = { name: 'app', flags: ['on'], passwordHashes: [A, B] }

  it('adds a hash once, and only a hash', () => {
    expect(addPasswordArgs(user, C)).toEqual(['ACL', 'SETUSER', 'app', `#${C}`])
    expect(addPasswordArgs(user, A)).toBeUndefined()
    expect(() => addPasswordArgs(user, 'plain-password')).toThrow(EngineError)
    expect(() => addPasswordArgs(user, C.toUpperCase())).toThrow(EngineError)
  })

  it('removes only hashes the user has, never all of them', () => {
    expect(removeOtherPasswordsArgs(user, [B])).toEqual(['ACL', 'SETUSER', 'app', `!${A}`])
    expect(removeOtherPasswordsArgs(user, [A, B])).toBeUndefined()
    expect(() => removeOtherPasswordsArgs(user, [C])).toThrow(/every password/)
  })

  it('refuses user names that could not be replayed from ACL LIST', () => {
    expect(() => addPasswordArgs({ ...user, name: 'a b' }, C)).toThrow(EngineError)
    expect(() => addPasswordArgs({ ...user, name: '' }, C)).toThrow(EngineError)
  })
})

describe('cloning a user from ACL LIST', () => {
  const line = `user app on #${A} #${B} ~app:* resetchannels &events:* -@all +get +set (~other:* +get)`

  it('keeps selectors whole when splitting', () => {
    expect(splitAclRules(line).at(-1)).toBe('(~other:* +get)')
  })

  it("copies every rule except the passwords, after a reset, with the clone's own hash", () => {
    expect(cloneUserArgs(line, 'app', 'app_clone', C)).toEqual([
      'ACL',
      'SETUSER',
      'app_clone',
      'reset',
      'on',
      '~app:*',
      'resetchannels',
      '&events:*',
      '-@all',
      '+get',
      '+set',
      '(~other:* +get)',
      'resetpass',
      `#${C}`,
    ])
  })

  it('refuses a line for another user and a source without passwords', () => {
    expect(() => cloneUserArgs(line, 'other', 'other_clone', C)).toThrow(EngineError)
    expect(() => cloneUserArgs('user app on nopass ~* +@all', 'app', 'app_clone', C)).toThrow(/nopass/)
  })
})

describe('redisTlsOptions', () => {
  it('maps the three modes', () => {
    expect(redisTlsOptions('disable', 'cache.example')).toBeUndefined()
    expect(redisTlsOptions('require', 'cache.example')).toEqual({ tls: true, rejectUnauthorized: false })
    expect(redisTlsOptions('verify-full', 'cache.example', 'PEM')).toEqual({
      tls: true,
      rejectUnauthorized: true,
      servername: 'cache.example',
      ca: 'PEM',
    })
    expect(redisTlsOptions('verify-full', '10.0.0.1')).toEqual({ tls: true, rejectUnauthorized: true })
  })
})

describe('classifyRedisError', () => {
  it('keeps only the first word of a reply, which can echo a rule', () => {
    const echoed = new ErrorReply(`ERR Error in ACL SETUSER modifier '!${A}': no such password`)
    expect(classifyRedisError(echoed)).toEqual({ kind: 'server-error', code: 'ERR' })
    expect(classifyRedisError(new ErrorReply('WRONGPASS invalid username-password pair'))).toEqual({
      kind: 'authentication-failed',
      code: 'WRONGPASS',
    })
    expect(
      classifyRedisError(
        new ErrorReply("NOPERM User app has no permissions to run the 'acl|setuser' command"),
      ),
    ).toEqual({
      kind: 'permission-denied',
      code: 'NOPERM',
    })
  })

  it('treats socket errors as unavailable', () => {
    expect(classifyRedisError(Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }))).toEqual({
      kind: 'unavailable',
      code: 'ECONNREFUSED',
    })
  })
})
