import { GetSecretValueCommand, UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager'
import { runRotationStep } from '../../../src/rotation/run-rotation-step'
import {
  aPgSecret,
  aRotationEvent,
  aTarget,
  CANARY,
  FakePostgres,
  FakeSecretsManager,
  MASTER_ARN,
  someDeps,
  TOKEN,
} from './builders'

/** The strategies' own behaviour through the step runner: alternating users' setSecret, random's checks. */
const PENDING_PW = `${CANARY}-pending-pw`

type Setup = { sm: FakeSecretsManager; db: FakePostgres; deps: ReturnType<typeof someDeps> }

const step = (s: string): ReturnType<typeof aRotationEvent> => aRotationEvent({ Step: s })

describe('setSecret', () => {
  describe('alternating users', () => {
    function alternating(currentUser = 'app_user'): Setup {
      const sm = FakeSecretsManager.rotating(aPgSecret({ username: currentUser }))
      const other = currentUser.endsWith('_clone') ? 'app_user' : 'app_user_clone'
      sm.put(TOKEN, aPgSecret({ username: other, password: PENDING_PW }), ['AWSPENDING'])
      const db = new FakePostgres()
        .addRole('app_user', `${CANARY}-current-pw`)
        .addRole('admin_user', `${CANARY}-master-pw`, { createRole: true })
      return {
        sm,
        db,
        deps: someDeps(
          sm,
          db,
          aTarget({ strategy: 'postgres-alternating-users', masterSecretId: MASTER_ARN }),
        ),
      }
    }

    it('creates <user>_clone as the master, a member of <user>, and keeps the current user working', async () => {
      // Arrange
      const { db, deps } = alternating()
      // Act
      await runRotationStep(step('setSecret'), deps)
      // Assert
      expect(db.accepts('app_user_clone', PENDING_PW)).toBe(true)
      expect(db.accepts('app_user', `${CANARY}-current-pw`)).toBe(true)
      expect(db.roles.get('app_user_clone')?.memberOf).toEqual(['app_user'])
      expect(db.actingRole('app_user_clone')).toBe('app_user')
      expect(
        db.statements
          .filter((s) => /^(CREATE|ALTER|GRANT|REVOKE|BEGIN|COMMIT)/.test(s.sql))
          .map((s) => [s.user, s.sql.replace(/PASSWORD '.*'/, "PASSWORD '…'")]),
      ).toEqual([
        ['admin_user', 'BEGIN'],
        ['admin_user', 'CREATE ROLE "app_user_clone" WITH LOGIN PASSWORD \'…\''],
        ['admin_user', 'GRANT "app_user" TO "app_user_clone"'],
        ['admin_user', 'ALTER ROLE "app_user_clone" RESET ALL'],
        ['admin_user', 'ALTER ROLE "app_user_clone" SET "role" TO \'app_user\''],
        ['admin_user', 'COMMIT'],
      ])
    })

    it('alters the existing base user when the clone is current, and re-syncs the clone', async () => {
      // Arrange: a clone that drifted (CREATEDB the base user lacks, no longer a member of it)
      const { db, deps } = alternating('app_user_clone')
      db.addRole('app_user_clone', 'x')
      db.role('app_user_clone').createDb = true
      // Act
      await runRotationStep(step('setSecret'), deps)
      // Assert
      expect(db.accepts('app_user', PENDING_PW)).toBe(true)
      expect(db.statements.map((s) => s.sql)).toContainEqual(
        expect.stringMatching(/^ALTER ROLE "app_user" WITH LOGIN PASSWORD 'SCRAM-SHA-256/),
      )
      expect(db.statements.map((s) => s.sql)).not.toContainEqual(expect.stringMatching(/^CREATE ROLE/))
      expect(db.role('app_user_clone')).toMatchObject({ createDb: false, memberOf: ['app_user'] })
      expect(db.actingRole('app_user_clone')).toBe('app_user')
    })

    it('stores md5 when the master session says password_encryption = md5', async () => {
      const { db, deps } = alternating()
      db.passwordEncryption = 'md5'
      await runRotationStep(step('setSecret'), deps)
      expect(db.role('app_user_clone').verifier).toMatch(/^md5[0-9a-f]{32}$/)
      expect(db.accepts('app_user_clone', PENDING_PW)).toBe(true)
    })

    it('refuses a pending user that is not the alternate of the current one', async () => {
      const { sm, db, deps } = alternating()
      sm.put(TOKEN, aPgSecret({ username: 'admin_user', password: PENDING_PW }), ['AWSPENDING'])
      await expect(runRotationStep(step('setSecret'), deps)).rejects.toThrow(
        'not the alternate of the current user',
      )
      expect(db.logins).toHaveLength(0)
    })

    it('refuses a master secret for another server', async () => {
      const { sm, db, deps } = alternating()
      sm.master = JSON.stringify(aPgSecret({ username: 'admin_user', host: 'elsewhere', password: 'm' }))
      await expect(runRotationStep(step('setSecret'), deps)).rejects.toThrow(
        `refusing the master secret ${MASTER_ARN}: its host or port is not the current value's`,
      )
      expect(db.statements.filter((s) => s.user === 'admin_user')).toHaveLength(0)
    })

    it('reads the master secret with its own client, AWSCURRENT, when setSecret needs it', async () => {
      const { sm, deps } = alternating()
      await runRotationStep(step('setSecret'), deps)
      expect(sm.mock).toHaveReceivedCommandWith(GetSecretValueCommand, {
        SecretId: MASTER_ARN,
        VersionStage: 'AWSCURRENT',
      })
    })

    it('names the missing master secret and the SDK error when it cannot be read', async () => {
      // Arrange: the master secret does not exist (a typo, or deleted)
      const { sm, deps } = alternating()
      sm.master = undefined
      // Act
      const err = (await runRotationStep(step('setSecret'), deps).catch((e: unknown) => e)) as Error
      // Assert
      expect(err.message).toBe(
        `setSecret: reading the master secret ${MASTER_ARN} (AWSCURRENT) failed (ResourceNotFoundException, HTTP 400)`,
      )
      expect(deps.log.lines.at(-1)?.fields).toMatchObject({
        outcome: 'failed',
        operation: `reading the master secret ${MASTER_ARN} (AWSCURRENT)`,
        cause: [{ errorClass: 'ResourceNotFoundException', httpStatus: 400 }],
      })
      expect(JSON.stringify(deps.log.lines)).not.toContain("can't find")
    })

    it('takes host and port from the rotated secret when the master holds only a username and a password', async () => {
      // Arrange: an RDS-managed master secret
      const { sm, db, deps } = alternating()
      sm.master = JSON.stringify({ username: 'admin_user', password: `${CANARY}-master-pw` })
      // Act
      await runRotationStep(step('setSecret'), deps)
      // Assert
      expect(db.accepts('app_user_clone', PENDING_PW)).toBe(true)
    })
  })
})

describe('random strategy setSecret and testSecret', () => {
  function random(pending: Record<string, unknown>): Setup {
    const sm = FakeSecretsManager.rotating({ username: 'billing_api', password: `${CANARY}-old` })
    sm.put(TOKEN, pending, ['AWSPENDING'])
    const db = new FakePostgres()
    return { sm, db, deps: someDeps(sm, db, aTarget({ strategy: 'random' })) }
  }

  it('has nothing to set or test, and touches no database', async () => {
    const { db, deps } = random({ username: 'billing_api', password: PENDING_PW })
    await expect(runRotationStep(step('setSecret'), deps)).resolves.toMatchObject({
      outcome: 'unchanged',
      detail: 'no external system to update',
    })
    await expect(runRotationStep(step('testSecret'), deps)).resolves.toMatchObject({
      detail: 'no external system to test',
    })
    expect(db.logins).toHaveLength(0)
  })

  it('refuses, at createSecret, a current value with no password to rotate, and writes nothing', async () => {
    const sm = FakeSecretsManager.rotating({ username: 'billing_api', token: `${CANARY}-not-a-password` })
    const deps = someDeps(sm, new FakePostgres(), aTarget({ strategy: 'random' }))
    await expect(runRotationStep(step('createSecret'), deps)).rejects.toThrow(
      'createSecret: the current value has no non-empty string field "password"',
    )
    expect(sm.raw(TOKEN)).toBeUndefined()
  })

  it('refuses a pending value whose other fields changed', async () => {
    const { deps } = random({ username: 'someone_else', password: PENDING_PW })
    await expect(runRotationStep(step('setSecret'), deps)).rejects.toThrow(
      'differs from the current one in fields other than the password (username)',
    )
  })

  it('compares losslessly: refuses an integer changed beyond 2^53, which JSON.parse cannot see', async () => {
    // Arrange: a pending value rounded by JSON.parse + JSON.stringify (what the earlier code wrote)
    const sm = FakeSecretsManager.rotating(
      `{"username":"svc","password":"${CANARY}-old","accountId":12345678901234567891}`,
    )
    sm.put(TOKEN, `{"username":"svc","password":"${PENDING_PW}","accountId":12345678901234567000}`, [
      'AWSPENDING',
    ])
    const deps = someDeps(sm, new FakePostgres(), aTarget({ strategy: 'random' }))
    // Act / Assert
    for (const s of ['setSecret', 'finishSecret'])
      await expect(runRotationStep(step(s), deps)).rejects.toThrow(
        `${s}: the pending value differs from the current one in fields other than the password (accountId)`,
      )
    expect(sm.mock).not.toHaveReceivedCommand(UpdateSecretVersionStageCommand)
  })
})
