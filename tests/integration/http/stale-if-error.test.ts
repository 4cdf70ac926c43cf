import { startLocalStack, type LocalStack } from '../../../scripts/lib/local-stack'
import { startMoto, type MotoServer } from '../../../scripts/lib/moto'
import { readAuditFile } from '../../../scripts/lib/audit-file'
import { signedFetch } from '../../../scripts/lib/signed-fetch'

/**
 * Stale-if-error over HTTP: the emulator is stopped under a running broker. A cached secret is served
 * stale (flagged) until expiry + maxStale, then 503 with Retry-After; an uncached one is 503 at once.
 * TTL 1 s and maxStale 2 s keep the test short; the defaults (300 s / 900 s) are unit-tested.
 */
let moto: MotoServer
let stack: LocalStack

beforeAll(async () => {
  moto = await startMoto()
  stack = await startLocalStack({
    motoEndpoint: moto.endpoint,
    paramOverrides: { cacheTtlSeconds: 1, maxStaleSeconds: 2 },
  })
}, 180_000)

afterAll(async () => {
  await stack.stop()
  await moto.stop()
}, 60_000)

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

it('serves stale within the limit, then 503 with Retry-After; 503 at once when nothing is cached', async () => {
  const orders = stack.consumers[0]!
  const get = (name: string) => signedFetch(`${stack.apiUrl}/secrets/${name}`, { credentials: orders })
  const warm = await get('demo/db')
  expect(warm.status).toBe(200)
  const warmVersion = warm.json<{ versionId: string }>().versionId

  await moto.stop()
  await sleep(1200)
  const stale = await get('demo/db')
  expect(stale.status).toBe(200)
  expect(stale.headers['x-broker-cache']).toBe('stale')
  expect(stale.headers['warning']).toContain('110')
  expect(stale.json<{ versionId: string }>().versionId).toBe(warmVersion)

  const cold = await get('demo/reporting-db')
  expect(cold.status).toBe(503)
  expect(cold.headers['retry-after']).toBe('5')
  expect(cold.json()).toMatchObject({
    type: 'https://secret-broker.dev/problems/upstream-unavailable',
    status: 503,
  })

  await sleep(2200)
  const expired = await get('demo/db')
  expect(expired.status).toBe(503)
  expect(expired.headers['retry-after']).toBeDefined()
  expect(expired.text).not.toContain('password')

  const records = readAuditFile(stack.auditFile).filter((r) => r.secretName === 'demo/db')
  expect(records.map((r) => [r.status, r.cache ?? null])).toEqual([
    [200, 'miss'],
    [200, 'stale'],
    [503, null],
  ])
  expect(records[1]?.staleForMs).toBeGreaterThan(0)
}, 60_000)
