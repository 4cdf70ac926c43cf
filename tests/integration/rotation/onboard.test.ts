import { randomBytes } from 'node:crypto'
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager'
import { compiledDocuments, planStack, rotationEnvironment, secretAwsName } from '../../../infra/stack'
import { loadStageDeclarations } from '../../../infra/stage-declarations'
import { MOTO_CREDENTIALS } from '../../../scripts/lib/moto'
import { canLogIn, startRotationEnv, type RotationEnv } from '../../../scripts/lib/rotation-env'
import { scramSha256Verifier } from '../../../src/rotation'
import { onboardStage } from '../../../scripts/onboard'

/**
 * Day 1 of a rotated secret, end to end (docs/ROTATION.md, "Day 1"): the local stage's secrets exist in a
 * private moto with generated passwords the private PostgreSQL has never seen; `npm run onboard` sets them
 * through the master and checks the login. Alternating users: the user is created. Single user: an existing
 * user's password is set; a missing user is refused and nothing is created. The deploy guard comes first.
 */
jest.setTimeout(60_000)

let env: RotationEnv
const saved: Record<string, string | undefined> = {}
const password = (): string => randomBytes(18).toString('base64url')
const values: Record<string, { username: string; password: string }> = {}

async function createSecret(name: string, username: string): Promise<void> {
  const value = {
    username,
    password: password(),
    engine: 'postgres',
    host: '127.0.0.1',
    port: env.pg.port,
    dbname: 'demo',
  }
  values[name] = value
  await env.sm.send(
    new CreateSecretCommand({ Name: secretAwsName('local', name), SecretString: JSON.stringify(value) }),
  )
}

const loginOf = (name: string) => ({ ...values[name]!, host: '127.0.0.1', port: env.pg.port, dbname: 'demo' })

beforeAll(async () => {
  env = await startRotationEnv()
  await env.pg.query('CREATE DATABASE demo')
  await createSecret('demo/db-master', 'demo_admin')
  await createSecret('demo/reporting-db', 'demo_reporter')
  await createSecret('demo/db', 'demo_app')
  // The master exists (CREATEROLE); demo_app exists with a password other than its secret's; demo_reporter not.
  const salt = (n: number): Buffer => randomBytes(n)
  await env.pg.query(
    `CREATE ROLE demo_admin WITH LOGIN CREATEROLE PASSWORD '${scramSha256Verifier(values['demo/db-master']!.password, salt)}'`,
  )
  await env.pg.query(`CREATE ROLE demo_app WITH LOGIN PASSWORD '${scramSha256Verifier(password(), salt)}'`)
  for (const k of [
    'AWS_ENDPOINT_URL',
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
    'AWS_REGION',
    'AWS_PROFILE',
  ])
    saved[k] = process.env[k]
  delete process.env['AWS_PROFILE']
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: env.moto.endpoint,
    AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
    AWS_REGION: 'us-east-1',
  })
})

afterAll(async () => {
  for (const [k, v] of Object.entries(saved))
    if (v === undefined) Reflect.deleteProperty(process.env, k)
    else process.env[k] = v
  await env?.stop()
})

/** No line of the command's output, and no statement the server logged, holds a password. */
function expectNoValue(text: string): void {
  for (const v of Object.values(values)) expect(text).not.toContain(v.password)
}

describe('npm run onboard against moto and a private PostgreSQL', () => {
  it('alternating users: creates the missing user with the secret password through the master, and verifies it', async () => {
    expect(await canLogIn(loginOf('demo/reporting-db'))).toBe(false)
    const result = await onboardStage({ stage: 'local', secret: 'demo/reporting-db' })
    expect(result.lines.join('\n')).toMatch(
      /role demo_reporter created on 127\.0\.0\.1:\d+\/demo through secret-broker\/local\/demo\/db-master/,
    )
    expect(result.ok).toBe(true)
    expect(result.lines.join('\n')).toMatch(/next: set rotation\.enabled: true for demo\/reporting-db/)
    expect(await canLogIn(loginOf('demo/reporting-db'))).toBe(true)
    expectNoValue(result.lines.join('\n'))
    // Idempotent: running it again sets the same password again.
    const again = await onboardStage({ stage: 'local', secret: 'demo/reporting-db' })
    expect(again.lines.join('\n')).toMatch(/role demo_reporter password set/)
    expect(await canLogIn(loginOf('demo/reporting-db'))).toBe(true)
  })

  it('single user: needs a master, then sets the existing user password to the secret value', async () => {
    expect(await canLogIn(loginOf('demo/db'))).toBe(false)
    const noMaster = await onboardStage({ stage: 'local', secret: 'demo/db' })
    expect(noMaster.ok).toBe(false)
    expect(noMaster.lines.join('\n')).toMatch(/has no masterSecret: name the login .* \(--master <secret>\)/)
    const result = await onboardStage({ stage: 'local', secret: 'demo/db', master: 'demo/db-master' })
    expect(result.lines.join('\n')).toMatch(/role demo_app password set/)
    expect(result.ok).toBe(true)
    expect(await canLogIn(loginOf('demo/db'))).toBe(true)
  })

  it('single user: refuses a missing user and creates nothing', async () => {
    await env.pg.query('DROP ROLE demo_app')
    const result = await onboardStage({ stage: 'local', secret: 'demo/db', master: 'demo/db-master' })
    expect(result.ok).toBe(false)
    expect(result.lines.join('\n')).toMatch(/role demo_app does not exist on 127\.0\.0\.1:\d+\/demo/)
    expect(await env.pg.query("SELECT 1 FROM pg_roles WHERE rolname = 'demo_app'")).toEqual([])
  })

  it('refuses what needs no onboarding, unknown secrets, and the guard refusals, before any database call', async () => {
    const random = await onboardStage({ stage: 'local', secret: 'demo/api-key' })
    expect(random).toEqual({
      ok: false,
      lines: ['onboard: demo/api-key rotates with random: it needs no onboarding'],
    })
    const accessKey = await onboardStage({ stage: 'local', secret: 'demo/deployer-key' })
    expect(accessKey.lines).toEqual([
      'onboard: demo/deployer-key rotates with iam-access-key: it needs no onboarding',
    ])
    const mysql = await onboardStage({ stage: 'local', secret: 'demo/mysql-db' })
    expect(mysql.ok).toBe(false)
    expect(mysql.lines[0]).toMatch(
      /^onboard: demo\/mysql-db rotates with mysql-alternating-users: npm run onboard sets PostgreSQL users only; .* rotation\.enabled: true/,
    )
    const unknown = await onboardStage({ stage: 'local', secret: 'demo/nope' })
    expect(unknown.lines[0]).toMatch(/^onboard: unknown secret demo\/nope; stage local declares: demo\/db, /)
    const dev = await onboardStage({ stage: 'dev', secret: 'orders/db' })
    expect(dev.ok).toBe(false)
    expect(dev.lines[0]).toMatch(
      /^Refusing to onboard a secret of stage dev:\n- params\.dev\.accountId is 111111111111/,
    )
    const noEmulator = await onboardStage({
      stage: 'local',
      secret: 'demo/reporting-db',
      env: { ...process.env, AWS_ENDPOINT_URL: undefined },
    })
    expect(noEmulator.lines[0]).toMatch(/the local stage is npm start's .* never deployed to AWS/)
  })

  it('the rotation function handles the onboard event npm run onboard sends it in AWS', async () => {
    // The deployed function's environment for the local stage; its SDK client follows AWS_ENDPOINT_URL to moto.
    const plan = planStack(loadStageDeclarations('local'))
    const fnEnv = rotationEnvironment(plan)
    for (const [k, v] of Object.entries(fnEnv)) process.env[k] = String(v)
    // The bundler puts the compiled rotation document into the deployed function; here the test does.
    const { rotationJson } = compiledDocuments(plan)
    jest.resetModules() // a fresh module graph for the handler, which reads the placeholder below
    jest.doMock('../../../src/rotation/compiled-rotation', () => ({ COMPILED_ROTATION_JSON: rotationJson }))
    process.env['BROKER_LOG_LEVEL'] = 'ERROR'
    try {
      await env.pg.query('ALTER ROLE demo_reporter PASSWORD NULL')
      expect(await canLogIn(loginOf('demo/reporting-db'))).toBe(false)
      const { handler } = await import('../../../src/handlers/rotate-secret')
      const report = await handler({ onboard: { secretId: secretAwsName('local', 'demo/reporting-db') } })
      expect(report).toEqual({
        secretId: 'secret-broker/local/demo/reporting-db',
        username: 'demo_reporter',
        masterSecretId: 'secret-broker/local/demo/db-master',
        action: 'password-set',
        where: `on 127.0.0.1:${env.pg.port}/demo`,
      })
      expect(await canLogIn(loginOf('demo/reporting-db'))).toBe(true)
    } finally {
      for (const k of Object.keys(fnEnv)) Reflect.deleteProperty(process.env, k)
    }
  })

  it('never sent a plain password to the server', () => {
    expectNoValue(env.pg.readLog())
  })
})
