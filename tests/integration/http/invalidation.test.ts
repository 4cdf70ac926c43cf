import {
  DescribeSecretCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager'
import { compiledDocuments } from '../../../infra/stack'
import { readAuditFile } from '../../../scripts/lib/audit-file'
import { rotateLikeSecretsManager } from '../../../scripts/lib/local-rotation'
import { startLocalStack, type LocalStack } from '../../../scripts/lib/local-stack'
import { MOTO_CREDENTIALS } from '../../../scripts/lib/moto'
import { signedFetch } from '../../../scripts/lib/signed-fetch'
import { AWSCURRENT, versionHolding } from '../../../src/contract/version-stages'
import { createRotationDeps, createRotationFunction, loadRotationConfig } from '../../../src/rotation'

/**
 * Cache invalidation end to end on the local stack: serverless-offline, moto, the local event source
 * (scripts/lib/local-events.ts) delivering `Secret Label Updated` to the invalidation function's own handler,
 * the register in moto's DynamoDB. A plain GET — no Cache-Control — must serve the new version within 5 s of
 * the AWSCURRENT move, after a rotation run as Secrets Manager runs it, after a PutSecretValue and after an
 * UpdateSecretVersionStage made directly in the emulator. The value TTL is the default (900 s), so only the
 * register can explain a fresh answer.
 */
let stack: LocalStack
let sm: SecretsManagerClient

beforeAll(async () => {
  stack = await startLocalStack({ rotation: true })
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

const FRESHNESS_BOUND_MS = 5000
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

type Served = { versionId: string }

function reader(consumer: number, name: string) {
  return (headers: Record<string, string> = {}) =>
    signedFetch(`${stack.apiUrl}/secrets/${name}`, { credentials: stack.consumers[consumer]!, headers })
}

async function currentVersion(name: string): Promise<string> {
  const out = await sm.send(new DescribeSecretCommand({ SecretId: stack.secretNames.get(name) }))
  return versionHolding(out.VersionIdsToStages ?? {}, AWSCURRENT) as string
}

/** Plain GETs every 200 ms until the version is served; how long that took after `movedAt`. */
async function msUntilServed(
  read: ReturnType<typeof reader>,
  version: string,
  movedAt: number,
): Promise<number> {
  for (;;) {
    const res = await read()
    expect(res.status).toBe(200)
    if (res.json<Served>().versionId === version) return Date.now() - movedAt
    if (Date.now() - movedAt > FRESHNESS_BOUND_MS * 3) return Date.now() - movedAt
    await sleep(200)
  }
}

/** A warm container: the value is cached (a hit), so only an invalidation can replace it before 900 s. */
async function warm(read: ReturnType<typeof reader>): Promise<string> {
  const first = await read()
  expect(first.status).toBe(200)
  const again = await read()
  expect(again.headers['x-broker-cache']).toBe('hit')
  return again.json<Served>().versionId
}

it('serves the new version to plain GETs within 5 s of a rotation run as Secrets Manager runs it', async () => {
  const read = reader(1, 'demo/api-key')
  const before = await warm(read)

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
  let movedAt: number
  try {
    const report = await rotateLikeSecretsManager({
      endpoint: stack.motoEndpoint,
      region: stack.region,
      secretId: stack.secretNames.get('demo/api-key')!,
      runStep: (event) => {
        if (event.Step === 'finishSecret') movedAt = Date.now()
        return rotate(event)
      },
    })
    expect(report.ok).toBe(true)
  } finally {
    deps.sm.destroy()
  }
  const after = await currentVersion('demo/api-key')
  expect(after).not.toBe(before)
  expect(await msUntilServed(read, after, movedAt!)).toBeLessThanOrEqual(FRESHNESS_BOUND_MS)

  // The register recorded it, from the event the local source delivered to the function's handler.
  const status = await signedFetch(`${stack.apiUrl}/secrets/demo/api-key/rotation`, {
    credentials: stack.consumers[1]!,
  })
  expect(status.json()).toMatchObject({
    currentVersionId: after,
    register: {
      state: 'recorded',
      versionId: after,
      lastEvent: 'Secret Label Updated',
      matchesCurrent: true,
    },
  })
  const delivered = stack.events!.delivered.filter((d) => d.event.detail.versionId === after)
  expect(delivered.map((d) => [d.event.detail.labelUpdated, d.outcome])).toEqual([
    [
      'AWSCURRENT',
      expect.objectContaining({ outcome: 'recorded', secretName: 'secret-broker/local/demo/api-key' }),
    ],
  ])
}, 60_000)

it('serves a value put directly in the emulator (PutSecretValue moves AWSCURRENT) within 5 s', async () => {
  const read = reader(0, 'demo/db')
  const before = await warm(read)
  const put = await sm.send(
    new PutSecretValueCommand({
      SecretId: stack.secretNames.get('demo/db'),
      SecretString: JSON.stringify({ username: 'demo_app', password: 'put-directly-in-the-emulator' }),
    }),
  )
  const movedAt = Date.now()
  expect(put.VersionId).not.toBe(before)
  expect(await msUntilServed(read, put.VersionId!, movedAt)).toBeLessThanOrEqual(FRESHNESS_BOUND_MS)

  // The audit record of the first fresh answer says why it was re-read, and no request forced a refresh.
  const records = readAuditFile(stack.auditFile).filter(
    (r) => r.secretName === 'demo/db' && r.versionId === put.VersionId,
  )
  expect(records[0]).toMatchObject({ cache: 'miss', invalidated: 1 })
  expect(records.every((r) => r.forceRefresh === undefined)).toBe(true)
  expect(records[0]).toMatchObject({ CacheInvalidated: 1, UpstreamCalls: 1 })
}, 60_000)

it('serves an operator’s rollback (UpdateSecretVersionStage moving AWSCURRENT back) within 5 s', async () => {
  const read = reader(0, 'demo/reporting-db')
  const before = await warm(read)
  const put = await sm.send(
    new PutSecretValueCommand({
      SecretId: stack.secretNames.get('demo/reporting-db'),
      SecretString: JSON.stringify({ username: 'demo_reporter', password: 'a-version-to-roll-back' }),
    }),
  )
  expect(await msUntilServed(read, put.VersionId!, Date.now())).toBeLessThanOrEqual(FRESHNESS_BOUND_MS)

  await sm.send(
    new UpdateSecretVersionStageCommand({
      SecretId: stack.secretNames.get('demo/reporting-db'),
      VersionStage: AWSCURRENT,
      MoveToVersionId: before,
      RemoveFromVersionId: put.VersionId,
    }),
  )
  const movedAt = Date.now()
  expect(await currentVersion('demo/reporting-db')).toBe(before)
  expect(await msUntilServed(read, before, movedAt)).toBeLessThanOrEqual(FRESHNESS_BOUND_MS)
}, 60_000)

it('delivers label events as Secrets Manager does: custom labels too, never AWSPENDING or AWSPREVIOUS, and the function ignores all but AWSCURRENT', async () => {
  const secretId = stack.secretNames.get('demo/api-key')!
  const current = await currentVersion('demo/api-key')
  const seen = stack.events!.delivered.length
  await sm.send(
    new UpdateSecretVersionStageCommand({
      SecretId: secretId,
      VersionStage: 'BLUE',
      MoveToVersionId: current,
    }),
  )
  await sm.send(
    new PutSecretValueCommand({
      SecretId: secretId,
      ClientRequestToken: '00000000-0000-4000-8000-0000000pend1',
      SecretString: '{"username":"billing_api","password":"pending-only"}',
      VersionStages: ['AWSPENDING'],
    }),
  )
  await stack.events!.poll()
  const fresh = stack.events!.delivered.slice(seen)
  expect(fresh.map((d) => [d.event.detail.labelUpdated, d.outcome])).toEqual([
    ['BLUE', expect.objectContaining({ outcome: 'ignored', reason: 'other-label' })],
  ])
}, 30_000)
