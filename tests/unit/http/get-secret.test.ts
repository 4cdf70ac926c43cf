import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager'
import { mockClient } from 'aws-sdk-client-mock'
import { createMemoryAuditSink } from '../../../src/lib/audit'
import { createHttpDeps } from '../../../src/lib/deps'
import { createMemoryLog } from '../../../src/lib/logger'
import { withHttpStack } from '../../../src/lib/middleware/http-stack'
import { getSecret } from '../../../src/handlers/get-secret'
import {
  ACCOUNT,
  BILLING_KEY_ARN,
  ORDERS,
  ORDERS_DB_ARN,
  aLambdaContext,
  aSecretEvent,
  anHttpConfig,
} from '../../support/builders'
import { FakeClock } from '../../support/fake-clock'

jest.mock('../../../src/lib/config', () =>
  jest
    .requireActual<typeof import('../../support/config-module-mock')>('../../support/config-module-mock')
    .configModuleMock(),
)

const CANARY = 'CANARY-7f3e9a1c-get-secret'
const sm = mockClient(SecretsManagerClient)

function setup(configOverrides: Parameters<typeof anHttpConfig>[0] = {}) {
  const clock = new FakeClock()
  const log = createMemoryLog()
  const audit = createMemoryAuditSink()
  const deps = createHttpDeps(anHttpConfig(configOverrides), {
    clock,
    log,
    auditSink: audit,
    secretsManager: new SecretsManagerClient({ region: 'us-east-1' }),
  })
  const handler = withHttpStack(getSecret, deps)
  const call = (event: ReturnType<typeof aSecretEvent>) => handler(event, aLambdaContext())
  return { clock, log, audit, deps, call }
}

function current(versionId: string, value = { username: 'orders_app', password: `${CANARY}-${versionId}` }) {
  sm.on(GetSecretValueCommand, { SecretId: ORDERS_DB_ARN, VersionStage: 'AWSCURRENT' }).resolves({
    VersionId: versionId,
    CreatedDate: new Date('2026-11-01T00:00:00Z'),
    SecretString: JSON.stringify(value),
  })
  sm.on(DescribeSecretCommand, { SecretId: ORDERS_DB_ARN }).resolves({
    VersionIdsToStages: { [versionId]: ['AWSCURRENT'], old: ['AWSPREVIOUS'] },
  })
}

beforeEach(() => {
  sm.reset()
})

describe('GET /secrets/{name}', () => {
  it('serves an allowed caller the current version with an ETag and protective headers', async () => {
    const { call, audit } = setup()
    current('v1')
    const res = await call(aSecretEvent('orders/db'))
    expect(res.statusCode).toBe(200)
    expect(JSON.parse(res.body)).toEqual({
      name: 'orders/db',
      versionId: 'v1',
      createdDate: '2026-11-01T00:00:00.000Z',
      value: { username: 'orders_app', password: `${CANARY}-v1` },
    })
    expect(res.headers).toMatchObject({
      ETag: '"v1"',
      'Cache-Control': 'no-store',
      'Content-Type': 'application/json',
      'X-Content-Type-Options': 'nosniff',
      'X-Broker-Cache': 'miss',
    })
    expect(res.headers?.['X-Request-Id']).toMatch(/^req-/)
    expect(Object.keys(res.headers ?? {}).some((h) => h.toLowerCase().startsWith('access-control-'))).toBe(
      false,
    )
    expect(sm).toHaveReceivedCommandWith(GetSecretValueCommand, {
      SecretId: ORDERS_DB_ARN,
      VersionStage: 'AWSCURRENT',
    })
    expect(audit.records).toHaveLength(1)
    expect(audit.records[0]).toMatchObject({
      principal: ORDERS,
      accountId: ACCOUNT,
      sourceIp: '10.0.0.7',
      userAgent: 'orders/1.0',
      secretName: 'orders/db',
      versionId: 'v1',
      outcome: 'allowed',
      cache: 'miss',
      status: 200,
    })
  })

  it('answers an unknown name and a not-allowed name with the same 404, before any AWS call', async () => {
    const { call, audit } = setup()
    const notAllowed = await call(
      aSecretEvent('billing/key', { userArn: 'arn:aws:iam::123456789012:role/someone-else' }),
    )
    const unknown = await call(
      aSecretEvent('no/such/secret', { userArn: 'arn:aws:iam::123456789012:role/someone-else' }),
    )
    expect(notAllowed.statusCode).toBe(404)
    expect(unknown.body).toBe(notAllowed.body)
    const strip = (h: Record<string, unknown> | undefined) => ({ ...h, 'X-Request-Id': undefined })
    expect(strip(unknown.headers)).toEqual(strip(notAllowed.headers))
    expect(notAllowed.headers?.['Content-Type']).toBe('application/problem+json')
    expect(sm.calls()).toHaveLength(0)
    expect(audit.records.map((r) => [r.outcome, r.reason])).toEqual([
      ['denied', 'caller-not-allowed'],
      ['denied', 'unknown-name'],
    ])
  })

  it.each([
    ['an ARN', 'arn:aws:secretsmanager:us-east-1:123456789012:secret:orders/db'],
    ['a dot-dot segment', 'orders/../billing/key'],
    ['an empty segment', 'orders//db'],
    ['a full-width letter', 'ｏrders/db'],
    ['a control character', 'orders\r\ndb'],
    ['a 257-character name', 'a'.repeat(257)],
  ])('refuses %s with 400 and never calls AWS', async (_what, name) => {
    const { call, audit } = setup()
    const res = await call(aSecretEvent(name))
    expect(res.statusCode).toBe(400)
    expect(JSON.parse(res.body)).toMatchObject({
      type: 'https://secret-broker.dev/problems/bad-request',
      status: 400,
    })
    expect(sm.calls()).toHaveLength(0)
    expect(audit.records[0]).toMatchObject({ outcome: 'error', status: 400 })
  })

  it('refuses a percent-encoded path even when the gateway decoded the parameter', async () => {
    const { call } = setup()
    const res = await call({ ...aSecretEvent('orders/db'), path: '/secrets/orders%2Fdb' })
    expect(res.statusCode).toBe(400)
    expect(sm.calls()).toHaveLength(0)
  })

  it('answers 304 with no value when If-None-Match names the current version', async () => {
    const { call, audit } = setup()
    current('v1')
    const res = await call(aSecretEvent('orders/db', { headers: { 'If-None-Match': '"v1"' } }))
    expect(res.statusCode).toBe(304)
    expect(res.body).toBe('')
    expect(res.headers?.['ETag']).toBe('"v1"')
    expect(audit.records[0]).toMatchObject({ outcome: 'not-modified', versionId: 'v1' })
  })

  it('answers 200 when If-None-Match names an older version', async () => {
    const { call } = setup()
    current('v2')
    const res = await call(aSecretEvent('orders/db', { headers: { 'if-none-match': 'W/"v1", "v0"' } }))
    expect(res.statusCode).toBe(200)
  })

  it('revalidates on Cache-Control: no-cache and serves the rotated version at once', async () => {
    const { call, audit } = setup()
    current('v1')
    await call(aSecretEvent('orders/db'))
    current('v2')
    const cached = await call(aSecretEvent('orders/db'))
    expect(JSON.parse(cached.body).versionId).toBe('v1')
    const forced = await call(aSecretEvent('orders/db', { headers: { 'Cache-Control': 'no-cache' } }))
    expect(JSON.parse(forced.body).versionId).toBe('v2')
    expect(audit.records[2]).toMatchObject({ forceRefresh: 'done', cache: 'miss', versionId: 'v2' })
  })

  it('rate-limits forced revalidation per secret', async () => {
    const { call, audit, clock } = setup()
    current('v1')
    await call(aSecretEvent('orders/db', { headers: { 'Cache-Control': 'no-cache' } }))
    await call(aSecretEvent('orders/db', { headers: { 'Cache-Control': 'no-cache' } }))
    clock.advance(1000)
    await call(aSecretEvent('orders/db', { headers: { 'Cache-Control': 'no-cache' } }))
    expect(audit.records.map((r) => r.forceRefresh)).toEqual(['done', 'done', 'rate-limited'])
    expect(sm.commandCalls(DescribeSecretCommand)).toHaveLength(1)
  })

  it('serves stale with a header and an audit flag when Secrets Manager throttles after expiry', async () => {
    const { call, audit, clock } = setup()
    current('v1')
    await call(aSecretEvent('orders/db'))
    sm.reset()
    sm.on(DescribeSecretCommand).rejects(
      Object.assign(new Error('Rate exceeded'), {
        name: 'ThrottlingException',
        $metadata: { httpStatusCode: 400 },
      }),
    )
    clock.advance(301_000)
    const res = await call(aSecretEvent('orders/db'))
    expect(res.statusCode).toBe(200)
    expect(res.headers).toMatchObject({ 'X-Broker-Cache': 'stale', Warning: '110 - "Response is Stale"' })
    expect(audit.records[1]).toMatchObject({ cache: 'stale', staleForMs: 1000, outcome: 'allowed' })
  })

  it('answers 503 with Retry-After when nothing is cached and Secrets Manager is down', async () => {
    const { call } = setup()
    sm.on(GetSecretValueCommand).rejects(
      Object.assign(new Error('boom'), {
        name: 'InternalServiceError',
        $fault: 'server',
        $metadata: { httpStatusCode: 500 },
      }),
    )
    const res = await call(aSecretEvent('orders/db'))
    expect(res.statusCode).toBe(503)
    expect(res.headers?.['Retry-After']).toBe('5')
    expect(JSON.parse(res.body).type).toBe('https://secret-broker.dev/problems/upstream-unavailable')
  })

  it('does not paper over an access-denied answer with the cached value', async () => {
    const { call, clock } = setup()
    current('v1')
    await call(aSecretEvent('orders/db'))
    sm.reset()
    sm.on(DescribeSecretCommand).rejects(
      Object.assign(new Error('denied'), {
        name: 'AccessDeniedException',
        $metadata: { httpStatusCode: 400 },
      }),
    )
    clock.advance(301_000)
    const res = await call(aSecretEvent('orders/db'))
    expect(res.statusCode).toBe(502)
    expect(res.body).not.toContain(CANARY)
  })

  it('answers 404 when the catalogued secret was deleted upstream', async () => {
    const { call } = setup()
    sm.on(GetSecretValueCommand).rejects(
      Object.assign(new Error('gone'), {
        name: 'ResourceNotFoundException',
        $metadata: { httpStatusCode: 400 },
      }),
    )
    const res = await call(aSecretEvent('orders/db'))
    expect(res.statusCode).toBe(404)
  })

  it('fails closed when the audit record cannot be written: 503 and no value', async () => {
    const { call, audit } = setup()
    current('v1')
    audit.failNext = true
    const res = await call(aSecretEvent('orders/db'))
    expect(res.statusCode).toBe(503)
    expect(res.body).not.toContain(CANARY)
    expect(JSON.parse(res.body).type).toBe('https://secret-broker.dev/problems/audit-unavailable')
  })

  it('refuses a request without identity before anything else', async () => {
    const { call, audit } = setup()
    const res = await call(aSecretEvent('orders/db', { userArn: null }))
    expect(res.statusCode).toBe(401)
    expect(sm.calls()).toHaveLength(0)
    expect(audit.records[0]).toMatchObject({
      outcome: 'denied',
      reason: 'unauthenticated',
      principal: undefined,
    })
  })

  it("refuses another account's principal", async () => {
    const { call } = setup()
    const res = await call(
      aSecretEvent('orders/db', { userArn: 'arn:aws:iam::999999999999:role/orders-service' }),
    )
    expect(res.statusCode).toBe(403)
    expect(sm.calls()).toHaveLength(0)
  })

  it('normalises an assumed-role session to its role', async () => {
    const { call, audit } = setup()
    current('v1')
    const res = await call(
      aSecretEvent('orders/db', { userArn: 'arn:aws:sts::123456789012:assumed-role/orders-service/i-0abc' }),
    )
    expect(res.statusCode).toBe(200)
    expect(audit.records[0]?.principal).toBe(ORDERS)
  })

  it('refuses query parameters', async () => {
    const { call } = setup()
    const res = await call(aSecretEvent('orders/db', { query: { versionStage: 'AWSPENDING' } }))
    expect(res.statusCode).toBe(400)
    expect(sm.calls()).toHaveLength(0)
  })

  it('serves a non-JSON secret as a string and a binary one base64, never logging a parse error', async () => {
    const { call, log } = setup()
    sm.on(GetSecretValueCommand, { SecretId: ORDERS_DB_ARN }).resolves({
      VersionId: 'v1',
      SecretString: `{${CANARY} not json`,
    })
    sm.on(GetSecretValueCommand, { SecretId: BILLING_KEY_ARN }).resolves({
      VersionId: 'b1',
      SecretBinary: new Uint8Array([0, 1, 255]),
    })
    const text = await call(aSecretEvent('orders/db'))
    const binary = await call(aSecretEvent('billing/key'))
    expect(JSON.parse(text.body).value).toBe(`{${CANARY} not json`)
    expect(JSON.parse(binary.body)).toMatchObject({ value: 'AAH/', valueEncoding: 'base64' })
    expect(JSON.stringify(log.lines)).not.toContain(CANARY)
  })

  it('never writes the value into a log line or an audit record', async () => {
    const { call, log, audit, clock } = setup()
    current('v1')
    await call(aSecretEvent('orders/db'))
    sm.on(DescribeSecretCommand).rejects(
      new SyntaxError(`Unexpected token in JSON at position 0: "${CANARY}"`),
    )
    clock.advance(2_000_000)
    await call(aSecretEvent('orders/db'))
    const everything = JSON.stringify({ lines: log.lines, audit: audit.records })
    for (const needle of [
      CANARY,
      CANARY.slice(0, 8),
      Buffer.from(CANARY).toString('base64'),
      encodeURIComponent(CANARY),
    ]) {
      expect(everything).not.toContain(needle)
    }
  })
})
