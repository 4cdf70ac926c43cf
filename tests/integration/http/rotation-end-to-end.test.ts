import { PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import { Client } from 'pg'
import { compiledDocuments } from '../../../infra/stack'
import { rotateLikeSecretsManager } from '../../../scripts/lib/local-rotation'
import { startLocalStack, type LocalStack } from '../../../scripts/lib/local-stack'
import { MOTO_CREDENTIALS } from '../../../scripts/lib/moto'
import { createRotationDeps, createRotationFunction, loadRotationConfig } from '../../../src/rotation'
import { signedFetch } from '../../../scripts/lib/signed-fetch'

/**
 * The product end to end on the local stack with its demo PostgreSQL: a rotation run the way Secrets
 * Manager runs it changes the real database password, the broker serves the new version at once to a
 * `no-cache` request (plain requests get it through the invalidation register: invalidation.test.ts), and the
 * rotation endpoint reports healthy and stuck rotations.
 */
let stack: LocalStack
let sm: SecretsManagerClient

beforeAll(async () => {
  stack = await startLocalStack({ rotation: true, postgres: true })
  sm = new SecretsManagerClient({
    region: stack.region,
    endpoint: stack.motoEndpoint,
    credentials: MOTO_CREDENTIALS,
  })
}, 180_000)

afterAll(async () => {
  sm.destroy()
  await stack.stop()
}, 60_000)

type Served = {
  versionId: string
  value: { username: string; password: string; host: string; port: number; dbname: string }
}

async function canLogIn(v: Served['value']): Promise<boolean> {
  const client = new Client({
    host: v.host,
    port: v.port,
    user: v.username,
    password: v.password,
    database: v.dbname,
    connectionTimeoutMillis: 3000,
  })
  try {
    await client.connect()
    await client.query('SELECT 1')
    return true
  } catch {
    return false
  } finally {
    await client.end().catch(() => undefined)
  }
}

it('rotates demo/db in the database, and the broker serves the new version to a no-cache request', async () => {
  const orders = stack.consumers[0]!
  const read = (headers: Record<string, string> = {}) =>
    signedFetch(`${stack.apiUrl}/secrets/demo/db`, { credentials: orders, headers })
  const before = (await read()).json<Served>()
  expect(await canLogIn(before.value)).toBe(true)

  const config = loadRotationConfig(
    { BROKER_STAGE: 'local', AWS_REGION: stack.region },
    compiledDocuments(stack.plan).rotationJson,
  )
  const deps = createRotationDeps(config, {
    endpoint: stack.motoEndpoint,
    credentials: { ...MOTO_CREDENTIALS },
    metrics: null,
  })
  const rotate = createRotationFunction(deps)
  try {
    const report = await rotateLikeSecretsManager({
      endpoint: stack.motoEndpoint,
      region: stack.region,
      secretId: stack.secretNames.get('demo/db')!,
      runStep: rotate,
    })
    expect(report.ok).toBe(true)
  } finally {
    deps.sm.destroy()
  }

  // At once, before the invalidation register could tell the container (tests/integration/http/invalidation.test.ts).
  const fresh = (await read({ 'Cache-Control': 'no-cache' })).json<Served>()
  expect(fresh.versionId).not.toBe(before.versionId)
  expect(fresh.value.password).not.toBe(before.value.password)
  expect(await canLogIn(fresh.value)).toBe(true)
  expect(await canLogIn(before.value)).toBe(false)
}, 60_000)

it('reports rotation health, and a rotation stuck on purpose as stuck', async () => {
  const orders = stack.consumers[0]!
  const status = (name: string) =>
    signedFetch(`${stack.apiUrl}/secrets/${name}/rotation`, { credentials: orders })
  const healthy = await status('demo/db')
  expect(healthy.status).toBe(200)
  expect(healthy.json()).toMatchObject({
    name: 'demo/db',
    rotationEnabled: true,
    strategy: 'postgres-single-user',
    stuck: false,
  })

  await sm.send(
    new PutSecretValueCommand({
      SecretId: stack.secretNames.get('demo/reporting-db'),
      ClientRequestToken: '00000000-0000-4000-8000-00000000dead',
      SecretString: '{"username":"demo_reporter_clone","password":"not-a-real-one"}',
      VersionStages: ['AWSPENDING'],
    }),
  )
  const stuck = await status('demo/reporting-db')
  expect(stuck.json()).toMatchObject({
    stuck: true,
    pendingVersionId: '00000000-0000-4000-8000-00000000dead',
  })
  expect(stuck.text).not.toContain('not-a-real-one')

  const notAllowed = await signedFetch(`${stack.apiUrl}/secrets/demo/api-key/rotation`, {
    credentials: orders,
  })
  expect(notAllowed.status).toBe(404)
}, 60_000)
