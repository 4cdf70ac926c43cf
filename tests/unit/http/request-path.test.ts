import { createServer, type Server } from 'node:http'
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager'
import { mockClient } from 'aws-sdk-client-mock'
import { createMemoryAuditSink, sha256Hex } from '../../../src/lib/audit'
import { createSecretsManagerClient } from '../../../src/lib/aws-clients'
import { createHttpDeps } from '../../../src/lib/deps'
import { createMemoryLog } from '../../../src/lib/logger'
import { withHttpStack } from '../../../src/lib/middleware/http-stack'
import { getSecretOrRotation } from '../../../src/handlers/get-secret'
import { batchGetSecrets } from '../../../src/handlers/batch-get-secrets'
import { verifyAuditChains } from '../../../scripts/lib/audit-verify'
import { ORDERS_DB_ARN, aLambdaContext, anApiEvent, aSecretEvent, anHttpConfig } from '../../support/builders'
import { FakeClock } from '../../support/fake-clock'

jest.mock('../../../src/lib/config', () =>
  jest
    .requireActual<typeof import('../../support/config-module-mock')>('../../support/config-module-mock')
    .configModuleMock(),
)

const CANARY = 'CANARY-3c9d-request-path'
const sm = mockClient(SecretsManagerClient)
beforeEach(() => sm.reset())

function setup(opts: { secretsManager?: SecretsManagerClient; random?: () => number } = {}) {
  const clock = new FakeClock()
  const audit = createMemoryAuditSink()
  const deps = createHttpDeps(anHttpConfig(), {
    clock,
    log: createMemoryLog(),
    auditSink: audit,
    secretsManager: opts.secretsManager ?? new SecretsManagerClient({ region: 'us-east-1' }),
    ...(opts.random === undefined ? {} : { random: opts.random }),
  })
  const get = withHttpStack(getSecretOrRotation, deps, { method: 'GET' })
  const batch = withHttpStack(batchGetSecrets, deps, { method: 'POST' })
  return {
    clock,
    audit,
    call: (event: ReturnType<typeof aSecretEvent>) => get(event, aLambdaContext()),
    batch: (names: string[]) =>
      batch(
        anApiEvent({
          method: 'POST',
          path: '/secrets:batchGet',
          resource: '/secrets:batchGet',
          body: JSON.stringify({ names }),
          headers: { 'content-type': 'application/json' },
        }),
        aLambdaContext(),
      ),
  }
}

function current(versionId: string, secretString: string) {
  sm.on(GetSecretValueCommand, { SecretId: ORDERS_DB_ARN, VersionStage: 'AWSCURRENT' }).resolves({
    VersionId: versionId,
    CreatedDate: new Date('2026-11-01T00:00:00Z'),
    SecretString: secretString,
  })
  sm.on(DescribeSecretCommand, { SecretId: ORDERS_DB_ARN }).resolves({
    VersionIdsToStages: { [versionId]: ['AWSCURRENT'] },
  })
}

const sdkError = (name: string, status: number, message = 'refused'): Error =>
  Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status }, $fault: 'client' })

describe('values are served byte for byte', () => {
  const raw = `{"username":"svc","password":"${CANARY}-0123456","accountId":12345678901234567891}`

  it('keeps an integer above 2^53 exactly, in GET and in a batch', async () => {
    // Arrange
    const { call, batch } = setup()
    current('v1', raw)
    // Act
    const one = await call(aSecretEvent('orders/db'))
    const many = await batch(['orders/db'])
    // Assert
    expect(one.body).toContain(`"value":${raw}`)
    expect(one.body).toContain('12345678901234567891')
    expect(many.body).toContain(`"value":${raw}`)
    // JSON.parse in the test itself rounds the number: the bytes on the wire are what counts.
    expect(JSON.parse(one.body).value.username).toBe('svc')
  })

  it('keeps formatting, escapes and key order exactly as stored', async () => {
    const { call } = setup()
    const formatted = `{\n  "z": 1.50,\n  "a": "caf\\u00e9 \\/ ${CANARY}",\n  "n": [1e400, -0.0]\n}`
    current('v1', formatted)
    const res = await call(aSecretEvent('orders/db'))
    expect(res.body).toBe(
      `{"name":"orders/db","versionId":"v1","createdDate":"2026-11-01T00:00:00.000Z","value":${formatted}}`,
    )
  })
})

describe('headers as API Gateway delivers them', () => {
  it('reads a header sent on several lines as all of its lines (If-None-Match "v1" then "v0" → 304)', async () => {
    const { call } = setup()
    current('v1', '{"password":"x"}')
    const event = aSecretEvent('orders/db', { headers: { 'If-None-Match': '"v0"' } })
    event.multiValueHeaders = { 'If-None-Match': ['"v1"', '"v0"'] }
    const res = await call(event)
    expect(res.statusCode).toBe(304)
    expect(res.headers?.['Content-Type']).toBeUndefined()
  })

  it('honours Cache-Control: no-cache on the first of two lines', async () => {
    const { call, audit } = setup()
    current('v1', '{"password":"x"}')
    await call(aSecretEvent('orders/db'))
    current('v2', '{"password":"y"}')
    const event = aSecretEvent('orders/db', { headers: { 'Cache-Control': 'max-age=60' } })
    event.multiValueHeaders = { 'Cache-Control': ['no-cache', 'max-age=60'] }
    const res = await call(event)
    expect(JSON.parse(res.body).versionId).toBe('v2')
    expect(audit.records[1]).toMatchObject({ forceRefresh: 'done' })
  })
})

describe('upstream failures, classified once', () => {
  it.each([
    ['InvalidSignatureException', 'Signature expired: 20261130T101010Z is now earlier than 20261130T102010Z'],
    ['ExpiredTokenException', 'The security token included in the request is expired'],
    ['UnrecognizedClientException', 'The security token included in the request is invalid.'],
    ['SomeNewException', 'an unlisted 4xx'],
  ])(
    'keeps serving a warm value (stale, not evicted) when Secrets Manager answers %s',
    async (name, message) => {
      // Arrange
      const { call, audit, clock } = setup()
      current('v1', `{"password":"${CANARY}"}`)
      await call(aSecretEvent('orders/db'))
      sm.reset()
      sm.on(DescribeSecretCommand).rejects(sdkError(name, 400, message))
      clock.advance(301_000)
      // Act
      const res = await call(aSecretEvent('orders/db'))
      // Assert
      expect(res.statusCode).toBe(200)
      expect(res.headers?.['X-Broker-Cache']).toBe('stale')
      expect(audit.records[1]).toMatchObject({ cache: 'stale', outcome: 'allowed' })
    },
  )

  it('answers 502 for a credentials failure with nothing cached, and 503 for clock skew', async () => {
    const { call, audit } = setup()
    sm.on(GetSecretValueCommand).rejectsOnce(sdkError('ExpiredTokenException', 400))
    expect((await call(aSecretEvent('orders/db'))).statusCode).toBe(502)
    expect(audit.records[0]).toMatchObject({ reason: 'upstream-credentials', outcome: 'error' })
    sm.reset()
    sm.on(GetSecretValueCommand).rejectsOnce(sdkError('InvalidSignatureException', 400, 'Signature expired'))
    const skewed = await call(aSecretEvent('billing/key'))
    expect(skewed.statusCode).toBe(503)
    expect(audit.records[1]).toMatchObject({ reason: 'upstream-clock-skew', outcome: 'error' })
  })

  it('backs off per secret after a transient failure with nothing cached: 50 requests 100 ms apart make 2 reads at most', async () => {
    // Arrange
    const { call, audit, clock } = setup({ random: () => 0.999 })
    sm.on(GetSecretValueCommand).rejects(sdkError('ThrottlingException', 400, 'Rate exceeded'))
    // Act
    const statuses: number[] = []
    const retryAfter = new Set<string | undefined>()
    for (let i = 0; i < 50; i++) {
      const res = await call(aSecretEvent('orders/db'))
      statuses.push(res.statusCode)
      retryAfter.add(res.headers?.['Retry-After']?.toString())
      clock.advance(100)
    }
    // Assert
    expect(new Set(statuses)).toEqual(new Set([503]))
    expect(sm.commandCalls(GetSecretValueCommand).length).toBeLessThanOrEqual(2)
    expect([...retryAfter].every((s) => s !== undefined && Number(s) >= 1 && Number(s) <= 5)).toBe(true)
    const backedOff = audit.records.filter((r) => r['UpstreamBackoff'] === 1)
    expect(backedOff.length).toBeGreaterThanOrEqual(47)
    expect(audit.records[0]).toMatchObject({ reason: 'upstream-throttled', UpstreamThrottled: 1 })
  })

  it('reports a forced revalidation that failed as failed (header and audit), serving the fresh value', async () => {
    const { call, audit } = setup()
    current('v1', '{"password":"x"}')
    await call(aSecretEvent('orders/db'))
    sm.reset()
    sm.on(DescribeSecretCommand).rejects(Object.assign(new Error('timed out'), { name: 'TimeoutError' }))
    const res = await call(aSecretEvent('orders/db', { headers: { 'Cache-Control': 'no-cache' } }))
    expect(res.statusCode).toBe(200)
    expect(res.headers).toMatchObject({ 'X-Broker-Cache': 'hit', Warning: '111 - "Revalidation Failed"' })
    expect(audit.records[1]).toMatchObject({ forceRefresh: 'failed', reason: undefined, cache: 'hit' })
  })
})

describe('five cold requests through the real SDK while Secrets Manager throttles', () => {
  let server: Server
  let attempts = 0
  beforeAll(async () => {
    server = createServer((req, res) => {
      attempts += 1
      req.resume()
      res.writeHead(400, {
        'content-type': 'application/x-amz-json-1.1',
        'x-amzn-errortype': 'ThrottlingException',
      })
      res.end(JSON.stringify({ __type: 'ThrottlingException', message: 'Rate exceeded' }))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  })
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve))
  })

  it('make the attempts of one request (the SDK retries it), not five times that', async () => {
    const { port } = server.address() as { port: number }
    const client = createSecretsManagerClient({
      region: 'us-east-1',
      requestTimeoutMs: 2000,
      maxAttempts: 3,
      endpoint: `http://127.0.0.1:${port}`,
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'not-a-secret' },
    })
    try {
      const { call } = setup({ secretsManager: client })
      const statuses: number[] = []
      for (let i = 0; i < 5; i++) statuses.push((await call(aSecretEvent('orders/db'))).statusCode)
      expect(statuses).toEqual([503, 503, 503, 503, 503])
      expect(attempts).toBeLessThanOrEqual(3)
    } finally {
      client.destroy()
    }
  }, 20_000)
})

describe('the request as the deployed API would route it', () => {
  it('refuses a HEAD on a GET route the way API Gateway does, before any function logic and without an audit record', async () => {
    const { call, audit } = setup()
    current('v1', '{"password":"x"}')
    const res = await call(aSecretEvent('orders/db', { method: 'HEAD' }))
    expect(res.statusCode).toBe(403)
    expect(JSON.parse(res.body)).toEqual({ message: 'Missing Authentication Token' })
    expect(audit.records).toHaveLength(0)
    expect(sm.calls()).toHaveLength(0)
  })

  it('audits a refused percent-encoded name as it was sent', async () => {
    const { call, audit } = setup()
    const event = aSecretEvent('orders/db')
    event.path = '/secrets/orders%2Fdb'
    const res = await call(event)
    expect(res.statusCode).toBe(400)
    expect(audit.records[0]?.secretName).toBe('orders%2Fdb')
  })
})

describe('one audit line per request, chained', () => {
  it('writes exactly one line per request, each naming the hash of the one before', async () => {
    // Arrange
    const { call, audit } = setup()
    current('v1', '{"password":"x"}')
    // Act
    await call(aSecretEvent('orders/db'))
    await call(aSecretEvent('orders/db', { userArn: 'arn:aws:iam::123456789012:role/nobody' }))
    await call(aSecretEvent('orders/db', { headers: { 'If-None-Match': '"v1"' } }))
    // Assert
    expect(audit.lines).toHaveLength(3)
    expect(audit.records.map((r) => r.seq)).toEqual([1, 2, 3])
    expect(audit.records[0]?.prev).toBe('0'.repeat(64))
    expect(audit.records[1]?.prev).toBe(sha256Hex(audit.lines[0] ?? ''))
    expect(audit.records[2]?.prev).toBe(sha256Hex(audit.lines[1] ?? ''))
    expect(new Set(audit.records.map((r) => r.container)).size).toBe(1)
    expect(verifyAuditChains([{ name: 'memory', lines: audit.lines }]).problems).toEqual([])
  })
})
