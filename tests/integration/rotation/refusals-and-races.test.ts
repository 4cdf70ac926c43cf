import {
  CreateSecretCommand,
  PutSecretValueCommand,
  RotateSecretCommand,
} from '@aws-sdk/client-secrets-manager'
import { rotateLikeSecretsManager, RotationInProgressError } from '../../../scripts/lib/local-rotation'
import { ROTATION_STEPS, type RotationEvent } from '../../../src/rotation/run-rotation-step'
import {
  aTarget,
  canLogIn,
  createPgSecret,
  currentOrPendingLogsIn,
  holderOf,
  makeHandler,
  newToken,
  stagesOf,
  startRotationEnv,
  valueAt,
  type RotationEnv,
} from '../../../scripts/lib/rotation-env'

jest.setTimeout(30_000)

describe('rotation refusals and races against moto and a real PostgreSQL', () => {
  let env: RotationEnv
  beforeAll(async () => {
    env = await startRotationEnv()
  })
  afterAll(async () => {
    await env?.stop()
  })

  const rotateStub = async (secretId: string, token: string): Promise<void> => {
    await env.sm.send(
      new RotateSecretCommand({
        SecretId: secretId,
        RotationLambdaARN: env.lambdaArn,
        RotationRules: { AutomaticallyAfterDays: 30 },
        ClientRequestToken: token,
        RotateImmediately: true,
      }),
    )
  }
  const ev = (step: string, secretId: string, token: string): RotationEvent => ({
    Step: step,
    SecretId: secretId,
    ClientRequestToken: token,
  })

  it('refuses every step when rotation is not enabled on the secret', async () => {
    // Arrange: never rotated, so moto reports no RotationEnabled at all
    const secret = await createPgSecret(env)
    const run = makeHandler(env, [aTarget(secret.name)])
    // Act / Assert
    for (const step of ROTATION_STEPS) {
      await expect(run(ev(step, secret.arn, newToken()))).rejects.toThrow(
        `${step}: rotation is not enabled on the secret`,
      )
    }
    expect(Object.keys(await stagesOf(env, secret.arn))).toHaveLength(1)
  })

  it('refuses a token that has no stage', async () => {
    const secret = await createPgSecret(env)
    await rotateLikeSecretsManager({
      endpoint: env.moto.endpoint,
      secretId: secret.name,
      runStep: makeHandler(env, [aTarget(secret.name)]),
    })
    const run = makeHandler(env, [aTarget(secret.name)])
    await expect(run(ev('createSecret', secret.arn, newToken()))).rejects.toThrow(
      'the token is not a version of the secret',
    )
  })

  it.each([
    ['user', (v: Record<string, unknown>) => ({ ...v, username: 'rotation_victim' })],
    ['host', (v: Record<string, unknown>) => ({ ...v, host: 'localhost' })],
  ])('refuses a pending value with a different %s, leaving the database untouched', async (_what, change) => {
    // Arrange: a victim role the pending value points at, and a pending value planted under the token
    await env.pg.query(
      "DO $$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rotation_victim') THEN CREATE ROLE rotation_victim LOGIN; END IF; END$$",
    )
    const victimBefore = await env.pg.query('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [
      'rotation_victim',
    ])
    const secret = await createPgSecret(env)
    const token = newToken()
    await rotateStub(secret.name, token)
    const planted = change({ ...secret.value, password: `${env.canary}-planted` })
    await env.sm.send(
      new PutSecretValueCommand({
        SecretId: secret.arn,
        ClientRequestToken: token,
        SecretString: JSON.stringify(planted),
        VersionStages: ['AWSPENDING'],
      }),
    )
    const run = makeHandler(env, [aTarget(secret.name)])
    // Act
    const attempt = run(ev('setSecret', secret.arn, token))
    // Assert
    await expect(attempt).rejects.toThrow(/setSecret: refusing a pending value/)
    expect(await canLogIn(secret.value)).toBe(true)
    expect(
      await env.pg.query('SELECT rolpassword FROM pg_authid WHERE rolname = $1', ['rotation_victim']),
    ).toEqual(victimBefore)
    await expect(run(ev('finishSecret', secret.arn, token))).rejects.toThrow(
      /finishSecret: refusing a pending value/,
    )
    expect(holderOf(await stagesOf(env, secret.arn), 'AWSPENDING')).toEqual([token])
  })

  it('refuses to start a second rotation while one is in progress (as AWS does), and resumes the first', async () => {
    // Arrange: rotation T1 stops after setSecret
    const secret = await createPgSecret(env)
    const run = makeHandler(env, [aTarget(secret.name)])
    let calls = 0
    const stopsAfterSet = async (e: RotationEvent): Promise<unknown> => {
      if (++calls > 2) throw new Error('injected')
      return run(e)
    }
    const t1 = await rotateLikeSecretsManager({
      endpoint: env.moto.endpoint,
      secretId: secret.name,
      runStep: stopsAfterSet,
      maxAttemptsPerStep: 1,
    })
    // Act
    const t2 = rotateLikeSecretsManager({ endpoint: env.moto.endpoint, secretId: secret.name, runStep: run })
    // Assert
    await expect(t2).rejects.toBeInstanceOf(RotationInProgressError)
    expect(holderOf(await stagesOf(env, secret.arn), 'AWSPENDING')).toEqual([t1.token])
    expect(await currentOrPendingLogsIn(env, secret.arn)).toBe(true)
    const resumed = await rotateLikeSecretsManager({
      endpoint: env.moto.endpoint,
      secretId: secret.name,
      runStep: run,
      token: t1.token,
    })
    expect(resumed.ok).toBe(true)
    expect(await canLogIn((await valueAt(env, secret.arn, 'AWSCURRENT'))!)).toBe(true)
  })

  it('never strands a password when a second rotation displaces the first after its setSecret (moto RotateSecret)', async () => {
    // Arrange: T1 has changed the database password, then T2 starts; moto moves AWSPENDING to T2
    const secret = await createPgSecret(env)
    const run = makeHandler(env, [aTarget(secret.name)])
    const t1 = newToken()
    await rotateStub(secret.name, t1)
    await run(ev('createSecret', secret.arn, t1))
    await run(ev('setSecret', secret.arn, t1))
    const t1Value = (await valueAt(env, secret.arn, 'AWSPENDING', t1))!
    const t2 = newToken()
    await rotateStub(secret.name, t2)
    const pendingHolders: string[][] = [holderOf(await stagesOf(env, secret.arn), 'AWSPENDING')]
    // Act: T1's remaining steps are refused; T2 runs to the end
    await expect(run(ev('testSecret', secret.arn, t1))).rejects.toThrow('neither AWSCURRENT nor AWSPENDING')
    await expect(run(ev('finishSecret', secret.arn, t1))).rejects.toThrow('neither AWSCURRENT nor AWSPENDING')
    for (const step of ROTATION_STEPS) {
      await run(ev(step, secret.arn, t2))
      pendingHolders.push(holderOf(await stagesOf(env, secret.arn), 'AWSPENDING'))
    }
    // Assert
    for (const holders of pendingHolders) expect(holders.length).toBeLessThanOrEqual(1)
    const stages = await stagesOf(env, secret.arn)
    expect(holderOf(stages, 'AWSCURRENT')).toEqual([t2])
    expect(holderOf(stages, 'AWSPENDING')).toEqual([])
    expect(await canLogIn((await valueAt(env, secret.arn, 'AWSCURRENT'))!)).toBe(true)
    expect(await canLogIn(t1Value)).toBe(false)
  })

  it('keeps one pending value when the same createSecret and setSecret run concurrently', async () => {
    // Arrange
    const secret = await createPgSecret(env)
    const run = makeHandler(env, [aTarget(secret.name)])
    const token = newToken()
    await rotateStub(secret.name, token)
    // Act
    await Promise.allSettled([
      run(ev('createSecret', secret.arn, token)),
      run(ev('createSecret', secret.arn, token)),
    ])
    await run(ev('createSecret', secret.arn, token)) // a retry settles whichever lost
    await Promise.allSettled([
      run(ev('setSecret', secret.arn, token)),
      run(ev('setSecret', secret.arn, token)),
    ])
    for (const step of ROTATION_STEPS.slice(1)) await run(ev(step, secret.arn, token))
    // Assert
    const stages = await stagesOf(env, secret.arn)
    expect(holderOf(stages, 'AWSCURRENT')).toEqual([token])
    expect(holderOf(stages, 'AWSPENDING')).toEqual([])
    expect(await canLogIn((await valueAt(env, secret.arn, 'AWSCURRENT'))!)).toBe(true)
  })

  it('rotates a random secret (no external system): new password, same other fields, labels right', async () => {
    // Arrange
    const name = `secret-broker/test/api-key-${newToken()}`
    const original = { username: 'billing_api', password: `${env.canary}-api-key` }
    await env.sm.send(new CreateSecretCommand({ Name: name, SecretString: JSON.stringify(original) }))
    const run = makeHandler(env, [aTarget(name, { strategy: 'random', passwordLength: 40 })])
    // Act
    const report = await rotateLikeSecretsManager({
      endpoint: env.moto.endpoint,
      secretId: name,
      runStep: run,
    })
    // Assert
    expect(report.ok).toBe(true)
    const current = (await valueAt(env, name, 'AWSCURRENT')) as unknown as Record<string, string>
    expect(current['username']).toBe('billing_api')
    expect(current['password']).toHaveLength(40)
    expect(current['password']).not.toBe(original.password)
    expect(holderOf(await stagesOf(env, name), 'AWSPREVIOUS')).toEqual([report.oldVersionId])
    expect(JSON.stringify(env.log.lines)).not.toContain(env.canary)
  })
})
