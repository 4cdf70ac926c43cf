import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager'
import { RotationStepError } from '../../../src/lib/errors'
import { ROTATION_STEPS, runRotationStep } from '../../../src/rotation/run-rotation-step'
import {
  aRotationEvent,
  CANARY,
  CURRENT_ID,
  FakePostgres,
  FakeSecretsManager,
  OTHER_TOKEN,
  SECRET_ARN,
  someDeps,
  TOKEN,
} from './builders'

function setUp(): { sm: FakeSecretsManager; db: FakePostgres; deps: ReturnType<typeof someDeps> } {
  const sm = FakeSecretsManager.rotating()
  const db = new FakePostgres().addRole('app_user', `${CANARY}-current-pw`)
  return { sm, db, deps: someDeps(sm, db) }
}

describe('runRotationStep pre-flight', () => {
  it('refuses when rotation is not enabled on the secret', async () => {
    // Arrange
    const { sm, deps } = setUp()
    sm.rotationEnabled = false
    // Act
    const run = runRotationStep(aRotationEvent(), deps)
    // Assert
    await expect(run).rejects.toThrow('createSecret: rotation is not enabled on the secret')
    expect(sm.mock).not.toHaveReceivedCommand(PutSecretValueCommand)
  })

  it('treats a missing RotationEnabled (moto before RotateSecret) as not enabled', async () => {
    const { sm, deps } = setUp()
    sm.rotationEnabled = undefined
    await expect(runRotationStep(aRotationEvent(), deps)).rejects.toThrow('rotation is not enabled')
  })

  it('refuses a token that is not a version of the secret', async () => {
    const { sm, deps } = setUp()
    await expect(runRotationStep(aRotationEvent({ ClientRequestToken: OTHER_TOKEN }), deps)).rejects.toThrow(
      'the token is not a version of the secret',
    )
    expect(sm.mock).not.toHaveReceivedCommand(PutSecretValueCommand)
  })

  it('refuses a token with no stage (a displaced rotation) in every step', async () => {
    // Arrange
    const { sm, deps } = setUp()
    sm.put(OTHER_TOKEN, { password: 'x' }, [])
    // Act / Assert
    for (const step of ROTATION_STEPS) {
      await expect(
        runRotationStep(aRotationEvent({ Step: step, ClientRequestToken: OTHER_TOKEN }), deps),
      ).rejects.toThrow('neither AWSCURRENT nor AWSPENDING')
    }
    expect(sm.mock).not.toHaveReceivedCommand(PutSecretValueCommand)
    expect(sm.mock).not.toHaveReceivedCommand(UpdateSecretVersionStageCommand)
  })

  it('refuses a token that is AWSPREVIOUS', async () => {
    const { sm, deps } = setUp()
    sm.put(OTHER_TOKEN, { password: 'x' }, ['AWSPREVIOUS'])
    await expect(
      runRotationStep(aRotationEvent({ Step: 'setSecret', ClientRequestToken: OTHER_TOKEN }), deps),
    ).rejects.toBeInstanceOf(RotationStepError)
  })

  it.each(ROTATION_STEPS)('makes %s a logged no-op when the token is already AWSCURRENT', async (step) => {
    // Arrange
    const { sm, db, deps } = setUp()
    // Act
    const report = await runRotationStep(aRotationEvent({ Step: step, ClientRequestToken: CURRENT_ID }), deps)
    // Assert
    expect(report.outcome).toBe('skipped')
    expect(sm.mock).not.toHaveReceivedCommand(PutSecretValueCommand)
    expect(sm.mock).not.toHaveReceivedCommand(UpdateSecretVersionStageCommand)
    expect(sm.mock).not.toHaveReceivedCommand(GetSecretValueCommand)
    expect(db.logins).toHaveLength(0)
    expect(deps.log.lines).toEqual([
      expect.objectContaining({ level: 'INFO', message: `${step}: version is already AWSCURRENT` }),
    ])
  })

  it('refuses an unknown step before calling Secrets Manager', async () => {
    const { sm, deps } = setUp()
    await expect(runRotationStep(aRotationEvent({ Step: 'dropSecret' }), deps)).rejects.toThrow(
      'dropSecret: unknown rotation step',
    )
    expect(sm.mock).not.toHaveReceivedCommand(DescribeSecretCommand)
  })

  it('refuses a secret this function is not configured to rotate', async () => {
    const { sm, db } = setUp()
    const deps = { ...someDeps(sm, db), targets: [] }
    await expect(runRotationStep(aRotationEvent(), deps)).rejects.toThrow('not configured for rotation')
  })

  it('matches the configured target by name as well as by ARN', async () => {
    const { sm, db } = setUp()
    const deps = someDeps(sm, db, {
      secretId: 'secret-broker/test/app/db',
      strategy: 'random',
      passwordLength: 20,
      excludeCharacters: '',
      masterSecretId: undefined,
    })
    await expect(runRotationStep(aRotationEvent(), deps)).resolves.toMatchObject({ outcome: 'changed' })
  })

  it.each(ROTATION_STEPS)('dispatches %s to its step (exhaustive switch)', async (step) => {
    // Arrange: a pending value exists and the DB accepts it, so every step can run
    const { sm, db, deps } = setUp()
    sm.put(
      TOKEN,
      {
        engine: 'postgres',
        username: 'app_user',
        password: `${CANARY}-pending`,
        host: 'db.internal',
        port: 5432,
        dbname: 'app',
      },
      ['AWSPENDING'],
    )
    db.addRole('app_user', `${CANARY}-pending`)
    // Act
    const report = await runRotationStep(aRotationEvent({ Step: step }), deps)
    // Assert
    expect(report.step).toBe(step)
    expect(report.outcome).not.toBe('skipped')
  })
})

describe('runRotationStep log record', () => {
  it('emits exactly one record per step with secret, step, clientRequestToken, outcome and duration', async () => {
    // Arrange
    const { deps } = setUp()
    const original = deps.passwords.generate
    const slow = {
      generate: async (o: { length: number; excludeCharacters: string }) => (
        deps.clock.advance(42),
        original(o)
      ),
    }
    // Act
    await runRotationStep(aRotationEvent(), { ...deps, passwords: slow })
    // Assert
    expect(deps.log.lines).toHaveLength(1)
    expect(deps.log.lines[0]).toEqual({
      level: 'INFO',
      message: 'createSecret: pending value created',
      fields: {
        secretId: SECRET_ARN,
        step: 'createSecret',
        clientRequestToken: TOKEN,
        strategy: 'postgres-single-user',
        outcome: 'changed',
        durationMs: 42,
      },
    })
  })

  it('logs a failure once, with the database error code and no message, and throws a safe error', async () => {
    // Arrange
    const { sm, db, deps } = setUp()
    sm.put(
      TOKEN,
      {
        engine: 'postgres',
        username: 'app_user',
        password: `${CANARY}-pending`,
        host: 'db.internal',
        port: 5432,
        dbname: 'app',
      },
      ['AWSPENDING'],
    )
    db.down = true
    // Act
    const err = await runRotationStep(aRotationEvent({ Step: 'setSecret' }), deps).catch((e: unknown) => e)
    // Assert
    expect(err).toBeInstanceOf(RotationStepError)
    expect((err as Error).message).toBe(
      'setSecret: logging in as app_user on db.internal:5432/app (do the pending credentials work yet?) failed (FakeConnectionRefused ECONNREFUSED)',
    )
    expect((err as Error).cause).toBeUndefined()
    expect(deps.log.lines).toHaveLength(1)
    expect(deps.log.lines[0]).toMatchObject({
      level: 'ERROR',
      message: 'setSecret: failed',
      fields: {
        outcome: 'failed',
        dbCode: 'ECONNREFUSED',
        cause: [{ errorClass: 'FakeConnectionRefused', code: 'ECONNREFUSED' }],
      },
    })
    expect(JSON.stringify(deps.log.lines)).not.toContain('connect ECONNREFUSED')
  })

  it('never logs a password or a whole secret across a full rotation', async () => {
    // Arrange
    const { deps } = setUp()
    // Act
    for (const step of ROTATION_STEPS) await runRotationStep(aRotationEvent({ Step: step }), deps)
    // Assert
    expect(deps.log.lines).toHaveLength(4)
    expect(JSON.stringify(deps.log.lines)).not.toContain(CANARY)
  })
})
