import {
  GetRandomPasswordCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager'
import { createSecretsManagerPasswordGenerator } from '../../../src/rotation/secrets-manager'
import { runRotationStep } from '../../../src/rotation/run-rotation-step'
import {
  aPgSecret,
  aRotationEvent,
  aTarget,
  CANARY,
  CURRENT_ID,
  FakePostgres,
  FakeSecretsManager,
  MASTER_ARN,
  OTHER_TOKEN,
  SECRET_ARN,
  someDeps,
  TOKEN,
} from './builders'

const PENDING_PW = `${CANARY}-pending-pw`

function singleUser(): { sm: FakeSecretsManager; db: FakePostgres; deps: ReturnType<typeof someDeps> } {
  const sm = FakeSecretsManager.rotating()
  const db = new FakePostgres().addRole('app_user', `${CANARY}-current-pw`)
  return { sm, db, deps: someDeps(sm, db) }
}

const step = (s: string): ReturnType<typeof aRotationEvent> => aRotationEvent({ Step: s })

describe('createSecret', () => {
  it('puts a generated value as AWSPENDING under the token, keeping the user and connection fields', async () => {
    // Arrange
    const { sm, deps } = singleUser()
    // Act
    await runRotationStep(step('createSecret'), deps)
    // Assert
    expect(sm.mock).toHaveReceivedCommandWith(PutSecretValueCommand, {
      SecretId: SECRET_ARN,
      ClientRequestToken: TOKEN,
      VersionStages: ['AWSPENDING'],
    })
    const pending = sm.value(TOKEN)
    expect(pending).toEqual({
      ...aPgSecret(),
      password: expect.stringMatching(/^CANARYx9q-new1-y+$/) as unknown,
    })
    expect((pending?.['password'] as string).length).toBe(24)
    expect(sm.stages()[CURRENT_ID]).toEqual(['AWSCURRENT'])
  })

  it('reads the pending value by token and stage, and the current one by stage', async () => {
    const { sm, deps } = singleUser()
    await runRotationStep(step('createSecret'), deps)
    expect(sm.mock).toHaveReceivedCommandWith(GetSecretValueCommand, {
      SecretId: SECRET_ARN,
      VersionId: TOKEN,
      VersionStage: 'AWSPENDING',
    })
    expect(sm.mock).toHaveReceivedCommandWith(GetSecretValueCommand, {
      SecretId: SECRET_ARN,
      VersionStage: 'AWSCURRENT',
    })
    for (const call of sm.mock.commandCalls(GetSecretValueCommand))
      expect(call.args[0].input.VersionStage).toBeDefined()
  })

  it('does nothing when the token already has a pending value (run twice → one value)', async () => {
    // Arrange
    const { sm, deps } = singleUser()
    await runRotationStep(step('createSecret'), deps)
    const first = sm.value(TOKEN)
    // Act
    const again = await runRotationStep(step('createSecret'), deps)
    // Assert
    expect(again.outcome).toBe('unchanged')
    expect(sm.value(TOKEN)).toEqual(first)
    expect(sm.mock).toHaveReceivedCommandTimes(PutSecretValueCommand, 1)
  })

  it('switches to the other user for alternating users, and back', async () => {
    // Arrange
    const sm = FakeSecretsManager.rotating(aPgSecret({ username: 'app_user_clone' }))
    const deps = someDeps(
      sm,
      new FakePostgres(),
      aTarget({ strategy: 'postgres-alternating-users', masterSecretId: MASTER_ARN }),
    )
    // Act
    await runRotationStep(step('createSecret'), deps)
    // Assert
    expect(sm.value(TOKEN)?.['username']).toBe('app_user')
  })

  it('names the clone <user>_clone on the first alternating rotation', async () => {
    const sm = FakeSecretsManager.rotating()
    const deps = someDeps(
      sm,
      new FakePostgres(),
      aTarget({ strategy: 'postgres-alternating-users', masterSecretId: MASTER_ARN }),
    )
    await runRotationStep(step('createSecret'), deps)
    expect(sm.value(TOKEN)).toMatchObject({
      username: 'app_user_clone',
      host: 'db.internal',
      port: 5432,
      dbname: 'app',
    })
  })

  it('keeps every other field for the random strategy', async () => {
    const sm = FakeSecretsManager.rotating({
      username: 'billing_api',
      password: `${CANARY}-old`,
      note: 'kept',
    })
    const deps = someDeps(sm, new FakePostgres(), aTarget({ strategy: 'random' }))
    await runRotationStep(step('createSecret'), deps)
    expect(sm.value(TOKEN)).toEqual({
      username: 'billing_api',
      note: 'kept',
      password: expect.stringContaining('-new1-') as unknown,
    })
  })

  it('writes the current text with only the password replaced: big integers, escapes and layout kept', async () => {
    // Arrange
    const current = `{ "username": "svc",\n  "password": "${CANARY}-old",\n  "accountId": 12345678901234567891, "note": "\\u00e9" }`
    const sm = FakeSecretsManager.rotating(current)
    const deps = someDeps(sm, new FakePostgres(), aTarget({ strategy: 'random' }))
    // Act
    await runRotationStep(step('createSecret'), deps)
    // Assert
    const pending = sm.raw(TOKEN) ?? ''
    const password = (JSON.parse(pending) as { password: string }).password
    expect(pending).toBe(current.replace(`${CANARY}-old`, password))
  })

  it('refuses a current value with a comment instead of rewriting it, and writes nothing', async () => {
    const sm = FakeSecretsManager.rotating(`{"username":"svc","password":"${CANARY}-old" /* rotated */}`)
    const deps = someDeps(sm, new FakePostgres(), aTarget({ strategy: 'random' }))
    await expect(runRotationStep(step('createSecret'), deps)).rejects.toThrow(
      'createSecret: the current value is not JSON (InvalidCommentToken at offset',
    )
    expect(sm.mock).not.toHaveReceivedCommand(PutSecretValueCommand)
  })

  it('asks GetRandomPassword for the configured length and excluded characters', async () => {
    // Arrange
    const sm = FakeSecretsManager.rotating()
    const deps = {
      ...someDeps(sm, new FakePostgres()),
      passwords: createSecretsManagerPasswordGenerator(sm.client),
    }
    // Act
    await runRotationStep(step('createSecret'), deps)
    // Assert
    expect(sm.mock).toHaveReceivedCommandWith(GetRandomPasswordCommand, {
      PasswordLength: 24,
      ExcludeCharacters: '/@"',
    })
    expect((sm.value(TOKEN)?.['password'] as string).length).toBe(24)
  })

  it('fails on a current value that is not JSON, without quoting it', async () => {
    const sm = FakeSecretsManager.rotating()
    sm.versions.set(CURRENT_ID, { value: `${CANARY} not json`, stages: ['AWSCURRENT'] })
    const deps = someDeps(sm, new FakePostgres())
    const err = (await runRotationStep(step('createSecret'), deps).catch((e: unknown) => e)) as Error
    expect(err.message).toBe('createSecret: the current value is not JSON (InvalidSymbol at offset 0)')
    expect(JSON.stringify(deps.log.lines)).not.toContain(CANARY)
  })
})

describe('setSecret', () => {
  function withPending(over: Record<string, unknown> = {}): ReturnType<typeof singleUser> {
    const s = singleUser()
    s.sm.put(TOKEN, aPgSecret({ password: PENDING_PW, ...over }), ['AWSPENDING'])
    return s
  }

  it('logs in with the current password and sets a SCRAM verifier, never the password', async () => {
    // Arrange
    const { db, deps } = withPending()
    // Act
    const report = await runRotationStep(step('setSecret'), deps)
    // Assert
    expect(report.outcome).toBe('changed')
    expect(db.accepts('app_user', PENDING_PW)).toBe(true)
    expect(db.accepts('app_user', `${CANARY}-current-pw`)).toBe(false)
    const alter = db.statements.find((s) => s.sql.startsWith('ALTER ROLE'))
    expect(alter?.sql).toMatch(/^ALTER ROLE "app_user" PASSWORD 'SCRAM-SHA-256\$4096:[^']+'$/)
    expect(alter?.user).toBe('app_user')
    expect(JSON.stringify(db.statements)).not.toContain(CANARY)
  })

  it('does nothing when the pending credentials already log in (run twice → same state)', async () => {
    // Arrange
    const { db, deps } = withPending()
    await runRotationStep(step('setSecret'), deps)
    const roles = JSON.stringify([...db.roles])
    // Act
    const again = await runRotationStep(step('setSecret'), deps)
    // Assert
    expect(again.outcome).toBe('unchanged')
    expect(JSON.stringify([...db.roles])).toBe(roles)
    expect(db.statements.filter((s) => s.sql.startsWith('ALTER ROLE'))).toHaveLength(1)
  })

  it('falls back to AWSPREVIOUS when the current password no longer logs in', async () => {
    // Arrange: the DB still has the previous password (a testSecret failure after an earlier setSecret)
    const { sm, db, deps } = withPending()
    sm.put(OTHER_TOKEN, aPgSecret({ password: `${CANARY}-previous-pw` }), ['AWSPREVIOUS'])
    db.addRole('app_user', `${CANARY}-previous-pw`)
    // Act
    await runRotationStep(step('setSecret'), deps)
    // Assert
    expect(db.accepts('app_user', PENDING_PW)).toBe(true)
    expect(sm.mock).toHaveReceivedCommandWith(GetSecretValueCommand, {
      VersionId: OTHER_TOKEN,
      VersionStage: 'AWSPREVIOUS',
    })
  })

  it('falls back to an unlabelled (displaced) version as a last resort', async () => {
    const { sm, db, deps } = withPending()
    sm.put(OTHER_TOKEN, aPgSecret({ password: `${CANARY}-displaced-pw` }), [])
    db.addRole('app_user', `${CANARY}-displaced-pw`)
    await runRotationStep(step('setSecret'), deps)
    expect(db.accepts('app_user', PENDING_PW)).toBe(true)
  })

  it('never uses an older value for another user or host to log in', async () => {
    const { sm, db, deps } = withPending()
    sm.put(OTHER_TOKEN, aPgSecret({ username: 'other_user', password: `${CANARY}-other` }), ['AWSPREVIOUS'])
    db.addRole('app_user', 'changed-outside').addRole('other_user', `${CANARY}-other`)
    await expect(runRotationStep(step('setSecret'), deps)).rejects.toThrow('none of the 1 known credentials')
    expect(db.logins.map((l) => l.user)).not.toContain('other_user')
  })

  it.each([
    ['user', { username: 'postgres' }],
    ['host', { host: 'evil.example' }],
    ['port', { port: 6432 }],
    ['dbname', { dbname: 'other' }],
  ])('refuses a pending value with a different %s without touching the database', async (_what, over) => {
    const { db, deps } = withPending(over)
    await expect(runRotationStep(step('setSecret'), deps)).rejects.toThrow(
      /setSecret: refusing a pending value/,
    )
    expect(db.logins).toHaveLength(0)
  })

  it('refuses when the token has no pending value yet', async () => {
    const { deps } = singleUser()
    await expect(runRotationStep(step('setSecret'), deps)).rejects.toThrow('createSecret has not completed')
  })

  it('fails without trying further logins when the database is down', async () => {
    const { db, deps } = withPending()
    db.down = true
    await expect(runRotationStep(step('setSecret'), deps)).rejects.toThrow('ECONNREFUSED')
    expect(db.statements).toHaveLength(0)
  })

  it('completes on the retry when the connection dropped after the change', async () => {
    // Arrange
    const { db, deps } = withPending()
    db.afterStatement = (sql) => {
      if (sql.startsWith('ALTER ROLE'))
        throw Object.assign(new Error('Connection terminated unexpectedly'), { code: undefined })
    }
    // Act
    await expect(runRotationStep(step('setSecret'), deps)).rejects.toThrow(
      'setSecret: changing the password of role app_user on db.internal:5432/app failed (Error)',
    )
    db.afterStatement = () => undefined
    const retry = await runRotationStep(step('setSecret'), deps)
    // Assert
    expect(retry.outcome).toBe('unchanged')
    expect(db.accepts('app_user', PENDING_PW)).toBe(true)
  })
})

describe('testSecret', () => {
  it('logs in with the pending credentials and runs a query', async () => {
    const { sm, db, deps } = singleUser()
    sm.put(TOKEN, aPgSecret({ password: PENDING_PW }), ['AWSPENDING'])
    db.addRole('app_user', PENDING_PW)
    await runRotationStep(step('testSecret'), deps)
    expect(db.statements).toEqual([
      expect.objectContaining({
        user: 'app_user',
        sql: expect.stringMatching(
          /^SELECT session_user AS session_name, current_user AS acting_name/,
        ) as unknown,
        params: ['app_user'],
      }),
    ])
  })

  it('fails when the pending credentials do not log in', async () => {
    const { sm, deps } = singleUser()
    sm.put(TOKEN, aPgSecret({ password: PENDING_PW }), ['AWSPENDING'])
    await expect(runRotationStep(step('testSecret'), deps)).rejects.toThrow(
      'testSecret: logging in as app_user on db.internal:5432/app (testing the pending credentials) failed (FakeAuthError 28P01)',
    )
  })
})

describe('finishSecret', () => {
  it('moves AWSCURRENT to the token, naming the old version, then removes AWSPENDING', async () => {
    // Arrange
    const { sm, deps } = singleUser()
    sm.put(TOKEN, aPgSecret({ password: PENDING_PW }), ['AWSPENDING'])
    // Act
    await runRotationStep(step('finishSecret'), deps)
    // Assert
    expect(sm.mock).toHaveReceivedCommandWith(UpdateSecretVersionStageCommand, {
      VersionStage: 'AWSCURRENT',
      MoveToVersionId: TOKEN,
      RemoveFromVersionId: CURRENT_ID,
    })
    expect(sm.mock).toHaveReceivedCommandWith(UpdateSecretVersionStageCommand, {
      VersionStage: 'AWSPENDING',
      RemoveFromVersionId: TOKEN,
    })
    expect(sm.stages()).toEqual({ [CURRENT_ID]: ['AWSPREVIOUS'], [TOKEN]: ['AWSCURRENT'] })
  })

  it('does nothing when run again', async () => {
    const { sm, deps } = singleUser()
    sm.put(TOKEN, aPgSecret({ password: PENDING_PW }), ['AWSPENDING'])
    await runRotationStep(step('finishSecret'), deps)
    const again = await runRotationStep(step('finishSecret'), deps)
    expect(again.outcome).toBe('skipped')
    expect(sm.mock).toHaveReceivedCommandTimes(UpdateSecretVersionStageCommand, 2)
    expect(sm.stages()).toEqual({ [CURRENT_ID]: ['AWSPREVIOUS'], [TOKEN]: ['AWSCURRENT'] })
  })

  it('removes a leftover AWSPENDING from a version that is already current', async () => {
    const { sm, deps } = singleUser()
    sm.put(TOKEN, aPgSecret({ password: PENDING_PW }), ['AWSPENDING', 'AWSCURRENT'])
    sm.put(CURRENT_ID, aPgSecret(), ['AWSPREVIOUS'])
    await runRotationStep(step('finishSecret'), deps)
    expect(sm.stages()[TOKEN]).toEqual(['AWSCURRENT'])
    expect(sm.mock).toHaveReceivedCommandTimes(UpdateSecretVersionStageCommand, 1)
  })

  it('refuses to make current a pending value for another user', async () => {
    const { sm, deps } = singleUser()
    sm.put(TOKEN, aPgSecret({ username: 'postgres', password: PENDING_PW }), ['AWSPENDING'])
    await expect(runRotationStep(step('finishSecret'), deps)).rejects.toThrow(
      'finishSecret: refusing a pending value for a different user',
    )
    expect(sm.mock).not.toHaveReceivedCommand(UpdateSecretVersionStageCommand)
  })

  it('refuses to make the value-less stub current', async () => {
    const { sm, deps } = singleUser()
    await expect(runRotationStep(step('finishSecret'), deps)).rejects.toThrow(
      'no pending value to make current',
    )
    expect(sm.mock).not.toHaveReceivedCommand(UpdateSecretVersionStageCommand)
  })
})
