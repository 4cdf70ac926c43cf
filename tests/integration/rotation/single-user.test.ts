import { rotateLikeSecretsManager } from '../../../scripts/lib/local-rotation'
import { freePort } from '../../../scripts/lib/ports'
import { createLogger } from '../../../src/lib/logger'
import { ROTATION_STEPS, type RotationEvent } from '../../../src/rotation/run-rotation-step'
import {
  aTarget,
  canLogIn,
  createPgSecret,
  currentOrPendingLogsIn,
  faultyConnector,
  holderOf,
  makeHandler,
  pgConnector,
  stagesOf,
  startRotationEnv,
  valueAt,
  type RotationEnv,
} from '../../../scripts/lib/rotation-env'

jest.setTimeout(30_000)

describe('postgres-single-user rotation against moto and a real PostgreSQL', () => {
  let env: RotationEnv
  beforeAll(async () => {
    env = await startRotationEnv()
  })
  afterAll(async () => {
    await env?.stop()
  })

  it('rotates: the old password stops working, the new one works, labels are right', async () => {
    // Arrange
    const secret = await createPgSecret(env)
    const oldVersion = holderOf(await stagesOf(env, secret.arn), 'AWSCURRENT')[0]
    const run = makeHandler(env, [aTarget(secret.name)])
    // Act
    const report = await rotateLikeSecretsManager({
      endpoint: env.moto.endpoint,
      secretId: secret.name,
      runStep: run,
    })
    // Assert
    expect(report).toMatchObject({
      ok: true,
      oldVersionId: oldVersion,
      newVersionId: report.token,
      failedStep: undefined,
    })
    const stages = await stagesOf(env, secret.arn)
    expect(holderOf(stages, 'AWSCURRENT')).toEqual([report.token])
    expect(holderOf(stages, 'AWSPREVIOUS')).toEqual([oldVersion])
    expect(holderOf(stages, 'AWSPENDING')).toEqual([])
    const current = await valueAt(env, secret.arn, 'AWSCURRENT')
    expect(current).toMatchObject({
      username: secret.value.username,
      host: '127.0.0.1',
      port: env.pg.port,
      dbname: 'app',
    })
    expect(current?.password).not.toBe(secret.value.password)
    expect(await canLogIn(current!)).toBe(true)
    expect(await canLogIn(secret.value)).toBe(false)
  })

  it('stores the verifier the Lambda computed, so PostgreSQL never saw the password', async () => {
    // Arrange
    const secret = await createPgSecret(env)
    // Act
    await rotateLikeSecretsManager({
      endpoint: env.moto.endpoint,
      secretId: secret.name,
      runStep: makeHandler(env, [aTarget(secret.name)]),
    })
    // Assert
    const rows = await env.pg.query<{ rolpassword: string }>(
      'SELECT rolpassword FROM pg_authid WHERE rolname = $1',
      [secret.value.username],
    )
    expect(rows[0]?.rolpassword).toMatch(
      /^SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}:[A-Za-z0-9+/=]{44}$/,
    )
    expect(env.pg.readLog()).toContain(
      `ALTER ROLE "${secret.value.username}" PASSWORD '${rows[0]?.rolpassword ?? '?'}'`,
    )
  })

  it('reaches the same end state when every step runs twice with the same token', async () => {
    // Arrange
    const secret = await createPgSecret(env)
    const run = makeHandler(env, [aTarget(secret.name)])
    const twice = async (event: RotationEvent): Promise<unknown> => {
      await run(event)
      return run(event)
    }
    // Act
    const report = await rotateLikeSecretsManager({
      endpoint: env.moto.endpoint,
      secretId: secret.name,
      runStep: twice,
    })
    // Assert
    expect(report.ok).toBe(true)
    const stages = await stagesOf(env, secret.arn)
    expect(Object.keys(stages)).toHaveLength(2) // one new version only
    expect(holderOf(stages, 'AWSPENDING')).toEqual([])
    const current = await valueAt(env, secret.arn, 'AWSCURRENT')
    expect(await canLogIn(current!)).toBe(true)
    // The second createSecret did not regenerate, the second setSecret changed nothing.
    expect(env.pg.readLog().split(`ALTER ROLE "${secret.value.username}"`).length - 1).toBe(1)
  })

  it.each([1, 2, 3])(
    'completes after a failure injected after step %i, with current or pending logging in throughout',
    async (failAfter) => {
      // Arrange
      const secret = await createPgSecret(env)
      const run = makeHandler(env, [aTarget(secret.name)])
      const invariant: boolean[] = []
      let calls = 0
      const failing = async (event: RotationEvent): Promise<unknown> => {
        calls++
        if (calls > failAfter) throw new Error('injected: the invocation died')
        const out = await run(event)
        invariant.push(await currentOrPendingLogsIn(env, secret.arn))
        return out
      }
      // Act: the rotation stops after `failAfter` steps, then Secrets Manager retries with the same token
      const first = await rotateLikeSecretsManager({
        endpoint: env.moto.endpoint,
        secretId: secret.name,
        runStep: failing,
        maxAttemptsPerStep: 1,
      })
      invariant.push(await currentOrPendingLogsIn(env, secret.arn))
      const checked = async (event: RotationEvent): Promise<unknown> => {
        const out = await run(event)
        invariant.push(await currentOrPendingLogsIn(env, secret.arn))
        return out
      }
      const retry = await rotateLikeSecretsManager({
        endpoint: env.moto.endpoint,
        secretId: secret.name,
        runStep: checked,
        token: first.token,
      })
      // Assert
      expect(first).toMatchObject({ ok: false, failedStep: ROTATION_STEPS[failAfter] })
      expect(retry).toMatchObject({ ok: true, newVersionId: first.token })
      expect(invariant).not.toContain(false)
      expect(invariant.length).toBe(failAfter + 1 + 4)
      expect(await canLogIn((await valueAt(env, secret.arn, 'AWSCURRENT'))!)).toBe(true)
    },
  )

  it('keeps AWSCURRENT when the database is down during setSecret, and the next attempt completes', async () => {
    // Arrange
    const secret = await createPgSecret(env)
    const { connectAs, faults } = faultyConnector(pgConnector(), await freePort())
    const run = makeHandler(env, [aTarget(secret.name)], { connectAs })
    const stagesBefore = await stagesOf(env, secret.arn)
    faults.down = true
    // Act
    const failed = await rotateLikeSecretsManager({
      endpoint: env.moto.endpoint,
      secretId: secret.name,
      runStep: run,
    })
    // Assert
    expect(failed).toMatchObject({ ok: false, failedStep: 'setSecret' })
    const refused = `setSecret: logging in as ${secret.value.username} on 127.0.0.1:${env.pg.port}/app (do the pending credentials work yet?) failed (Error ECONNREFUSED)`
    expect(failed.attempts.filter((a) => a.step === 'setSecret').map((a) => a.error)).toEqual([
      refused,
      refused,
    ])
    expect(holderOf(await stagesOf(env, secret.arn), 'AWSCURRENT')).toEqual(
      holderOf(stagesBefore, 'AWSCURRENT'),
    )
    expect(await canLogIn(secret.value)).toBe(true)
    // Act again: the database is back, Secrets Manager retries with the same token
    faults.down = false
    const retry = await rotateLikeSecretsManager({
      endpoint: env.moto.endpoint,
      secretId: secret.name,
      runStep: run,
      token: failed.token,
    })
    expect(retry.ok).toBe(true)
    expect(await canLogIn((await valueAt(env, secret.arn, 'AWSCURRENT'))!)).toBe(true)
  })

  it('keeps AWSCURRENT when the connection drops after ALTER ROLE, and the retry completes', async () => {
    // Arrange
    const secret = await createPgSecret(env)
    const { connectAs, faults } = faultyConnector(pgConnector(), await freePort())
    faults.dropAfter = /^ALTER ROLE/
    const run = makeHandler(env, [aTarget(secret.name)], { connectAs })
    // Act
    const failed = await rotateLikeSecretsManager({
      endpoint: env.moto.endpoint,
      secretId: secret.name,
      runStep: run,
      maxAttemptsPerStep: 1,
    })
    // Assert: the change went through but the step failed; AWSCURRENT is the old value, pending logs in
    expect(failed).toMatchObject({ ok: false, failedStep: 'setSecret' })
    expect((await valueAt(env, secret.arn, 'AWSCURRENT'))?.password).toBe(secret.value.password)
    expect(await currentOrPendingLogsIn(env, secret.arn)).toBe(true)
    faults.dropAfter = undefined
    const retry = await rotateLikeSecretsManager({
      endpoint: env.moto.endpoint,
      secretId: secret.name,
      runStep: run,
      token: failed.token,
    })
    expect(retry.ok).toBe(true)
    expect(retry.attempts.find((a) => a.step === 'setSecret')?.detail).toBe(
      'unchanged: pending credentials already active',
    )
    expect(await canLogIn((await valueAt(env, secret.arn, 'AWSCURRENT'))!)).toBe(true)
  })

  it('never shows the password in the server log, pg_stat_activity, the function logs or stdout', async () => {
    // Arrange
    const secret = await createPgSecret(env)
    const activity: string[] = []
    const { connectAs, faults } = faultyConnector(pgConnector(), await freePort())
    faults.onStatement = async () => {
      const rows = await env.pg.query<{ query: string }>(
        "SELECT query FROM pg_stat_activity WHERE backend_type = 'client backend'",
      )
      activity.push(...rows.map((r) => r.query))
    }
    const written: string[] = []
    const capture = (chunk: unknown): boolean => (written.push(String(chunk)), true)
    const out = jest.spyOn(process.stdout, 'write').mockImplementation(capture)
    const err = jest.spyOn(process.stderr, 'write').mockImplementation(capture)
    const consoleSpies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((m) =>
      jest
        .spyOn(console, m)
        .mockImplementation((...a: unknown[]) => void written.push(a.map(String).join(' '))),
    )
    let report
    try {
      const run = makeHandler(env, [aTarget(secret.name)], {
        connectAs,
        log: createLogger({ level: 'DEBUG', serviceName: 'rotation-test' }),
      })
      // Act
      report = await rotateLikeSecretsManager({
        endpoint: env.moto.endpoint,
        secretId: secret.name,
        runStep: run,
      })
    } finally {
      for (const s of [out, err, ...consoleSpies]) s.mockRestore()
    }
    // Assert
    expect(report.ok).toBe(true)
    const newPassword = (await valueAt(env, secret.arn, 'AWSCURRENT'))?.password ?? ''
    expect(newPassword.startsWith(env.canary)).toBe(true)
    const pgLog = env.pg.readLog()
    const captured = written.join('\n')
    // The checks can fail: each place really saw the rotation.
    expect(pgLog).toContain(`ALTER ROLE "${secret.value.username}" PASSWORD 'SCRAM-SHA-256$4096:`)
    expect(activity.some((q) => q.startsWith('ALTER ROLE'))).toBe(true)
    expect(captured).toContain('"message":"setSecret: pending credentials set"')
    for (const haystack of [
      pgLog,
      activity.join('\n'),
      captured,
      JSON.stringify(report),
      JSON.stringify(env.log.lines),
    ]) {
      expect(haystack).not.toContain(newPassword)
      expect(haystack).not.toContain(secret.value.password)
      expect(haystack).not.toContain(env.canary)
    }
  })
})
