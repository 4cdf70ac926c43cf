import { PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import { readAuditFile } from '../../../scripts/lib/audit-file'
import { startLocalStack, type LocalStack } from '../../../scripts/lib/local-stack'
import { MOTO_CREDENTIALS } from '../../../scripts/lib/moto'
import { signedFetch } from '../../../scripts/lib/signed-fetch'
import { startFaultProxy, type FaultProxy } from '../../support/fault-proxy'

/**
 * What the broker does when the invalidation register cannot help, over HTTP: no events are delivered
 * (`events: false`, so AWSCURRENT moves are made behind the register's back) and the HTTP functions read the
 * register through a fault proxy. A caller that shows a newer version than the container holds makes it
 * revalidate first (never backwards, under the forced-refresh rate limit); a throttled register makes the
 * container revalidate on its fallback TTL (1 s here; 300 s by default) and says so in the audit line.
 */
let stack: LocalStack
let proxy: FaultProxy
let sm: SecretsManagerClient

beforeAll(async () => {
  stack = await startLocalStack({
    events: false,
    paramOverrides: { registerFallbackTtlSeconds: 1 },
    registerEndpoint: async (moto) => {
      proxy = await startFaultProxy({ upstream: moto })
      return proxy.endpoint
    },
  })
  sm = new SecretsManagerClient({
    region: stack.region,
    endpoint: stack.motoEndpoint,
    credentials: MOTO_CREDENTIALS,
  })
}, 180_000)

afterAll(async () => {
  sm.destroy()
  await stack.stop()
  await proxy.stop()
}, 60_000)

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
type Served = { versionId: string }

const get = (name: string, headers: Record<string, string> = {}) =>
  signedFetch(`${stack.apiUrl}/secrets/${name}`, { credentials: stack.consumers[0]!, headers })

async function putDirectly(name: string, password: string): Promise<string> {
  const out = await sm.send(
    new PutSecretValueCommand({
      SecretId: stack.secretNames.get(name),
      SecretString: JSON.stringify({ username: 'demo', password }),
    }),
  )
  return out.VersionId as string
}

it('never moves a caller backwards: a version it shows and the container lacks makes the container revalidate first', async () => {
  const v1 = (await get('demo/db')).json<Served>().versionId
  const v2 = await putDirectly('demo/db', 'moved-behind-the-registers-back')

  // Nothing told the container: a plain read still gets the cached v1 (the TTL is 900 s).
  expect((await get('demo/db')).json<Served>().versionId).toBe(v1)

  // Another container served v2 to this caller, who now asks with If-None-Match: "v2".
  const ahead = await get('demo/db', { 'If-None-Match': `"${v2}"` })
  expect(ahead.status).toBe(304)
  expect(ahead.headers['etag']).toBe(`"${v2}"`)
  // The container moved forward for everyone.
  expect((await get('demo/db')).json<Served>().versionId).toBe(v2)

  // A version this container superseded itself is behind, not ahead: no revalidation.
  const behindCaller = await get('demo/db', { 'If-None-Match': `"${v1}"` })
  expect(behindCaller.status).toBe(200)
  expect(behindCaller.json<Served>().versionId).toBe(v2)

  // An unknown version again, within the forced-refresh interval (10 s): rate-limited, served what is held.
  const limited = await get('demo/db', { 'If-None-Match': '"00000000-0000-4000-8000-000000000000"' })
  expect(limited.status).toBe(200)
  expect(limited.json<Served>().versionId).toBe(v2)

  const records = readAuditFile(stack.auditFile).filter((r) => r.secretName === 'demo/db')
  const byVersion = (v: string | undefined, status: number) =>
    records.filter((r) => r.versionId === v && r.status === status)
  expect(byVersion(v2, 304)[0]).toMatchObject({ behind: true, forceRefresh: 'done', cache: 'miss' })
  expect(records.at(-2)).toMatchObject({ status: 200, versionId: v2, cache: 'hit' })
  expect(records.at(-2)?.behind).toBeUndefined()
  expect(records.at(-1)).toMatchObject({ behind: true, forceRefresh: 'rate-limited', cache: 'hit' })
}, 60_000)

it('falls back to the shorter TTL while the register is throttled, counts it, and returns to the long TTL when it answers', async () => {
  const v1 = (await get('demo/reporting-db')).json<Served>().versionId
  proxy.setFaults([{ mode: { kind: 'throttle' }, operations: ['GetItem', 'BatchGetItem'] }])
  // Let the next sync be due, and fail.
  await sleep(2100)
  const during = await get('demo/reporting-db')
  expect(during.status).toBe(200)
  const v2 = await putDirectly('demo/reporting-db', 'moved-while-the-register-is-throttled')
  await sleep(1100)
  // Expired on the 1 s fallback TTL: revalidated with DescribeSecret, the new version served, no event needed.
  const fallback = await get('demo/reporting-db')
  expect(fallback.status).toBe(200)
  expect(fallback.json<Served>().versionId).toBe(v2)
  expect(v2).not.toBe(v1)
  expect(proxy.faultsInjected).toBeGreaterThan(0)

  const records = readAuditFile(stack.auditFile).filter((r) => r.secretName === 'demo/reporting-db')
  expect(records.some((r) => (r as unknown as Record<string, unknown>)['RegisterThrottled'] === 1)).toBe(true)
  expect(records.at(-1)).toMatchObject({ versionId: v2, cache: 'miss' })

  // The register answers again: after the back-off (≤ 5 s) a read succeeds and the long TTL is back.
  proxy.clearFaults()
  proxy.resetCounts()
  await sleep(5200)
  expect((await get('demo/reporting-db')).status).toBe(200)
  expect(proxy.count('GetItem')).toBeGreaterThan(0)
  const v3 = await putDirectly('demo/reporting-db', 'moved-again-behind-the-registers-back')
  await sleep(1500)
  const healthy = await get('demo/reporting-db')
  expect(healthy.json<Served>().versionId).toBe(v2)
  expect(healthy.headers['x-broker-cache']).toBe('hit')
  expect(v3).not.toBe(v2)
}, 60_000)
