import autocannon from 'autocannon'
import { startLocalStack, type LocalStack } from '../../scripts/lib/local-stack'
import { readAuditFile } from '../../scripts/lib/audit-file'
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy'
import { makeCanary, readIfExists, recordFigures, scanForCanaries, signRaw } from './support/adversarial'

/**
 * Load (T9, T15): autocannon on loopback against serverless-offline, a fixed number of requests from
 * two consumers mixing allowed, not-allowed, unknown and unbrokered names, plus batch, list and whoami.
 * The requests are signed once up front (the verifier accepts a signature for 5 minutes) and replayed.
 *
 * Checked: no errors or timeouts, only the expected status per (caller, name), exactly one audit record per
 * request, and the upstream budget at the counting proxy: serverless-offline runs one worker per concurrent
 * request, like Lambda containers, so per container at most one GetSecretValue per allowed secret (the
 * versions do not change) and one DescribeSecret per secret per TTL expiry; never a call for a name the
 * caller may not read. The container count is the number of times the local consumer keys were loaded.
 */
const AMOUNT = 2400
const CONNECTIONS = 8
const TTL_SECONDS = 2
const MAX_RUN_MS = 90_000

let stack: LocalStack
let proxy: FaultProxy
const canaries = new Map<string, string>()

beforeAll(async () => {
  stack = await startLocalStack({
    upstreamEndpoint: async (moto) => {
      proxy = await startFaultProxy({ upstream: moto })
      return proxy.endpoint
    },
    paramOverrides: { cacheTtlSeconds: TTL_SECONDS },
    secretFields: (m) => {
      const canary = makeCanary(`load-${m.logicalName}`)
      canaries.set(m.logicalName, canary)
      return { canary }
    },
  })
}, 180_000)

afterAll(async () => {
  await stack.stop()
  await proxy.stop()
}, 60_000)

interface Planned {
  readonly method: string
  readonly path: string
  readonly body?: string
  readonly consumer: 0 | 1
  readonly expected: number
  /** For GETs of one secret: the logical name. */
  readonly name?: string
}

it(`serves ${AMOUNT} mixed requests over ${CONNECTIONS} connections with no error, the expected statuses, one audit record each and a bounded upstream`, async () => {
  // Arrange
  const readable = [
    new Set(['demo/db', 'demo/reporting-db']),
    new Set(['demo/reporting-db', 'demo/api-key']),
  ] as const
  const names = ['demo/db', 'demo/reporting-db', 'demo/api-key', 'demo/db-master', 'demo/nope', 'other/db']
  const plan: Planned[] = []
  for (const consumer of [0, 1] as const) {
    for (const name of names)
      plan.push({
        method: 'GET',
        path: `/secrets/${name}`,
        consumer,
        name,
        expected: readable[consumer].has(name) ? 200 : 404,
      })
    plan.push({
      method: 'POST',
      path: '/secrets:batchGet',
      body: JSON.stringify({ names }),
      consumer,
      expected: 200,
    })
    plan.push({ method: 'GET', path: '/secrets', consumer, expected: 200 })
    plan.push({ method: 'GET', path: '/whoami', consumer, expected: 200 })
  }
  const requests = await Promise.all(
    plan.map(async (p) => {
      const headers = await signRaw(stack.apiUrl, {
        method: p.method,
        path: p.path,
        credentials: stack.consumers[p.consumer]!,
        ...(p.body === undefined ? {} : { body: p.body, headers: { 'content-type': 'application/json' } }),
      })
      return {
        method: p.method as 'GET' | 'POST',
        path: p.path,
        headers,
        ...(p.body === undefined ? {} : { body: p.body }),
      }
    }),
  )
  // Warm one container per function so the cold starts are not all in the measured run.
  const auditBefore = readAuditFile(stack.auditFile).length
  proxy.resetCounts()
  const started = Date.now()

  // Act
  const instance = autocannon({
    url: stack.apiUrl,
    connections: CONNECTIONS,
    amount: AMOUNT,
    timeout: 15,
    requests,
  })
  const guard = setTimeout(() => (instance as unknown as { stop(): void }).stop(), MAX_RUN_MS)
  const result = await instance
  clearTimeout(guard)
  const runMs = Date.now() - started
  await new Promise((r) => setTimeout(r, 300)) // the last audit lines are flushed by the workers

  // Assert: transport
  expect(result.errors).toBe(0)
  expect(result.timeouts).toBe(0)
  const completed = result.requests.total
  expect(completed).toBe(AMOUNT)
  const statusCounts: Record<string, number> = {}
  for (const [k, v] of Object.entries(result.statusCodeStats as Record<string, { count: number }>))
    statusCounts[k] = v.count
  expect(Object.keys(statusCounts).sort()).toEqual(['200', '404'])

  // Assert: exactly one audit record per request, each with the expected status for its caller and name.
  const records = readAuditFile(stack.auditFile).slice(auditBefore)
  expect(records).toHaveLength(AMOUNT)
  expect(new Set(records.map((r) => r.requestId)).size).toBe(AMOUNT)
  const unexpected = records.filter((r) => {
    const consumer = stack.consumers.findIndex((c) => c.principalArn === r.principal)
    const planned = plan.find(
      (p) =>
        p.consumer === consumer &&
        (p.name === undefined
          ? r.route !== '/secrets/{name+}' && routeOf(p.path) === r.route
          : p.name === r.secretName),
    )
    return planned === undefined || planned.expected !== r.status
  })
  expect(unexpected.slice(0, 5)).toEqual([])
  expect(records.filter((r) => r.status === 404).length).toBe(statusCounts['404'])

  // Assert: the upstream budget.
  const containers = proxy.count('GetSecretValue', /\/_local\/consumer-keys$/)
  const brokered = /\/local\/demo\/(db|reporting-db|api-key)$/
  const getValue = proxy.count('GetSecretValue', brokered)
  const describe = proxy.count('DescribeSecret', brokered)
  const ttlWindows = Math.ceil(runMs / (TTL_SECONDS * 1000)) + 1
  const outside = proxy.calls.filter(
    (c) =>
      c.secretId !== undefined && !brokered.test(c.secretId) && !c.secretId.endsWith('/_local/consumer-keys'),
  )
  expect(outside).toEqual([])
  expect(containers).toBeGreaterThan(0)
  expect(getValue).toBeLessThanOrEqual(containers * 3)
  expect(describe).toBeLessThanOrEqual(containers * 3 * ttlWindows)

  const lat = result.latency as unknown as { p50: number; p99: number; max: number }
  const scan = scanForCanaries([...canaries.values()], {
    'audit file': readIfExists(stack.auditFile),
    'serverless-offline log': readIfExists(stack.offlineLog),
  })
  recordFigures('load', {
    requests: completed,
    connections: CONNECTIONS,
    runMs,
    requestsPerSecond: Math.round((completed / runMs) * 1000),
    latencyMs: { p50: lat.p50, p99: lat.p99, max: lat.max },
    statuses: statusCounts,
    errors: result.errors,
    timeouts: result.timeouts,
    auditRecords: records.length,
    upstream: {
      containers,
      getSecretValue: getValue,
      describeSecret: describe,
      ttlSeconds: TTL_SECONDS,
      callsOutsideCatalog: outside.length,
      keyLoads: containers,
    },
    leakScan: {
      canaries: canaries.size,
      needles: scan.needles,
      bytesScanned: scan.bytesScanned,
      hits: scan.hits.length,
    },
  })
  expect(scan.hits).toEqual([])
}, 150_000)

function routeOf(path: string): string {
  if (path === '/secrets:batchGet') return '/secrets:batchGet'
  if (path === '/secrets') return '/secrets'
  return path
}
