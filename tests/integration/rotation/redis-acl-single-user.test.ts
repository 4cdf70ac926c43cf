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
import { redisPasswordHash } from '../../../src/rotation'
import { describeStrategyMatrix } from './support/strategy-matrix'

jest.setTimeout(30_000)

/**
 * redis-acl-single-user against moto and a real redis-server: the master adds the pending password's
 * SHA-256 and removes the passwords older than AWSCURRENT in one ACL SETUSER, so AWSCURRENT never stops
 * working and the previous password works until the next rotation. Redis redacts ACL SETUSER in its own
 * records, so after every test the master's wire (a recording relay) is scanned too.
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
  aTarget(name, { strategy: 'redis-acl-single-user', masterSecretId: master.name, ...over })
const rotate = (name: string) =>
  rotateLikeSecretsManager({
    endpoint: env.moto.endpoint,
    secretId: name,
    runStep: makeHandler(env, [target(name)], { engines: redisEngines(env, MASTERS) }),
  })
const valueOf = async (arn: string, stage: string): Promise<RedisSecretValue> =>
  (await valueAt(env, arn, stage)) as unknown as RedisSecretValue
/** The user's ACL LIST line without its password hashes. */
const rulesOf = async (user: string): Promise<string> =>
  ((await env.redis.command(['ACL', 'LIST'])) as string[])
    .find((l) => l.startsWith(`user ${user} `))
    ?.split(' ')
    .filter((r) => !r.startsWith('#'))
    .join(' ') ?? '(none)'

describeStrategyMatrix<RedisSecretValue>({
  strategy: 'redis-acl-single-user',
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
      error: `setSecret: adding the pending password to ${user} on 127.0.0.1:${env.redis.port} failed (EngineError NOPERM)`,
    }
  },
  downStep: 'setSecret',
  downError: () =>
    `setSecret: logging in as rotation-master on 127.0.0.1:${env.redis.port} (as the master of ${master.name}) failed (EngineError ECONNREFUSED)`,
  generatesPasswords: true,
})

describe('redis-acl-single-user specifics', () => {
  it('keeps the previous password working until the next rotation, and every other rule as it was', async () => {
    // Arrange
    const s = await createRedisSecret(env)
    const rulesBefore = await rulesOf(s.value.username)
    env.masterWire.clear()
    // Act
    const first = await rotate(s.name)
    const afterFirst = await valueOf(s.arn, 'AWSCURRENT')
    const previousWorks = await redisLogsIn(env, s.value)
    const second = await rotate(s.name)
    // Assert
    expect([first.ok, second.ok]).toEqual([true, true])
    expect(previousWorks).toBe(true)
    const now = await valueOf(s.arn, 'AWSCURRENT')
    expect([
      await redisLogsIn(env, now),
      await redisLogsIn(env, afterFirst),
      await redisLogsIn(env, s.value),
    ]).toEqual([true, true, false])
    expect(await rulesOf(s.value.username)).toBe(rulesBefore)
    // The relay saw the master's commands: the hash went over the wire, the password did not.
    expect(env.masterWire.clientBytes().toString()).toContain(`#${redisPasswordHash(afterFirst.password)}`)
    expect(env.masterWire.clientBytes().toString()).not.toContain(afterFirst.password)
  })

  it('refuses a user with nopass, which any password logs in as, and changes nothing', async () => {
    // Arrange
    const s = await createRedisSecret(env)
    await env.redis.command(['ACL', 'SETUSER', s.value.username, 'nopass'])
    // Act
    const report = await rotate(s.name)
    // Assert
    expect(report).toMatchObject({ ok: false, failedStep: 'setSecret' })
    expect(report.attempts.at(-1)?.error).toBe(
      `setSecret: the ACL user ${s.value.username} on 127.0.0.1:${env.redis.port} has nopass (any password logs in): give it a password first`,
    )
    expect(await rulesOf(s.value.username)).toContain('nopass')
  })
})
