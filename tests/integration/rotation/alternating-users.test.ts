import { randomUUID } from 'node:crypto'
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager'
import { rotateLikeSecretsManager } from '../../../scripts/lib/local-rotation'
import { ROTATION_STEPS, type RotationEvent } from '../../../src/rotation/run-rotation-step'
import {
  aTarget,
  canLogIn,
  createPgSecret,
  currentOrPendingLogsIn,
  holderOf,
  makeHandler,
  stagesOf,
  startRotationEnv,
  valueAt,
  type RotationEnv,
} from '../../../scripts/lib/rotation-env'

jest.setTimeout(30_000)

describe('postgres-alternating-users rotation against moto and a real PostgreSQL', () => {
  let env: RotationEnv
  let master: Awaited<ReturnType<typeof createPgSecret>>
  beforeAll(async () => {
    env = await startRotationEnv()
    master = await createPgSecret(env, { username: 'rotation_admin', createRole: true })
  })
  afterAll(async () => {
    await env?.stop()
  })

  async function aReportingSecret(): Promise<Awaited<ReturnType<typeof createPgSecret>>> {
    const secret = await createPgSecret(env)
    await env.pg.query(`GRANT "${secret.value.username}" TO rotation_admin WITH ADMIN OPTION`)
    await env.pg.query(`CREATE TABLE IF NOT EXISTS "report_${secret.value.username}" (n int)`, [], 'app')
    await env.pg.query(
      `GRANT SELECT ON "report_${secret.value.username}" TO "${secret.value.username}"`,
      [],
      'app',
    )
    return secret
  }

  it('creates <user>_clone on the first rotation; the previous credentials keep working, the new ones work', async () => {
    // Arrange
    const secret = await aReportingSecret()
    const oldVersion = holderOf(await stagesOf(env, secret.arn), 'AWSCURRENT')[0]
    const run = makeHandler(env, [
      aTarget(secret.name, { strategy: 'postgres-alternating-users', masterSecretId: master.name }),
    ])
    // Act
    const report = await rotateLikeSecretsManager({
      endpoint: env.moto.endpoint,
      secretId: secret.name,
      runStep: run,
    })
    // Assert
    expect(report.ok).toBe(true)
    const stages = await stagesOf(env, secret.arn)
    expect(holderOf(stages, 'AWSCURRENT')).toEqual([report.token])
    expect(holderOf(stages, 'AWSPREVIOUS')).toEqual([oldVersion])
    expect(holderOf(stages, 'AWSPENDING')).toEqual([])
    const current = (await valueAt(env, secret.arn, 'AWSCURRENT'))!
    expect(current.username).toBe(`${secret.value.username}_clone`)
    expect(await canLogIn(current)).toBe(true)
    expect(await canLogIn(secret.value)).toBe(true) // zero downtime for clients holding the previous value
    // The clone has the original user's privileges, by membership.
    const grants = await env.pg.query<{ ok: boolean }>(
      'SELECT has_table_privilege($1, $2, $3) AS ok',
      [current.username, `"report_${secret.value.username}"`, 'SELECT'],
      'app',
    )
    expect(grants[0]?.ok).toBe(true)
  })

  it('alternates back to the original user on the next rotation, keeping the clone (now previous) working', async () => {
    // Arrange
    const secret = await aReportingSecret()
    const run = makeHandler(env, [
      aTarget(secret.name, { strategy: 'postgres-alternating-users', masterSecretId: master.name }),
    ])
    const first = await rotateLikeSecretsManager({
      endpoint: env.moto.endpoint,
      secretId: secret.name,
      runStep: run,
    })
    const clone = (await valueAt(env, secret.arn, 'AWSCURRENT'))!
    // Act
    const second = await rotateLikeSecretsManager({
      endpoint: env.moto.endpoint,
      secretId: secret.name,
      runStep: run,
    })
    // Assert
    expect(second.ok).toBe(true)
    const stages = await stagesOf(env, secret.arn)
    expect(holderOf(stages, 'AWSCURRENT')).toEqual([second.token])
    expect(holderOf(stages, 'AWSPREVIOUS')).toEqual([first.token])
    const current = (await valueAt(env, secret.arn, 'AWSCURRENT'))!
    expect(current.username).toBe(secret.value.username)
    expect(current.password).not.toBe(secret.value.password)
    expect(await canLogIn(current)).toBe(true)
    expect(await canLogIn(clone)).toBe(true)
    expect(await canLogIn(secret.value)).toBe(false) // two rotations old
  })

  it('reaches the same end state when every step runs twice with the same token', async () => {
    // Arrange
    const secret = await aReportingSecret()
    const run = makeHandler(env, [
      aTarget(secret.name, { strategy: 'postgres-alternating-users', masterSecretId: master.name }),
    ])
    const twice = async (event: RotationEvent): Promise<unknown> => (await run(event), run(event))
    // Act
    const report = await rotateLikeSecretsManager({
      endpoint: env.moto.endpoint,
      secretId: secret.name,
      runStep: twice,
    })
    // Assert
    expect(report.ok).toBe(true)
    expect(Object.keys(await stagesOf(env, secret.arn))).toHaveLength(2)
    expect(env.pg.readLog().split(`CREATE ROLE "${secret.value.username}_clone"`).length - 1).toBe(1)
    expect(await canLogIn((await valueAt(env, secret.arn, 'AWSCURRENT'))!)).toBe(true)
    expect(await canLogIn(secret.value)).toBe(true)
  })

  it.each([1, 2, 3])(
    'completes after a failure injected after step %i, with current or pending logging in throughout',
    async (failAfter) => {
      // Arrange: rotated once already, so this rotation changes the base user's password and re-syncs the clone
      const secret = await aReportingSecret()
      const run = makeHandler(env, [
        aTarget(secret.name, { strategy: 'postgres-alternating-users', masterSecretId: master.name }),
      ])
      await rotateLikeSecretsManager({ endpoint: env.moto.endpoint, secretId: secret.name, runStep: run })
      const invariant: boolean[] = []
      let calls = 0
      const failing = async (event: RotationEvent): Promise<unknown> => {
        if (++calls > failAfter) throw new Error('injected: the invocation died')
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
      const current = (await valueAt(env, secret.arn, 'AWSCURRENT'))!
      const previous = (await valueAt(env, secret.arn, 'AWSPREVIOUS'))!
      expect(current.username).toBe(secret.value.username)
      expect([await canLogIn(current), await canLogIn(previous)]).toEqual([true, true])
    },
  )

  it('fails setSecret and leaves AWSCURRENT working when the master lacks CREATEROLE', async () => {
    // Arrange
    const weak = await createPgSecret(env, { username: 'weak_admin' })
    const secret = await aReportingSecret()
    const run = makeHandler(env, [
      aTarget(secret.name, { strategy: 'postgres-alternating-users', masterSecretId: weak.name }),
    ])
    // Act
    const report = await rotateLikeSecretsManager({
      endpoint: env.moto.endpoint,
      secretId: secret.name,
      runStep: run,
    })
    // Assert
    expect(report).toMatchObject({ ok: false, failedStep: 'setSecret' })
    expect(report.attempts.at(-1)?.error).toBe(
      `setSecret: creating role ${secret.value.username}_clone on 127.0.0.1:${env.pg.port}/app failed (DatabaseError 42501)`,
    )
    expect(holderOf(await stagesOf(env, secret.arn), 'AWSCURRENT')).toEqual([report.oldVersionId])
    expect(await canLogIn(secret.value)).toBe(true)
    expect(JSON.stringify(env.log.lines)).not.toContain(env.canary)
  })

  it('rotates with an RDS-managed master secret: named rds!db-<uuid>, given by ARN, only username and password', async () => {
    // Arrange: the master secret as RDS keeps it; host, port and database must come from the rotated secret
    const secret = await aReportingSecret()
    const rdsMaster = await env.sm.send(
      new CreateSecretCommand({
        Name: `rds!db-${randomUUID()}`,
        SecretString: JSON.stringify({ username: 'rotation_admin', password: master.value.password }),
      }),
    )
    expect(rdsMaster.ARN).toMatch(/:secret:rds!db-[0-9a-f-]{36}-[A-Za-z0-9]{6}$/)
    const run = makeHandler(env, [
      aTarget(secret.name, { strategy: 'postgres-alternating-users', masterSecretId: rdsMaster.ARN! }),
    ])
    // Act
    const report = await rotateLikeSecretsManager({
      endpoint: env.moto.endpoint,
      secretId: secret.name,
      runStep: run,
    })
    // Assert
    expect(report.ok).toBe(true)
    const current = (await valueAt(env, secret.arn, 'AWSCURRENT'))!
    expect(current.username).toBe(`${secret.value.username}_clone`)
    expect(await canLogIn(current)).toBe(true)
  })

  it('names the master secret that does not exist and the SDK error class when setSecret fails', async () => {
    // Arrange: an alternating-users secret whose master secret does not exist (a typo, or deleted)
    const secret = await aReportingSecret()
    const missing = `secret-broker/test/no-such-master-${randomUUID()}`
    const run = makeHandler(env, [
      aTarget(secret.name, { strategy: 'postgres-alternating-users', masterSecretId: missing }),
    ])
    const before = env.log.lines.length
    // Act
    const report = await rotateLikeSecretsManager({
      endpoint: env.moto.endpoint,
      secretId: secret.name,
      runStep: run,
    })
    // Assert: the thrown error and the log record say which secret, which operation, which SDK error
    expect(report).toMatchObject({ ok: false, failedStep: 'setSecret' })
    // (moto answers 404 where AWS answers 400: the status is whatever the service said)
    const expected = `setSecret: reading the master secret ${missing} (AWSCURRENT) failed (ResourceNotFoundException, HTTP 404)`
    expect(report.attempts.at(-1)?.error).toBe(expected)
    const failure = env.log.lines.slice(before).find((l) => l.level === 'ERROR')
    expect(failure?.fields).toMatchObject({
      step: 'setSecret',
      outcome: 'failed',
      reason: expected,
      operation: `reading the master secret ${missing} (AWSCURRENT)`,
      cause: [{ errorClass: 'ResourceNotFoundException', httpStatus: 404 }],
    })
    expect(holderOf(await stagesOf(env, secret.arn), 'AWSCURRENT')).toEqual([report.oldVersionId])
    expect(await canLogIn(secret.value)).toBe(true)
  })
})
