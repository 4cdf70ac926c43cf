import { rotateLikeSecretsManager } from '../../../scripts/lib/local-rotation'
import { aTarget, makeHandler, valueAt } from '../../../scripts/lib/rotation-env'
import {
  createRedisMaster,
  createRedisSecret,
  redisEngines,
  redisLogsIn,
  scanRedisFor,
  startRedisRotationEnv,
  type RedisRotationEnv,
  type RedisSecretValue,
} from '../../../scripts/lib/rotation-env-redis'
import { describeStrategyMatrix } from './support/strategy-matrix'

jest.setTimeout(30_000)

/**
 * redis-acl-alternating-users against moto and a real redis-server: the master creates `<user>_clone` as an
 * exact copy of the user's rules with its own password (one atomic ACL SETUSER … reset … resetpass #<hash>),
 * then alternates; AWSCURRENT's user is never touched. The master's wire is scanned after every test.
 */
let env: RedisRotationEnv
let master: Awaited<ReturnType<typeof createRedisMaster>>
beforeAll(async () => {
  env = await startRedisRotationEnv()
  master = await createRedisMaster(env, { username: 'rotation-master' })
}, 60_000)
afterAll(async () => {
  await env?.stop()
})

const MASTERS = ['rotation-master', 'weak-master']
const target = (name: string, over = {}) =>
  aTarget(name, { strategy: 'redis-acl-alternating-users', masterSecretId: master.name, ...over })
const rotate = (name: string) =>
  rotateLikeSecretsManager({
    endpoint: env.moto.endpoint,
    secretId: name,
    runStep: makeHandler(env, [target(name)], { engines: redisEngines(env, MASTERS) }),
  })
const valueOf = async (arn: string, stage: string): Promise<RedisSecretValue> =>
  (await valueAt(env, arn, stage)) as unknown as RedisSecretValue
/** The user's rules (ACL LIST without its name, passwords and the flag `reset` restates). */
const rulesOf = async (user: string): Promise<string> =>
  ((await env.redis.command(['ACL', 'LIST'])) as string[])
    .find((l) => l.startsWith(`user ${user} `))
    ?.split(' ')
    .slice(2)
    .filter((r) => !r.startsWith('#') && r !== 'sanitize-payload')
    .join(' ') ?? '(none)'
/** Run a command as `v`; the reply's first word when refused. */
async function as(v: RedisSecretValue, args: string[]): Promise<string> {
  const s = await env.connect(v)
  try {
    await s.command(args)
    return 'ok'
  } catch (err) {
    return String((err as { code?: string }).code)
  } finally {
    await s.close()
  }
}

describeStrategyMatrix<RedisSecretValue>({
  strategy: 'redis-acl-alternating-users',
  env: () => env,
  newSecret: () => createRedisSecret(env),
  target,
  engines: (faults) => redisEngines(env, MASTERS, faults),
  works: (v) => redisLogsIn(env, v),
  secretsOf: (v) => [v.password],
  scan: (secret) => scanRedisFor(env, secret),
  wrongMaster: async (name) => {
    const weak = await createRedisMaster(env, { username: 'weak-master', weak: true }).catch(() => undefined)
    const user = name.split('/').at(-1) ?? ''
    return {
      target: target(name, { masterSecretId: weak?.name ?? 'secret-broker/test/redis-master/weak-master' }),
      step: 'setSecret',
      error: `setSecret: creating or resetting ${user}_clone as a copy of ${user} on 127.0.0.1:${env.redis.port} failed (EngineError NOPERM)`,
    }
  },
  downStep: 'setSecret',
  downError: () =>
    `setSecret: logging in as rotation-master on 127.0.0.1:${env.redis.port} (as the master of ${master.name}) failed (EngineError ECONNREFUSED)`,
  generatesPasswords: true,
})

describe('redis-acl-alternating-users specifics', () => {
  it("creates <user>_clone with exactly the user's rules; both users work; then alternates back", async () => {
    // Arrange
    const s = await createRedisSecret(env)
    // Act
    const first = await rotate(s.name)
    const clone = await valueOf(s.arn, 'AWSCURRENT')
    const afterFirst = [await redisLogsIn(env, clone), await redisLogsIn(env, s.value)]
    const refusals: string[] = []
    for (const v of [s.value, clone])
      refusals.push(
        await as(v, ['SET', 'app:k', '1']),
        await as(v, ['SET', 'other:k', '1']),
        await as(v, ['FLUSHALL']),
      )
    const second = await rotate(s.name)
    // Assert
    expect([first.ok, second.ok]).toEqual([true, true])
    expect(clone.username).toBe(`${s.value.username}_clone`)
    expect(afterFirst).toEqual([true, true])
    expect(await rulesOf(clone.username)).toBe(await rulesOf(s.value.username))
    expect(refusals).toEqual(['ok', 'NOPERM', 'NOPERM', 'ok', 'NOPERM', 'NOPERM'])
    const now = await valueOf(s.arn, 'AWSCURRENT')
    expect(now.username).toBe(s.value.username)
    expect([
      await redisLogsIn(env, now),
      await redisLogsIn(env, clone),
      await redisLogsIn(env, s.value),
    ]).toEqual([true, true, false])
  })

  it('brings the clone back to the user’s rules when it next becomes the pending user', async () => {
    // Arrange: the clone exists (two rotations), then the user's rules change
    const s = await createRedisSecret(env)
    await rotate(s.name)
    await rotate(s.name)
    await env.redis.command(['ACL', 'SETUSER', s.value.username, '~cache:*', '-@write'])
    await env.redis.command(['ACL', 'SETUSER', `${s.value.username}_clone`, '+flushall'])
    // Act
    const report = await rotate(s.name)
    // Assert
    expect(report.ok).toBe(true)
    const clone = await valueOf(s.arn, 'AWSCURRENT')
    expect(await rulesOf(clone.username)).toBe(await rulesOf(s.value.username))
    expect(await as(clone, ['GET', 'cache:x'])).toBe('ok')
    expect(await as(clone, ['FLUSHALL'])).toBe('NOPERM')
  })
})
