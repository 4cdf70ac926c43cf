import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import { mockClient } from 'aws-sdk-client-mock'
import fc from 'fast-check'
import { createMemoryAuditSink } from '../../../src/lib/audit'
import { createHttpDeps } from '../../../src/lib/deps'
import { createMemoryLog } from '../../../src/lib/logger'
import { withHttpStack } from '../../../src/lib/middleware/http-stack'
import { batchGetSecrets } from '../../../src/handlers/batch-get-secrets'
import { listSecrets } from '../../../src/handlers/list-secrets'
import { whoami } from '../../../src/handlers/whoami'
import { health } from '../../../src/handlers/health'
import { getSecret } from '../../../src/handlers/get-secret'
import {
  BILLING,
  ORDERS,
  aLambdaContext,
  anApiEvent,
  anHttpConfig,
  aSecretEvent,
} from '../../support/builders'
import { FakeClock } from '../../support/fake-clock'

jest.mock('../../../src/lib/config', () =>
  jest
    .requireActual<typeof import('../../support/config-module-mock')>('../../support/config-module-mock')
    .configModuleMock(),
)

const sm = mockClient(SecretsManagerClient)
beforeEach(() => {
  sm.reset()
  sm.on(GetSecretValueCommand).callsFake((input: { SecretId: string }) => ({
    VersionId: `v-${input.SecretId.slice(-6)}`,
    SecretString: '{"k":"v"}',
  }))
})

function deps() {
  const audit = createMemoryAuditSink()
  const d = createHttpDeps(anHttpConfig(), {
    clock: new FakeClock(),
    log: createMemoryLog(),
    auditSink: audit,
    secretsManager: new SecretsManagerClient({ region: 'us-east-1' }),
  })
  return { d, audit }
}

const batchEvent = (body: unknown, userArn = ORDERS, raw?: string) =>
  anApiEvent({
    method: 'POST',
    path: '/secrets:batchGet',
    resource: '/secrets:batchGet',
    headers: { 'content-type': 'application/json' },
    body: raw ?? JSON.stringify(body),
    userArn,
  })

describe('POST /secrets:batchGet', () => {
  it('authorizes each name on its own and reports denied and unknown names like missing ones', async () => {
    const { d, audit } = deps()
    const res = await withHttpStack(batchGetSecrets, d)(
      batchEvent({ names: ['billing/key', 'orders/db', 'nope', '../x'] }, BILLING),
      aLambdaContext(),
    )
    expect(res.statusCode).toBe(200)
    const results = JSON.parse(res.body).results as { name: string; status: number; problem?: unknown }[]
    expect(results.map((r) => [r.name, r.status])).toEqual([
      ['billing/key', 200],
      ['orders/db', 404],
      ['nope', 404],
      ['../x', 400],
    ])
    expect(results[1]?.problem).toEqual(results[2]?.problem)
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1)
    expect(audit.records).toHaveLength(1)
    expect(audit.records[0]?.items?.map((i) => [i.secretName, i.outcome, i.reason])).toEqual([
      ['billing/key', 'allowed', undefined],
      ['orders/db', 'denied', 'caller-not-allowed'],
      ['nope', 'denied', 'unknown-name'],
      ['../x', 'error', 'invalid-name'],
    ])
  })

  it('audits a batch that served nothing as an error when Secrets Manager failed, as denied when only refused', async () => {
    const { d, audit } = deps()
    sm.on(GetSecretValueCommand).rejects(
      Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: {} }),
    )
    const handler = withHttpStack(batchGetSecrets, d)
    const failed = await handler(batchEvent({ names: ['billing/key', 'nope'] }, BILLING), aLambdaContext())
    const statuses = (JSON.parse(failed.body).results as { status: number }[]).map((r) => r.status)
    expect(statuses).toEqual([503, 404])
    expect(audit.records[0]?.outcome).toBe('error')
    await handler(batchEvent({ names: ['orders/db', 'nope'] }, BILLING), aLambdaContext())
    expect(audit.records[1]?.outcome).toBe('denied')
  })

  it.each([
    ['more than 20 names', { names: Array.from({ length: 21 }, (_, i) => `n${i}`) }],
    ['no names', { names: [] }],
    ['a duplicate name', { names: ['orders/db', 'orders/db'] }],
    ['an extra field', { names: ['orders/db'], stage: 'AWSPENDING' }],
    ['a non-string name', { names: [42] }],
  ])('refuses %s with 400', async (_what, body) => {
    const { d } = deps()
    const res = await withHttpStack(batchGetSecrets, d)(batchEvent(body), aLambdaContext())
    expect(res.statusCode).toBe(400)
    expect(sm.calls()).toHaveLength(0)
  })

  it('refuses a body that is not JSON without quoting it', async () => {
    const { d } = deps()
    const res = await withHttpStack(batchGetSecrets, d)(
      batchEvent(undefined, ORDERS, '{"names": [hunter2-canary'),
      aLambdaContext(),
    )
    expect(res.statusCode).toBe(400)
    expect(res.body).not.toContain('hunter2')
  })

  it('refuses an oversized body with 413', async () => {
    const { d } = deps()
    const res = await withHttpStack(batchGetSecrets, d)(
      batchEvent({ names: ['a'.repeat(17_000)] }),
      aLambdaContext(),
    )
    expect(res.statusCode).toBe(413)
  })
})

describe('GET /secrets, /whoami, /health', () => {
  it('lists only the names the caller may read', async () => {
    const { d } = deps()
    const res = await withHttpStack(listSecrets, d)(
      anApiEvent({ path: '/secrets', resource: '/secrets', userArn: BILLING }),
      aLambdaContext(),
    )
    expect(JSON.parse(res.body)).toEqual({ names: ['billing/key'], patterns: [] })
    expect(res.body).not.toContain('arn:')
  })

  it('tells a caller who it is, session normalised to the role', async () => {
    const { d, audit } = deps()
    const res = await withHttpStack(whoami, d)(
      anApiEvent({
        path: '/whoami',
        resource: '/whoami',
        userArn: 'arn:aws:sts::123456789012:assumed-role/orders-service/task-7',
      }),
      aLambdaContext(),
    )
    expect(JSON.parse(res.body)).toMatchObject({
      principalArn: ORDERS,
      type: 'role',
      sessionName: 'task-7',
      authenticatedBy: 'api-gateway-iam',
    })
    expect(audit.records).toHaveLength(1)
  })

  it('answers health without authentication and names no secret', async () => {
    const { d } = deps()
    const res = await withHttpStack(health, d, { public: true })(
      anApiEvent({ path: '/health', resource: '/health', userArn: null }),
      aLambdaContext(),
    )
    expect(res.statusCode).toBe(200)
    expect(res.body).toBe('{"status":"ok"}')
  })
})

describe('the read path (property)', () => {
  it('never calls Secrets Manager for a name outside the caller’s catalog, and never answers 5xx', async () => {
    const { d } = deps()
    const handler = withHttpStack(getSecret, d)
    const callers = fc.constantFrom(ORDERS, BILLING, 'arn:aws:iam::123456789012:user/stranger')
    let served = 0
    await fc.assert(
      fc.asyncProperty(
        callers,
        fc.oneof(fc.constantFrom('orders/db', 'billing/key'), fc.string({ maxLength: 30 })),
        async (caller, name) => {
          sm.resetHistory()
          const res = await handler(aSecretEvent(name, { userArn: caller }), aLambdaContext())
          const allowed =
            (name === 'orders/db' && caller === ORDERS) ||
            (name === 'billing/key' && caller !== 'arn:aws:iam::123456789012:user/stranger')
          expect(res.statusCode === 200).toBe(allowed)
          expect(res.statusCode).toBeLessThan(500)
          if (!allowed) expect(sm.calls()).toHaveLength(0)
          if (allowed) served += 1
        },
      ),
      { numRuns: 300 },
    )
    expect(served).toBeGreaterThan(0)
    expect(d.cache.size).toBe(2)
  })
})
