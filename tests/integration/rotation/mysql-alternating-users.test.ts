import { freePort } from '../../../scripts/lib/ports'
import { rotateLikeSecretsManager } from '../../../scripts/lib/local-rotation'
import { aTarget, makeHandler, valueAt } from '../../../scripts/lib/rotation-env'
import {
  createMysqlMaster,
  createMysqlSecret,
  MYSQL_APP_DB,
  mysqlCredentialsOf,
  mysqlEngines,
  mysqlLogsIn,
  startMysqlRotationEnv,
  type MysqlRotationEnv,
  type MysqlSecretValue,
} from '../../../scripts/lib/rotation-env-mysql'
import { mysqlNativePasswordHash } from '../../../src/rotation'
import { describeStrategyMatrix } from './support/strategy-matrix'

jest.setTimeout(30_000)

/**
 * mysql-alternating-users against moto and a real MariaDB (every log scanned after every test): a
 * least-privileged master creates `<user>_clone` with exactly the user's grants, host and options, sets
 * passwords from their hash, and brings the clone back in line each time it becomes the pending user.
 */
let env: MysqlRotationEnv
let master: Awaited<ReturnType<typeof createMysqlMaster>>
beforeAll(async () => {
  env = await startMysqlRotationEnv()
  master = await createMysqlMaster(env, { username: 'rotation_master' })
}, 60_000)
afterAll(async () => {
  await env?.stop()
})

const target = (name: string, over = {}) =>
  aTarget(name, { strategy: 'mysql-alternating-users', masterSecretId: master.name, ...over })
const rotate = (name: string, engines = mysqlEngines(env), extra = {}) =>
  rotateLikeSecretsManager({
    endpoint: env.moto.endpoint,
    secretId: name,
    runStep: makeHandler(env, [target(name)], { engines }),
    ...extra,
  })
const current = async (arn: string, stage = 'AWSCURRENT'): Promise<MysqlSecretValue> =>
  (await valueAt(env, arn, stage)) as unknown as MysqlSecretValue

/** Run `sql` logged in with `value`; the error's code when it is refused. */
async function as(value: MysqlSecretValue, sql: string): Promise<string> {
  const s = await env.connect(mysqlCredentialsOf(value))
  try {
    await s.query(sql)
    return 'ok'
  } catch (err) {
    return String((err as { code?: string }).code)
  } finally {
    await s.close()
  }
}

describeStrategyMatrix<MysqlSecretValue>({
  strategy: 'mysql-alternating-users',
  env: () => env,
  newSecret: () => createMysqlSecret(env),
  target,
  engines: (faults) => mysqlEngines(env, faults),
  works: (v) => mysqlLogsIn(env, v),
  secretsOf: (v) => [v.password],
  scan: (secret) => env.db.scanLogsFor(secret),
  wrongMaster: async (name) => {
    const weak = await createMysqlMaster(env, { username: `weak_${Date.now() % 100_000}`, weak: true })
    const user = name.split('/').at(-1) ?? ''
    return {
      target: target(name, { masterSecretId: weak.name }),
      step: 'setSecret',
      error: `setSecret: creating the user '${user}_clone'@'%' on 127.0.0.1:${env.db.port} failed (EngineError ER_SPECIFIC_ACCESS_DENIED_ERROR)`,
    }
  },
  downStep: 'setSecret',
  downError: (v) =>
    `setSecret: logging in as ${v.username}_clone on 127.0.0.1:${env.db.port} (do the pending credentials work yet?) failed (EngineError ECONNREFUSED)`,
  generatesPasswords: true,
})

describe('mysql-alternating-users specifics', () => {
  it("creates <user>_clone with exactly the user's grants, host and options; both users work after the rotation", async () => {
    // Arrange
    const s = await createMysqlSecret(env)
    // Act
    const report = await rotate(s.name)
    // Assert
    expect(report.ok).toBe(true)
    const clone = await current(s.arn)
    expect(clone.username).toBe(`${s.value.username}_clone`)
    expect([await mysqlLogsIn(env, clone), await mysqlLogsIn(env, s.value)]).toEqual([true, true])
    // What the user may do, the clone may (its default role included); what the user may not, neither.
    for (const v of [s.value, clone]) {
      expect(await as(v, `SELECT item FROM ${MYSQL_APP_DB}.orders`)).toBe('ok')
      expect(await as(v, `UPDATE ${MYSQL_APP_DB}.orders SET note = 'x' WHERE id = 1`)).toBe('ok')
      expect(await as(v, `UPDATE ${MYSQL_APP_DB}.orders SET item = 'x' WHERE id = 1`)).toBe(
        'ER_COLUMNACCESS_DENIED_ERROR',
      )
      expect(await as(v, `DELETE FROM ${MYSQL_APP_DB}.orders`)).toBe('ER_TABLEACCESS_DENIED_ERROR')
    }
    const [create] = await env.db.query<Record<string, string>>(`SHOW CREATE USER '${clone.username}'@'%'`)
    expect(Object.values(create ?? {})[0]).toContain('MAX_QUERIES_PER_HOUR 5000')
    // The password went as its hash: the scan is looking where the statement is.
    expect(env.db.readGeneralLog()).toContain(
      `CREATE USER '${clone.username}'@'%' IDENTIFIED WITH mysql_native_password AS '${mysqlNativePasswordHash(clone.password)}'`,
    )
  })

  it('alternates back; the clone, now AWSPREVIOUS, keeps working; the password two rotations old does not', async () => {
    // Arrange
    const s = await createMysqlSecret(env)
    await rotate(s.name)
    const clone = await current(s.arn)
    // Act
    const second = await rotate(s.name)
    // Assert
    expect(second.ok).toBe(true)
    const now = await current(s.arn)
    expect(now.username).toBe(s.value.username)
    expect((await current(s.arn, 'AWSPREVIOUS')).username).toBe(clone.username)
    expect([
      await mysqlLogsIn(env, now),
      await mysqlLogsIn(env, clone),
      await mysqlLogsIn(env, s.value),
    ]).toEqual([true, true, false])
  })

  it("brings the clone back in line with the user's grants when it next becomes the pending user", async () => {
    // Arrange: rotated twice (the clone exists); then the user gains DELETE and loses UPDATE(note)
    const s = await createMysqlSecret(env)
    await rotate(s.name)
    await rotate(s.name)
    const account = `'${s.value.username}'@'%'`
    // A master copies only what it may grant: it gets DELETE WITH GRANT OPTION along with the user.
    await env.db.query(`GRANT DELETE ON ${MYSQL_APP_DB}.orders TO 'rotation_master'@'%' WITH GRANT OPTION`)
    await env.db.query(`GRANT DELETE ON ${MYSQL_APP_DB}.orders TO ${account}`)
    await env.db.query(`REVOKE UPDATE (note) ON ${MYSQL_APP_DB}.orders FROM ${account}`)
    // Act
    const report = await rotate(s.name)
    // Assert
    expect(report.ok).toBe(true)
    const clone = await current(s.arn)
    expect(clone.username).toBe(`${s.value.username}_clone`)
    expect(await as(clone, `DELETE FROM ${MYSQL_APP_DB}.orders WHERE id = 42`)).toBe('ok')
    expect(await as(clone, `UPDATE ${MYSQL_APP_DB}.orders SET note = 'y' WHERE id = 1`)).toBe(
      'ER_TABLEACCESS_DENIED_ERROR',
    )
  })

  it('converges when the connection drops right after CREATE USER: the retry copies the grants', async () => {
    // Arrange
    const s = await createMysqlSecret(env)
    const faults = { dropAfter: /^CREATE USER/, closedPort: await freePort() }
    // Act
    const failed = await rotate(s.name, mysqlEngines(env, faults), { maxAttemptsPerStep: 1 })
    // Assert: the clone exists with its password but no grant yet (it cannot open the database); the
    // user still works; the retry finishes the copy
    expect(failed).toMatchObject({ ok: false, failedStep: 'setSecret' })
    const pending = await current(s.arn, 'AWSPENDING')
    expect(await mysqlLogsIn(env, pending)).toBe(false)
    expect(await mysqlLogsIn(env, await current(s.arn))).toBe(true)
    const retry = await rotate(s.name, mysqlEngines(env), { token: failed.token })
    expect(retry.ok).toBe(true)
    expect(retry.attempts.find((a) => a.step === 'setSecret')?.detail).toBe(
      'changed: pending credentials set',
    )
    expect(await as(pending, `SELECT item FROM ${MYSQL_APP_DB}.orders`)).toBe('ok')
  })
})
