import { randomUUID } from 'node:crypto'
import { CreateSecretCommand, GetSecretValueCommand } from '@aws-sdk/client-secrets-manager'
import { rotateLikeSecretsManager } from '../../../scripts/lib/local-rotation'
import {
  aTarget,
  canLogIn,
  createPgSecret,
  holderOf,
  makeHandler,
  stagesOf,
  startRotationEnv,
  type RotationEnv,
} from '../../../scripts/lib/rotation-env'

jest.setTimeout(30_000)

/**
 * A rotation changes only the fields it means to change: the new value is the current SecretString with the
 * password (and, for alternating users, the user name) replaced, and every other byte as it was. Compared
 * here as raw SecretString text read back from Secrets Manager (moto) after real rotations.
 */
describe('rotated values are the current text with only the rotated fields replaced', () => {
  let env: RotationEnv
  let master: Awaited<ReturnType<typeof createPgSecret>>
  beforeAll(async () => {
    env = await startRotationEnv()
    master = await createPgSecret(env, { username: 'fidelity_admin', createRole: true })
  })
  afterAll(async () => {
    await env?.stop()
  })

  const rawAt = async (secretId: string, stage: string): Promise<string> =>
    (await env.sm.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: stage })))
      .SecretString ?? ''

  async function aSecretWithText(text: string): Promise<string> {
    const name = `secret-broker/test/fidelity-${randomUUID()}`
    await env.sm.send(new CreateSecretCommand({ Name: name, SecretString: text }))
    return name
  }

  it('the issue input: a random rotation keeps accountId 12345678901234567891 digit for digit', async () => {
    // Arrange
    const oldPassword = `${env.canary}${'x'.repeat(32 - env.canary.length)}`
    const original = `{"username":"svc","password":"${oldPassword}","accountId":12345678901234567891}`
    const name = await aSecretWithText(original)
    // Act
    const report = await rotateLikeSecretsManager({
      endpoint: env.moto.endpoint,
      secretId: name,
      runStep: makeHandler(env, [aTarget(name, { strategy: 'random' })]),
    })
    // Assert
    expect(report.ok).toBe(true)
    const rotated = await rawAt(name, 'AWSCURRENT')
    const newPassword = (JSON.parse(rotated) as { password: string }).password
    expect(newPassword).not.toBe(oldPassword)
    expect(rotated).toBe(original.replace(oldPassword, newPassword))
    expect(rotated).toContain('"accountId":12345678901234567891}')
    expect(await rawAt(name, 'AWSPREVIOUS')).toBe(original)
  })

  it('keeps formatting, key order and escapes through single-user rotations of a real database login', async () => {
    // Arrange: the credentials of a real role, stored pretty-printed with extra fields
    const role = await createPgSecret(env)
    const v = role.value
    const original = `{\n  "engine": "postgres",\n  "host": "${v.host}",\n  "port": ${v.port},\n  "dbname": "${v.dbname}",\n  "username": "${v.username}",\n  "password": "${v.password}",\n  "tenant": "caf\\u00e9 \\/ \\"eu\\"",\n  "shard": 9007199254740993\n}\n`
    const name = await aSecretWithText(original)
    const run = makeHandler(env, [aTarget(name)])
    // Act: two rotations
    for (let i = 0; i < 2; i++) {
      const report = await rotateLikeSecretsManager({
        endpoint: env.moto.endpoint,
        secretId: name,
        runStep: run,
      })
      expect(report.ok).toBe(true)
    }
    // Assert
    const rotated = await rawAt(name, 'AWSCURRENT')
    const current = JSON.parse(rotated) as typeof v
    expect(rotated).toBe(original.replace(v.password, current.password))
    expect(await canLogIn(current)).toBe(true)
  })

  it('replaces only username and password for alternating users', async () => {
    // Arrange
    const role = await createPgSecret(env)
    await env.pg.query(`GRANT "${role.value.username}" TO fidelity_admin WITH ADMIN OPTION`)
    const v = role.value
    const original = `{"username": "${v.username}", "password": "${v.password}", "host": "${v.host}", "port": ${v.port}, "dbname": "${v.dbname}", "accountId": 12345678901234567891, "opts": {"ssl": true, "ratio": 1.50}}`
    const name = await aSecretWithText(original)
    // Act
    const report = await rotateLikeSecretsManager({
      endpoint: env.moto.endpoint,
      secretId: name,
      runStep: makeHandler(env, [
        aTarget(name, { strategy: 'postgres-alternating-users', masterSecretId: master.name }),
      ]),
    })
    // Assert
    expect(report.ok).toBe(true)
    const rotated = await rawAt(name, 'AWSCURRENT')
    const current = JSON.parse(rotated) as typeof v
    expect(current.username).toBe(`${v.username}_clone`)
    expect(rotated).toBe(
      original
        .replace(`"username": "${v.username}"`, `"username": "${current.username}"`)
        .replace(v.password, current.password),
    )
    expect(await canLogIn(current)).toBe(true)
  })

  it('refuses a value that is not plain JSON (a duplicate key) with a clear message, and alters nothing', async () => {
    // Arrange
    const original = `{"username":"svc","password":"${env.canary}-a","password":"${env.canary}-b"}`
    const name = await aSecretWithText(original)
    // Act
    const report = await rotateLikeSecretsManager({
      endpoint: env.moto.endpoint,
      secretId: name,
      runStep: makeHandler(env, [aTarget(name, { strategy: 'random' })]),
    })
    // Assert
    expect(report).toMatchObject({ ok: false, failedStep: 'createSecret' })
    expect(report.attempts.at(-1)?.error).toBe(
      'createSecret: the current value has the key "password" twice; JSON readers disagree on which one wins, so it is refused',
    )
    expect(await rawAt(name, 'AWSCURRENT')).toBe(original)
    expect(holderOf(await stagesOf(env, name), 'AWSCURRENT')).toEqual([report.oldVersionId])
    expect(JSON.stringify(env.log.lines)).not.toContain(env.canary)
  })
})
