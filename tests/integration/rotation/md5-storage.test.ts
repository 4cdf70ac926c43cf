import { rotateLikeSecretsManager } from '../../../scripts/lib/local-rotation'
import { md5Verifier } from '../../../src/rotation/password-verifier'
import {
  aTarget,
  canLogIn,
  createPgSecret,
  makeHandler,
  startRotationEnv,
  valueAt,
  type RotationEnv,
} from '../../../scripts/lib/rotation-env'

jest.setTimeout(30_000)

/**
 * A server configured for md5 (password_encryption = md5, md5 in pg_hba.conf) whose roles are stored as md5:
 * rotation must keep md5 (clients and poolers that speak only md5 keep logging in), computing the hash in
 * the function so the plain password never reaches the server's statement log.
 */
describe('rotation on a server that stores md5 passwords (password_encryption = md5)', () => {
  let env: RotationEnv
  beforeAll(async () => {
    env = await startRotationEnv({
      postgres: { settings: { password_encryption: 'md5' }, authMethod: 'md5' },
    })
  })
  afterAll(async () => {
    await env?.stop()
  })

  const storedPassword = async (role: string): Promise<string | undefined> =>
    (
      await env.pg.query<{ p: string }>('SELECT rolpassword AS p FROM pg_authid WHERE rolname = $1', [role])
    )[0]?.p

  it('keeps an md5-stored single user in md5, hashed in the function', async () => {
    // Arrange
    const secret = await createPgSecret(env, { storage: 'md5' })
    expect(await storedPassword(secret.value.username)).toMatch(/^md5[0-9a-f]{32}$/)
    // Act
    const report = await rotateLikeSecretsManager({
      endpoint: env.moto.endpoint,
      secretId: secret.name,
      runStep: makeHandler(env, [aTarget(secret.name)]),
    })
    // Assert
    expect(report.ok).toBe(true)
    const current = (await valueAt(env, secret.arn, 'AWSCURRENT'))!
    expect(await storedPassword(current.username)).toBe(md5Verifier(current.password, current.username))
    expect(await canLogIn(current)).toBe(true)
    expect(await canLogIn(secret.value)).toBe(false)
    const log = env.pg.readLog()
    expect(log).toContain(`ALTER ROLE "${current.username}" PASSWORD 'md5`)
    expect(log).not.toContain(current.password)
  })

  it('creates and alternates md5-stored users for alternating users', async () => {
    // Arrange
    const master = await createPgSecret(env, { username: 'md5_admin', createRole: true, storage: 'md5' })
    const secret = await createPgSecret(env, { storage: 'md5' })
    await env.pg.query(`GRANT "${secret.value.username}" TO md5_admin WITH ADMIN OPTION`)
    const run = makeHandler(env, [
      aTarget(secret.name, { strategy: 'postgres-alternating-users', masterSecretId: master.name }),
    ])
    // Act: the clone is created, then the base user's password changes
    for (let i = 0; i < 2; i++) {
      const report = await rotateLikeSecretsManager({
        endpoint: env.moto.endpoint,
        secretId: secret.name,
        runStep: run,
      })
      expect(report.ok).toBe(true)
    }
    // Assert
    const current = (await valueAt(env, secret.arn, 'AWSCURRENT'))!
    const previous = (await valueAt(env, secret.arn, 'AWSPREVIOUS'))!
    expect([current.username, previous.username]).toEqual([
      secret.value.username,
      `${secret.value.username}_clone`,
    ])
    for (const v of [current, previous]) {
      expect(await storedPassword(v.username)).toBe(md5Verifier(v.password, v.username))
      expect(await canLogIn(v)).toBe(true)
      expect(env.pg.readLog()).not.toContain(v.password)
    }
  })
})
