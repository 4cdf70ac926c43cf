import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager'
import { createSecretsManagerClient } from '../../src/lib/aws-clients'
import type { AuditRecord } from '../../src/lib/audit'
import { MOTO_CREDENTIALS } from '../../scripts/lib/moto'
import { startLocalStack, type LocalStack } from '../../scripts/lib/local-stack'
import { readAuditFile } from '../../scripts/lib/audit-file'
import { startFaultProxy, type FaultMode, type FaultProxy } from '../support/fault-proxy'
import { signedFetch, type SimpleResponse } from '../../scripts/lib/signed-fetch'
import { makeCanary, readIfExists, recordFigures, scanForCanaries } from './support/adversarial'

/**
 * Faults between the broker and Secrets Manager (T9, T11), over real HTTP: serverless-offline runs the
 * bundled handlers, every Secrets Manager call goes through the fault proxy in front of moto. The broker
 * keeps its production SDK settings (2000 ms request timeout, 3 attempts); TTL 1 s and maxStale 12 s keep
 * the staleness windows short. Requests run one at a time so serverless-offline keeps one warm container
 * (one cache) per function, as a single Lambda container would.
 *
 * Timeline: cold faults on demo/reporting-db → stale-if-error on all three secrets → past the stale limit
 * → recovery with a new version → upstream errors quoting secrets → a hanging upstream (last: without a
 * working SDK timeout it wedges the container until the function timeout) → the leak scan.
 */
const TTL_MS = 1000
const MAX_STALE_MS = 12_000
const LAMBDA_TIMEOUT_MS = 10_000
const SECRET_RE = {
  db: /\/local\/demo\/db$/,
  reporting: /\/local\/demo\/reporting-db$/,
  apiKey: /\/local\/demo\/api-key$/,
} as const

const canaries = new Map<string, string>()
let stack: LocalStack
let proxy: FaultProxy
let sm: SecretsManagerClient
const bodies: string[] = []
const figures = {
  faultsInjected: 0,
  faultModes: new Set<string>(),
  hangRequestMs: 0,
  hangAttempts: 0,
  worstFaultedRequestMs: 0,
  staleServed: 0,
  unavailable503: 0,
  upstreamAttemptsPerFailedRead: [] as number[],
}

beforeAll(async () => {
  stack = await startLocalStack({
    upstreamEndpoint: async (moto) => {
      proxy = await startFaultProxy({ upstream: moto })
      return proxy.endpoint
    },
    paramOverrides: {
      cacheTtlSeconds: TTL_MS / 1000,
      maxStaleSeconds: MAX_STALE_MS / 1000,
      forceRefreshMinIntervalSeconds: 0,
    },
    secretFields: (m) => {
      const canary = makeCanary(`faults-${m.logicalName}`)
      canaries.set(m.logicalName, canary)
      return { canary }
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

/**
 * After a failed upstream call the broker does not ask Secrets Manager about that secret again for up to
 * 5 s (a jittered per-secret back-off), whether or not it holds a value. A case that needs a fresh upstream
 * attempt first waits that out.
 */
const BACKOFF_MS = 5200
const backoffUntil = new Map<string, number>()
async function waitOutBackoff(name: string): Promise<void> {
  await sleep(Math.max(0, (backoffUntil.get(name) ?? 0) - Date.now()))
}
const orders = () => stack.consumers[0]!
const billing = () => stack.consumers[1]!

async function get(
  name: string,
  who: { accessKeyId: string; secretAccessKey: string } = orders(),
): Promise<SimpleResponse & { ms: number }> {
  const started = Date.now()
  const res = await signedFetch(`${stack.apiUrl}/secrets/${name}`, { credentials: who })
  const ms = Date.now() - started
  if (res.status !== 200) bodies.push(res.text)
  if (res.status >= 500 || res.headers['x-broker-cache'] === 'stale')
    backoffUntil.set(name, Date.now() + BACKOFF_MS)
  return { ...res, ms }
}

function auditOf(res: SimpleResponse): AuditRecord {
  const id = res.headers['x-request-id']
  const record = readAuditFile(stack.auditFile).find((r) => r.requestId === id)
  if (record === undefined) throw new Error(`no audit record for request ${String(id)}`)
  return record
}

function inject(mode: FaultMode, secretId: RegExp, operations?: string[], times?: number): void {
  figures.faultModes.add(mode.kind === 'status' ? String(mode.status) : mode.kind)
  proxy.setFaults([
    {
      mode,
      secretId,
      ...(operations === undefined ? {} : { operations }),
      ...(times === undefined ? {} : { times }),
    },
  ])
}

function versionOf(res: SimpleResponse): string {
  return res.json<{ versionId: string }>().versionId
}

describe('cold cache: nothing to fall back on', () => {
  it.each<[string, FaultMode]>([
    ['throttling', { kind: 'throttle' }],
    ['HTTP 500', { kind: 'status', status: 500 }],
    ['HTTP 503', { kind: 'status', status: 503 }],
    ['a reset connection', { kind: 'reset' }],
    [
      'an HTML error page',
      { kind: 'raw', status: 502, body: '<html><body>Bad Gateway</body></html>', contentType: 'text/html' },
    ],
  ])(
    'answers %s with 503 + Retry-After after a bounded number of attempts',
    async (_what, mode) => {
      // Arrange
      await waitOutBackoff('demo/reporting-db')
      proxy.resetCounts()
      inject(mode, SECRET_RE.reporting)
      // Act
      const res = await get('demo/reporting-db')
      // Assert
      expect(res.status).toBe(503)
      expect(res.headers['retry-after']).toBe('5')
      expect(res.json()).toMatchObject({
        type: 'https://secret-broker.dev/problems/upstream-unavailable',
        status: 503,
      })
      const attempts = proxy.count('GetSecretValue', SECRET_RE.reporting)
      figures.upstreamAttemptsPerFailedRead.push(attempts)
      expect(attempts).toBeGreaterThanOrEqual(1)
      expect(attempts).toBeLessThanOrEqual(3)
      expect(res.ms).toBeLessThan(LAMBDA_TIMEOUT_MS)
      figures.worstFaultedRequestMs = Math.max(figures.worstFaultedRequestMs, res.ms)
      figures.unavailable503 += 1
      expect(auditOf(res)).toMatchObject({
        status: 503,
        outcome: 'error',
        secretName: 'demo/reporting-db',
        principal: orders().principalArn,
      })
      expect(auditOf(res).reason).toMatch(/^upstream-/)
    },
    30_000,
  )

  it('retries one throttled call and serves the value (2 upstream attempts)', async () => {
    await waitOutBackoff('demo/reporting-db')
    proxy.resetCounts()
    inject({ kind: 'throttle' }, SECRET_RE.reporting, ['GetSecretValue'], 1)
    const res = await get('demo/reporting-db')
    expect(res.status).toBe(200)
    expect(res.headers['x-broker-cache']).toBe('miss')
    expect(proxy.count('GetSecretValue', SECRET_RE.reporting)).toBe(2)
    expect(auditOf(res)).toMatchObject({ status: 200, cache: 'miss', outcome: 'allowed' })
  }, 30_000)
})

describe('stale-if-error, the limit, and recovery', () => {
  const warmVersions = new Map<string, string>()
  let warmedAt = 0

  it('warms the three secrets', async () => {
    proxy.clearFaults()
    for (const [name, who] of [
      ['demo/db', orders()],
      ['demo/reporting-db', orders()],
      ['demo/api-key', billing()],
    ] as const) {
      await waitOutBackoff(name)
      const res = await get(name, who)
      expect(res.status).toBe(200)
      warmVersions.set(name, versionOf(res))
    }
    warmedAt = Date.now()
  }, 30_000)

  it('serves the cached value, flagged stale, while Secrets Manager is throttling, failing or resetting', async () => {
    await sleep(Math.max(0, warmedAt + TTL_MS + 150 - Date.now()))
    type Case = readonly [
      name: string,
      secretId: RegExp,
      mode: FaultMode,
      who: { accessKeyId: string; secretAccessKey: string },
    ]
    // Round two runs once the first round's failure back-off (5 s) is over for its secrets.
    const rounds: Case[][] = [
      [
        ['demo/reporting-db', SECRET_RE.reporting, { kind: 'throttle' }, orders()],
        ['demo/api-key', SECRET_RE.apiKey, { kind: 'status', status: 500 }, billing()],
        ['demo/db', SECRET_RE.db, { kind: 'reset' }, orders()],
      ],
      [
        ['demo/reporting-db', SECRET_RE.reporting, { kind: 'status', status: 503 }, orders()],
        [
          'demo/api-key',
          SECRET_RE.apiKey,
          { kind: 'raw', status: 500, body: '<html>Internal Server Error</html>', contentType: 'text/html' },
          billing(),
        ],
      ],
    ]
    const backoffUntil = new Map<string, number>()
    for (const round of rounds) {
      // The cache's failure back-off (5 s) would answer round two from cache without asking upstream.
      await sleep(Math.max(0, ...round.map(([name]) => (backoffUntil.get(name) ?? 0) - Date.now())))
      proxy.setFaults(round.map(([, secretId, mode]) => ({ mode, secretId })))
      for (const [, , mode] of round)
        figures.faultModes.add(mode.kind === 'status' ? String(mode.status) : mode.kind)
      for (const [name, re, , who] of round) {
        proxy.resetCounts()
        const res = await get(name, who)
        backoffUntil.set(name, Date.now() + 5200)
        expect([name, res.status]).toEqual([name, 200])
        expect(res.headers['x-broker-cache']).toBe('stale')
        expect(res.headers['warning']).toContain('110')
        expect(versionOf(res)).toBe(warmVersions.get(name))
        expect(res.ms).toBeLessThan(LAMBDA_TIMEOUT_MS)
        figures.worstFaultedRequestMs = Math.max(figures.worstFaultedRequestMs, res.ms)
        const attempts = proxy.count(undefined, re)
        expect(attempts).toBeGreaterThanOrEqual(1)
        expect(attempts).toBeLessThanOrEqual(3)
        figures.upstreamAttemptsPerFailedRead.push(attempts)
        const record = auditOf(res)
        expect(record).toMatchObject({ status: 200, cache: 'stale', outcome: 'allowed' })
        expect(record.staleForMs).toBeGreaterThan(0)
        // Within the failure back-off the next request is served stale without asking Secrets Manager again.
        proxy.resetCounts()
        const again = await get(name, who)
        expect(again.headers['x-broker-cache']).toBe('stale')
        expect(proxy.count(undefined, re)).toBe(0)
        figures.staleServed += 2
      }
    }
  }, 40_000)

  it('answers 503 with Retry-After once the value is older than TTL + maxStale', async () => {
    await sleep(Math.max(0, warmedAt + TTL_MS + MAX_STALE_MS + 300 - Date.now()))
    proxy.setFaults([
      { mode: { kind: 'status', status: 503 }, secretId: /\/local\/demo\/(db|reporting-db|api-key)$/ },
    ])
    for (const [name, who] of [
      ['demo/db', orders()],
      ['demo/reporting-db', orders()],
      ['demo/api-key', billing()],
    ] as const) {
      await waitOutBackoff(name)
      const res = await get(name, who)
      expect([name, res.status]).toEqual([name, 503])
      expect(res.headers['retry-after']).toBe('5')
      expect(res.text).not.toContain('password')
      expect(auditOf(res)).toMatchObject({ status: 503, outcome: 'error', reason: 'upstream-server-error' })
      figures.unavailable503 += 1
    }
  }, 60_000)

  it('recovers when the fault clears: the new version at once, and never the stale one again', async () => {
    // Arrange: the secret changed during the outage.
    const put = await sm.send(
      new PutSecretValueCommand({
        SecretId: stack.secretNames.get('demo/db'),
        SecretString: JSON.stringify({
          username: 'demo_app',
          password: 'p'.repeat(32),
          canary: canaries.get('demo/db'),
        }),
        VersionStages: ['AWSCURRENT'],
      }),
    )
    proxy.clearFaults()
    await waitOutBackoff('demo/db')
    proxy.resetCounts()
    // Act
    const first = await get('demo/db')
    const after: SimpleResponse[] = []
    for (let i = 0; i < 5; i++) after.push(await get('demo/db'))
    await sleep(TTL_MS + 100)
    after.push(await get('demo/db'))
    // Assert
    expect(first.status).toBe(200)
    expect(first.headers['x-broker-cache']).toBe('miss')
    expect(versionOf(first)).toBe(put.VersionId)
    for (const res of after) {
      expect(res.status).toBe(200)
      expect(versionOf(res)).toBe(put.VersionId)
      expect(res.headers['x-broker-cache']).not.toBe('stale')
    }
    expect(after.at(-1)?.headers['x-broker-cache']).toBe('revalidated')
    const records = readAuditFile(stack.auditFile).filter((r) => r.secretName === 'demo/db')
    const recovered = records.findIndex((r) => r.requestId === first.headers['x-request-id'])
    expect(recovered).toBeGreaterThan(0)
    expect(records.slice(recovered).every((r) => r.cache !== 'stale' && r.versionId === put.VersionId)).toBe(
      true,
    )
  }, 30_000)
  it('serves stale when Secrets Manager answers slower than the SDK timeout, within the time budget', async () => {
    // Arrange: a fresh entry for demo/api-key, then let it expire.
    proxy.clearFaults()
    await waitOutBackoff('demo/api-key')
    const warm = await get('demo/api-key', billing())
    expect(warm.status).toBe(200)
    await sleep(TTL_MS + 150)
    proxy.resetCounts()
    inject({ kind: 'delay', ms: 2500 }, SECRET_RE.apiKey)
    // Act
    const res = await get('demo/api-key', billing())
    // Assert: three DescribeSecret attempts of 2000 ms each, then the cached value, flagged.
    figures.worstFaultedRequestMs = Math.max(figures.worstFaultedRequestMs, res.ms)
    expect(res.status).toBe(200)
    expect(res.headers['x-broker-cache']).toBe('stale')
    expect(versionOf(res)).toBe(versionOf(warm))
    expect(proxy.count('DescribeSecret', SECRET_RE.apiKey)).toBe(3)
    expect(res.ms).toBeLessThan(8500)
    expect(auditOf(res)).toMatchObject({ status: 200, cache: 'stale', outcome: 'allowed' })
    figures.staleServed += 1
    proxy.clearFaults()
  }, 30_000)
})

describe('upstream errors that quote secret material, and a hanging upstream', () => {
  it('never passes an upstream error message or a malformed body on to the caller or the logs', async () => {
    const canary = canaries.get('demo/reporting-db') as string
    const cases: FaultMode[] = [
      {
        kind: 'aws-error',
        status: 400,
        errorType: 'DecryptionFailure',
        message: `KMS could not decrypt ${canary}`,
      },
      {
        kind: 'aws-error',
        status: 400,
        errorType: 'AccessDeniedException',
        message: `not authorized for ${canary}`,
      },
      { kind: 'raw', status: 200, body: `{"ARN":"x","Name":"demo","SecretString":"${canary}` },
      { kind: 'raw', status: 200, body: `${canary} is not JSON` },
    ]
    const statuses: number[] = []
    for (const mode of cases) {
      // The entry is past TTL + maxStale (then evicted by the first permanent error): every case reads upstream.
      await waitOutBackoff('demo/reporting-db')
      inject(mode, SECRET_RE.reporting)
      const res = await signedFetch(`${stack.apiUrl}/secrets/demo/reporting-db`, {
        credentials: orders(),
        headers: { 'Cache-Control': 'no-cache' },
      })
      if (res.status >= 500) backoffUntil.set('demo/reporting-db', Date.now() + BACKOFF_MS)
      bodies.push(res.text)
      statuses.push(res.status)
      expect(res.text).not.toContain(canary.slice(0, 8))
    }
    proxy.clearFaults()
    expect(statuses.every((s) => s >= 200 && s < 600)).toBe(true)
    // Permanent refusals are not covered by a cached value: 502 and the entry is evicted.
    expect(statuses).toEqual([502, 502, 503, 503])
  }, 60_000)

  it("ends a hanging call with the broker's own SDK client: 3 attempts, each cut at 2000 ms (src/lib/aws-clients.ts)", async () => {
    // Arrange: the client exactly as createHttpDeps builds it, straight at the proxy.
    const client = createSecretsManagerClient({
      region: stack.region,
      requestTimeoutMs: 2000,
      maxAttempts: 3,
      endpoint: proxy.endpoint,
      credentials: MOTO_CREDENTIALS,
    })
    proxy.resetCounts()
    inject({ kind: 'hang' }, SECRET_RE.apiKey)
    const started = Date.now()
    // Act: give it 9 s, just under the function timeout.
    let timer: NodeJS.Timeout | undefined
    const outcome = await Promise.race([
      client
        .send(
          new GetSecretValueCommand({
            SecretId: stack.secretNames.get('demo/api-key'),
            VersionStage: 'AWSCURRENT',
          }),
        )
        .then(
          () => 'answered',
          (err: unknown) => (err as { name?: string }).name ?? 'error',
        ),
      new Promise<string>((resolve) => (timer = setTimeout(() => resolve('still waiting after 9 s'), 9000))),
    ])
    clearTimeout(timer)
    const ms = Date.now() - started
    client.destroy()
    proxy.clearFaults()
    // Assert
    expect(outcome).toBe('TimeoutError')
    expect(proxy.count('GetSecretValue', SECRET_RE.apiKey)).toBe(3)
    expect(ms).toBeLessThan(8500)
  }, 30_000)

  it('gives up on a hanging Secrets Manager well before the 10 s function timeout (3 attempts × 2000 ms)', async () => {
    // demo/reporting-db was evicted by the permanent errors above: the read is cold.
    await waitOutBackoff('demo/reporting-db')
    proxy.resetCounts()
    inject({ kind: 'hang' }, SECRET_RE.reporting)
    const res = await get('demo/reporting-db')
    figures.hangRequestMs = res.ms
    figures.hangAttempts = proxy.count('GetSecretValue', SECRET_RE.reporting)
    figures.worstFaultedRequestMs = Math.max(figures.worstFaultedRequestMs, res.ms)
    expect(res.status).toBe(503)
    expect(res.headers['retry-after']).toBe('5')
    expect(figures.hangAttempts).toBe(3)
    // 3 × 2000 ms plus the SDK's backoff; the function's own timeout is 10 s.
    expect(res.ms).toBeGreaterThanOrEqual(3 * 2000)
    expect(res.ms).toBeLessThan(8500)
    expect(auditOf(res)).toMatchObject({ status: 503, reason: 'upstream-timeout' })
  }, 30_000)

  it('leaked no canary into bodies, the audit file or the API log, and records its figures', () => {
    const scan = scanForCanaries([...canaries.values()], {
      'error bodies': bodies.join('\n'),
      'audit file': readIfExists(stack.auditFile),
      'serverless-offline log': readIfExists(stack.offlineLog),
    })
    figures.faultsInjected = proxy.faultsInjected
    recordFigures('faults', {
      faultsInjected: proxy.faultsInjected,
      faultModes: [...figures.faultModes].sort(),
      upstreamCalls: proxy.totalCalls,
      hangRequestMs: figures.hangRequestMs,
      hangAttempts: figures.hangAttempts,
      worstFaultedRequestMs: figures.worstFaultedRequestMs,
      maxUpstreamAttemptsPerRead: Math.max(...figures.upstreamAttemptsPerFailedRead),
      staleServed: figures.staleServed,
      unavailable503: figures.unavailable503,
      sdk: { requestTimeoutMs: 2000, maxAttempts: 3 },
      leakScan: {
        canaries: canaries.size,
        needles: scan.needles,
        bytesScanned: scan.bytesScanned,
        hits: scan.hits.length,
      },
    })
    expect(scan.hits).toEqual([])
  })
})
