import { randomBytes } from 'node:crypto'
import { scanSourcesFor } from '../../../scripts/lib/log-scan'
import { startRedis, type RedisServer } from '../../../scripts/lib/redis'
import { startTcpCapture, type TcpCapture } from '../../../scripts/lib/tcp-capture'
import { EngineError } from '../../../src/rotation/engines/engine-error'
import {
  addPasswordArgs,
  cloneUserArgs,
  redisPasswordHash,
  removeOtherPasswordsArgs,
} from '../../../src/rotation/engines/redis/redis-acl'
import {
  createRedisConnector,
  type RedisCredentials,
  type RedisSession,
} from '../../../src/rotation/engines/redis/redis-session'

/**
 * The Redis ACL primitives against a real redis-server (Debian's package, a private instance with TLS):
 * passwords travel only as SHA-256 hashes (checked on the wire, because Redis keeps ACL SETUSER out of
 * MONITOR and redacts it in SLOWLOG), a user keeps its previous password until it is removed, every
 * other rule stays as it was, and a least-privileged rotator can do it all.
 */
jest.setTimeout(30_000)

let redis: RedisServer
let capture: TcpCapture
const ROTATOR = 'rotator'
const rotatorPassword = `R-${randomBytes(12).toString('hex')}`
const pw = (): string => `Pw-${randomBytes(15).toString('base64url')}`
const connect = createRedisConnector({ tlsMode: 'disable', connectTimeoutMs: 2000, commandTimeoutMs: 2000 })
const at = (username: string, password: string, port = redis.port): RedisCredentials => ({
  username,
  password,
  host: '127.0.0.1',
  port,
})

async function loginError(username: string, password: string): Promise<EngineError | undefined> {
  try {
    const s = await connect(at(username, password))
    await s.close()
    return undefined
  } catch (err) {
    return err as EngineError
  }
}

async function asRotator<T>(fn: (s: RedisSession) => Promise<T>, port = redis.port): Promise<T> {
  const s = await connect(at(ROTATOR, rotatorPassword, port))
  try {
    return await fn(s)
  } finally {
    await s.close()
  }
}

const aclLine = async (name: string): Promise<string | undefined> => asRotator((s) => s.aclListLine(name))

beforeAll(async () => {
  redis = await startRedis({ tls: true })
  capture = await startTcpCapture({ host: '127.0.0.1', port: redis.port })
  // The least privilege rotation needs: read and change ACL users. (Any holder of ACL SETUSER can change
  // its own rules too: Redis has no narrower grant, so this login is as sensitive as an admin's.)
  await redis.command([
    'ACL',
    'SETUSER',
    ROTATOR,
    'on',
    `#${redisPasswordHash(rotatorPassword)}`,
    '-@all',
    '+acl|setuser',
    '+acl|getuser',
    '+acl|list',
    '+acl|whoami',
  ])
}, 30_000)

afterAll(async () => {
  await capture.stop()
  await redis.stop()
})

describe("what the Redis server's own records show", () => {
  it('keeps ACL SETUSER out of MONITOR, SLOWLOG, ACL LOG and the log, even with a plain password: only the wire shows it', async () => {
    // Arrange
    const leaked = pw()
    const visible = pw()
    capture.clear()
    // Act: the naive way, and a data command as a control that MONITOR and SLOWLOG do record
    await asRotator((s) => s.command(['ACL', 'SETUSER', 'leaky', 'on', `>${leaked}`]), capture.port)
    await redis.command(['SET', 'control-key', visible])
    // Assert
    expect(await redis.scanLogsFor(leaked)).toEqual([])
    expect((await redis.scanLogsFor(visible)).map((h) => h.source)).toEqual(
      expect.arrayContaining(['MONITOR', 'SLOWLOG']),
    )
    expect(scanSourcesFor(leaked, [{ name: 'wire', bytes: capture.clientBytes() }])).toHaveLength(1)
  })
})

describe('passwords by hash', () => {
  const first = pw()
  const second = pw()

  beforeAll(async () => {
    await redis.command([
      'ACL',
      'SETUSER',
      'app',
      'on',
      `#${redisPasswordHash(first)}`,
      '~app:*',
      'resetchannels',
      '&events:*',
      '-@all',
      '+get',
      '+set',
      '(~shared:* +get)',
    ])
  })

  it('adds a second password by its hash: both log in, no other rule changes, the plain text never leaves', async () => {
    // Arrange
    const before = await aclLine('app')
    capture.clear()
    // Act
    await asRotator(async (s) => {
      const user = await s.aclGetUser('app')
      const args = addPasswordArgs(user!, redisPasswordHash(second))
      await s.command(args!)
    }, capture.port)
    // Assert
    const after = await aclLine('app')
    expect(after).toBe(
      before!.replace(
        ` #${redisPasswordHash(first)}`,
        ` #${redisPasswordHash(first)} #${redisPasswordHash(second)}`,
      ),
    )
    expect(await loginError('app', first)).toBeUndefined()
    expect(await loginError('app', second)).toBeUndefined()
    expect(scanSourcesFor(second, [{ name: 'wire', bytes: capture.clientBytes() }])).toEqual([])
    expect(capture.clientBytes().toString()).toContain(`#${redisPasswordHash(second)}`)
    expect(await redis.scanLogsFor(second)).toEqual([])
  })

  it('adding the same hash again changes nothing', async () => {
    const user = await asRotator((s) => s.aclGetUser('app'))
    expect(addPasswordArgs(user!, redisPasswordHash(second))).toBeUndefined()
    expect(user!.passwordHashes).toEqual([redisPasswordHash(first), redisPasswordHash(second)])
  })

  it('removes the previous password: it stops working, the kept one works, a re-run is a no-op', async () => {
    await asRotator(async (s) => {
      const args = removeOtherPasswordsArgs((await s.aclGetUser('app'))!, [redisPasswordHash(second)])
      await s.command(args!)
      expect(
        removeOtherPasswordsArgs((await s.aclGetUser('app'))!, [redisPasswordHash(second)]),
      ).toBeUndefined()
    })
    expect(await loginError('app', first)).toMatchObject({ kind: 'authentication-failed', code: 'WRONGPASS' })
    expect(await loginError('app', second)).toBeUndefined()
  })

  it('a password with every printable ASCII character logs in', async () => {
    const password = Array.from({ length: 94 }, (_, i) => String.fromCharCode(33 + i)).join('') + ' x'
    await asRotator(async (s) =>
      s.command(addPasswordArgs((await s.aclGetUser('app'))!, redisPasswordHash(password))!),
    )
    expect(await loginError('app', password)).toBeUndefined()
  })
})

describe('the alternate user', () => {
  it("gets exactly the user's rules and its own single password, whatever it had before", async () => {
    // Arrange
    const clonePassword = pw()
    await redis.command([
      'ACL',
      'SETUSER',
      'svc',
      'on',
      `#${redisPasswordHash(pw())}`,
      '~svc:*',
      '-@all',
      '+get',
      '+set',
    ])
    await redis.command(['ACL', 'SETUSER', 'svc_clone', 'on', '+@all', '~*', `#${redisPasswordHash(pw())}`])
    // Act
    await asRotator(async (s) =>
      s.command(
        cloneUserArgs((await s.aclListLine('svc'))!, 'svc', 'svc_clone', redisPasswordHash(clonePassword)),
      ),
    )
    // Assert
    // `reset` sets `sanitize-payload`, which is what a user without either payload flag gets anyway (only
    // `skip-sanitize-payload` changes RESTORE's checks), so the two lines are equal without it.
    const normalise = (line: string | undefined, name: string): string =>
      (line ?? '')
        .replace(`user ${name} `, 'user X ')
        .replace(/ #[0-9a-f]{64}/g, '')
        .replace(' sanitize-payload', '')
    expect(normalise(await aclLine('svc_clone'), 'svc_clone')).toBe(normalise(await aclLine('svc'), 'svc'))
    expect((await asRotator((s) => s.aclGetUser('svc_clone')))!.passwordHashes).toEqual([
      redisPasswordHash(clonePassword),
    ])
    const s = await connect(at('svc_clone', clonePassword))
    try {
      await s.command(['SET', 'svc:k', 'v'])
      await expect(s.command(['SET', 'other:k', 'v'])).rejects.toMatchObject({
        kind: 'permission-denied',
        code: 'NOPERM',
      })
      await expect(s.command(['DEL', 'svc:k'])).rejects.toMatchObject({ kind: 'permission-denied' })
      expect(await s.command(['GET', 'svc:k'])).toBe('v')
    } finally {
      await s.close()
    }
  })
})

describe('errors', () => {
  it('a wrong password is authentication-failed, naming no value', async () => {
    const secret = pw()
    const error = await loginError(ROTATOR, secret)
    expect(error).toBeInstanceOf(EngineError)
    expect(error).toMatchObject({ kind: 'authentication-failed', code: 'WRONGPASS' })
    expect(error?.message).not.toContain(secret)
  })

  it("a rejected rule does not carry Redis's echo of it", async () => {
    const hash = redisPasswordHash(pw())
    const error = await asRotator((s) => s.command(['ACL', 'SETUSER', 'app', `!${hash}`])).catch(
      (e: unknown) => e,
    )
    expect(error).toMatchObject({ kind: 'server-error', code: 'ERR' })
    expect(String(error)).not.toContain(hash)
  })

  it('the rotator cannot do anything else', async () => {
    await expect(asRotator((s) => s.command(['GET', 'app:k']))).rejects.toMatchObject({
      kind: 'permission-denied',
    })
  })

  it('a server that is down is unavailable', async () => {
    const error = await connect(at(ROTATOR, rotatorPassword, 1)).catch((e: unknown) => e)
    expect(error).toMatchObject({ kind: 'unavailable', code: 'ECONNREFUSED' })
  })
})

describe('TLS modes', () => {
  const tlsAt = (host: string): RedisCredentials => ({
    username: ROTATOR,
    password: rotatorPassword,
    host,
    port: redis.tlsPort!,
  })

  it('verify-full with the CA logs in to the server named localhost', async () => {
    const c = createRedisConnector({
      tlsMode: 'verify-full',
      connectTimeoutMs: 2000,
      commandTimeoutMs: 2000,
      ca: redis.tls!.caPem,
    })
    const s = await c(tlsAt('localhost'))
    expect(await s.whoami()).toBe(ROTATOR)
    await s.close()
  })

  it('verify-full without the CA refuses the certificate', async () => {
    const c = createRedisConnector({ tlsMode: 'verify-full', connectTimeoutMs: 2000, commandTimeoutMs: 2000 })
    await expect(c(tlsAt('localhost'))).rejects.toMatchObject({ kind: 'unavailable' })
  })

  it('require encrypts without verifying', async () => {
    const c = createRedisConnector({ tlsMode: 'require', connectTimeoutMs: 2000, commandTimeoutMs: 2000 })
    const s = await c(tlsAt('127.0.0.1'))
    expect(await s.whoami()).toBe(ROTATOR)
    await s.close()
  })
})
