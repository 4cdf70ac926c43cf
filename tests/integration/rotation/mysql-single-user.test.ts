import { freePort } from '../../../scripts/lib/ports'
import { rotateLikeSecretsManager } from '../../../scripts/lib/local-rotation'
import { aTarget, makeHandler, valueAt } from '../../../scripts/lib/rotation-env'
import {
  createMysqlSecret,
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
 * mysql-single-user against moto and a real MariaDB (general, slow and binary logs on, every one scanned
 * after every test): the user changes its own password with `SET PASSWORD = '<hash>'`, so the plain
 * password reaches no log.
 */
let env: MysqlRotationEnv
beforeAll(async () => {
  env = await startMysqlRotationEnv()
}, 60_000)
afterAll(async () => {
  await env?.stop()
})

const target = (name: string, over = {}) => aTarget(name, { strategy: 'mysql-single-user', ...over })

describeStrategyMatrix<MysqlSecretValue>({
  strategy: 'mysql-single-user',
  env: () => env,
  newSecret: () => createMysqlSecret(env),
  target,
  engines: (faults) => mysqlEngines(env, faults),
  works: (v) => mysqlLogsIn(env, v),
  secretsOf: (v) => [v.password],
  scan: (secret) => env.db.scanLogsFor(secret),
  downStep: 'setSecret',
  downError: (v) =>
    `setSecret: logging in as ${v.username} on 127.0.0.1:${env.db.port} (do the pending credentials work yet?) failed (EngineError ECONNREFUSED)`,
  generatesPasswords: true,
})

describe('mysql-single-user specifics', () => {
  it('the old password stops working at setSecret; the server logged only the hash the function computed', async () => {
    // Arrange
    const s = await createMysqlSecret(env)
    // Act
    const report = await rotateLikeSecretsManager({
      endpoint: env.moto.endpoint,
      secretId: s.name,
      runStep: makeHandler(env, [target(s.name)], { engines: mysqlEngines(env) }),
    })
    // Assert
    expect(report.ok).toBe(true)
    const current = (await valueAt(env, s.arn, 'AWSCURRENT')) as unknown as MysqlSecretValue
    expect(await mysqlLogsIn(env, current)).toBe(true)
    expect(await mysqlLogsIn(env, s.value)).toBe(false)
    // The scan looks where the statement went: the general log has it, with the hash and nothing else.
    expect(env.db.readGeneralLog()).toContain(`SET PASSWORD = '${mysqlNativePasswordHash(current.password)}'`)
    expect(await env.db.scanLogsFor(current.password)).toEqual([])
  })

  it('completes when the connection drops right after SET PASSWORD: the retry finds the pending password set', async () => {
    // Arrange
    const s = await createMysqlSecret(env)
    const faults = { dropAfter: /^SET PASSWORD/, closedPort: await freePort() }
    const run = makeHandler(env, [target(s.name)], { engines: mysqlEngines(env, faults) })
    // Act
    const failed = await rotateLikeSecretsManager({
      endpoint: env.moto.endpoint,
      secretId: s.name,
      runStep: run,
      maxAttemptsPerStep: 1,
    })
    // Assert
    expect(failed).toMatchObject({ ok: false, failedStep: 'setSecret' })
    expect(failed.attempts.at(-1)?.error).toBe(
      `setSecret: changing the password of '${s.value.username}'@'%' on 127.0.0.1:${env.db.port} failed (Error PROTOCOL_CONNECTION_LOST)`,
    )
    const pending = (await valueAt(env, s.arn, 'AWSPENDING')) as unknown as MysqlSecretValue
    expect(await mysqlLogsIn(env, pending)).toBe(true)
    const retry = await rotateLikeSecretsManager({
      endpoint: env.moto.endpoint,
      secretId: s.name,
      runStep: makeHandler(env, [target(s.name)], { engines: mysqlEngines(env) }),
      token: failed.token,
    })
    expect(retry.ok).toBe(true)
    expect(retry.attempts.find((a) => a.step === 'setSecret')?.detail).toBe(
      'unchanged: pending credentials already active',
    )
  })

  it('refuses an account with several authentication methods, and leaves its password as it was', async () => {
    // Arrange: native password OR unix_socket: setting the hash would silently change how it logs in
    const s = await createMysqlSecret(env)
    await env.db.query(
      `ALTER USER '${s.value.username}'@'%' IDENTIFIED VIA mysql_native_password USING '${mysqlNativePasswordHash(s.value.password)}' OR unix_socket`,
    )
    // Act
    const report = await rotateLikeSecretsManager({
      endpoint: env.moto.endpoint,
      secretId: s.name,
      runStep: makeHandler(env, [target(s.name)], { engines: mysqlEngines(env) }),
    })
    // Assert
    expect(report).toMatchObject({ ok: false, failedStep: 'setSecret' })
    expect(report.attempts.at(-1)?.error).toBe(
      `setSecret: checking the authentication of '${s.value.username}'@'%' on 127.0.0.1:${env.db.port}: account has several authentication methods`,
    )
    expect(await mysqlLogsIn(env, s.value)).toBe(true)
    const pending = (await valueAt(env, s.arn, 'AWSPENDING')) as unknown as MysqlSecretValue
    expect(await env.db.scanLogsFor(pending.password)).toEqual([])
  })
})
