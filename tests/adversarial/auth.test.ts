import { createHash } from 'node:crypto'
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import { mockClient } from 'aws-sdk-client-mock'
import type { AuditRecord } from '../../src/lib/audit'
import { createMemoryAuditSink } from '../../src/lib/audit'
import { createHttpDeps } from '../../src/lib/deps'
import { createMemoryLog } from '../../src/lib/logger'
import { withHttpStack } from '../../src/lib/middleware/http-stack'
import { getSecret } from '../../src/handlers/get-secret'
import { whoami } from '../../src/handlers/whoami'
import { startLocalStack, type LocalStack } from '../../scripts/lib/local-stack'
import { readAuditFile } from '../../scripts/lib/audit-file'
import { aLambdaContext, aSecretEvent, anApiEvent, anHttpConfig } from '../support/builders'
import { FakeClock } from '../support/fake-clock'
import {
  makeCanary,
  rawRequest,
  readIfExists,
  recordFigures,
  scanForCanaries,
  signRaw,
  type RawResponse,
} from './support/adversarial'

jest.mock('../../src/lib/config', () => {
  const actual = jest.requireActual<typeof import('../../src/lib/config')>('../../src/lib/config')
  const { anHttpConfig: cfg } =
    jest.requireActual<typeof import('../support/builders')>('../support/builders')
  return { ...actual, loadHttpConfig: () => cfg() }
})

/**
 * Authentication (T1, T8, T15) over real HTTP: the local stage verifies SigV4 exactly as API Gateway's
 * AWS_IAM would (the same signer, a 5-minute window). Every refused request must still leave exactly one
 * audit record, with no principal. Another account's principal is refused in-process with the `iam` mode,
 * where the identity comes from API Gateway's requestContext.
 */
let stack: LocalStack
const canaries = new Map<string, string>()
const refusedBodies: string[] = []
const refusals: { attack: string; status: number }[] = []

beforeAll(async () => {
  stack = await startLocalStack({
    secretFields: (m) => {
      const canary = makeCanary(`auth-${m.logicalName}`)
      canaries.set(m.logicalName, canary)
      return { canary }
    },
  })
}, 180_000)

afterAll(async () => {
  await stack.stop()
}, 60_000)

const orders = () => stack.consumers[0]!
const billing = () => stack.consumers[1]!
const MINUTE = 60_000

async function send(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<RawResponse> {
  return rawRequest(stack.apiUrl, { method, path, headers, ...(body === undefined ? {} : { body }) })
}

function auditFor(res: RawResponse): AuditRecord[] {
  const id = res.headers['x-request-id']
  return readAuditFile(stack.auditFile).filter((r) => r.requestId === id)
}

/** The attack is refused with 401, the body says only "unauthenticated", and one audit record names no one. */
function expectRefused(attack: string, res: RawResponse): void {
  refusals.push({ attack, status: res.status })
  refusedBodies.push(res.body)
  expect([attack, res.status]).toEqual([attack, 401])
  expect(JSON.parse(res.body)).toMatchObject({
    type: 'https://secret-broker.dev/problems/unauthenticated',
    status: 401,
  })
  const records = auditFor(res)
  expect(records).toHaveLength(1)
  expect(records[0]).toMatchObject({ status: 401, outcome: 'denied', reason: 'unauthenticated' })
  expect(records[0]?.principal).toBeUndefined()
}

describe('SigV4 over HTTP', () => {
  it('refuses an unsigned request', async () => {
    expectRefused('unsigned', await send('GET', '/secrets/demo/db', {}))
  })

  it('refuses a request signed with the wrong secret key', async () => {
    const headers = await signRaw(stack.apiUrl, {
      method: 'GET',
      path: '/secrets/demo/db',
      credentials: { accessKeyId: orders().accessKeyId, secretAccessKey: `${orders().secretAccessKey}x` },
    })
    expectRefused('wrong secret key', await send('GET', '/secrets/demo/db', headers))
  })

  it('refuses an unknown access key', async () => {
    const headers = await signRaw(stack.apiUrl, {
      method: 'GET',
      path: '/secrets/demo/db',
      credentials: { accessKeyId: 'LOCLAAAAAAAAAAAAAAAAAAAA', secretAccessKey: orders().secretAccessKey },
    })
    expectRefused('unknown access key', await send('GET', '/secrets/demo/db', headers))
  })

  it.each([
    ['expired (6 minutes old)', -6 * MINUTE],
    ['from the future (6 minutes ahead)', 6 * MINUTE],
    ['expired (1 day old)', -24 * 60 * MINUTE],
  ])('refuses a signature %s', async (what, skewMs) => {
    const headers = await signRaw(stack.apiUrl, {
      method: 'GET',
      path: '/secrets/demo/db',
      credentials: orders(),
      signingDate: new Date(Date.now() + skewMs),
    })
    expectRefused(what, await send('GET', '/secrets/demo/db', headers))
  })

  it('accepts a signature 4 minutes old (inside the 5-minute window)', async () => {
    const headers = await signRaw(stack.apiUrl, {
      method: 'GET',
      path: '/secrets/demo/db',
      credentials: orders(),
      signingDate: new Date(Date.now() - 4 * MINUTE),
    })
    const res = await send('GET', '/secrets/demo/db', headers)
    expect(res.status).toBe(200)
  })

  it("refuses one consumer's signature carried to another secret (path changed after signing)", async () => {
    // billing signed a request for demo/api-key; the attacker replays its headers against demo/db.
    const headers = await signRaw(stack.apiUrl, {
      method: 'GET',
      path: '/secrets/demo/api-key',
      credentials: billing(),
    })
    expectRefused('signature replayed on another path', await send('GET', '/secrets/demo/db', headers))
  })

  it("refuses another consumer's signature under the attacker's own access key id", async () => {
    const theirs = await signRaw(stack.apiUrl, {
      method: 'GET',
      path: '/secrets/demo/api-key',
      credentials: billing(),
    })
    const forged = {
      ...theirs,
      authorization: (theirs['authorization'] ?? '').replace(billing().accessKeyId, orders().accessKeyId),
    }
    expectRefused('signature under another access key id', await send('GET', '/secrets/demo/api-key', forged))
  })

  it("refuses another consumer's signature with the date moved forward (to stretch the replay window)", async () => {
    const theirs = await signRaw(stack.apiUrl, {
      method: 'GET',
      path: '/secrets/demo/api-key',
      credentials: billing(),
      signingDate: new Date(Date.now() - 6 * MINUTE),
    })
    const now = new Date()
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d{3}/, '')
    expectRefused(
      'replay with a fresh X-Amz-Date',
      await send('GET', '/secrets/demo/api-key', { ...theirs, 'x-amz-date': now }),
    )
  })

  it('refuses a batch whose body was changed after signing', async () => {
    const signedBody = JSON.stringify({ names: ['demo/db'] })
    const headers = await signRaw(stack.apiUrl, {
      method: 'POST',
      path: '/secrets:batchGet',
      credentials: billing(),
      body: signedBody,
      headers: { 'content-type': 'application/json', 'x-amz-content-sha256': sha256Hex(signedBody) },
    })
    expectRefused(
      'body swapped after signing',
      await send('POST', '/secrets:batchGet', headers, JSON.stringify({ names: ['demo/api-key'] })),
    )
  })

  it('refuses a signature that does not cover the Host header, one with a session token, and one for another region', async () => {
    const base = await signRaw(stack.apiUrl, {
      method: 'GET',
      path: '/secrets/demo/db',
      credentials: orders(),
    })
    const noHost = {
      ...base,
      authorization: (base['authorization'] ?? '').replace('SignedHeaders=host;', 'SignedHeaders='),
    }
    expectRefused('host not signed', await send('GET', '/secrets/demo/db', noHost))
    const withToken = await signRaw(stack.apiUrl, {
      method: 'GET',
      path: '/secrets/demo/db',
      credentials: orders(),
      headers: { 'x-amz-security-token': 'FQoGZXIvYXdzE' },
    })
    expectRefused('session token', await send('GET', '/secrets/demo/db', withToken))
    const otherRegion = await signRaw(stack.apiUrl, {
      method: 'GET',
      path: '/secrets/demo/db',
      credentials: orders(),
      region: 'eu-west-1',
    })
    expectRefused('another region', await send('GET', '/secrets/demo/db', otherRegion))
  })

  it('refuses garbage in the Authorization header', async () => {
    for (const authorization of [
      'Bearer abc',
      'AWS4-HMAC-SHA256',
      `AWS4-HMAC-SHA256 Credential=${orders().accessKeyId}/20260101/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature=${'0'.repeat(64)}`,
      'x'.repeat(4000),
    ]) {
      expectRefused(
        `authorization: ${authorization.slice(0, 30)}`,
        await send('GET', '/secrets/demo/db', { authorization, 'x-amz-date': '20260101T000000Z' }),
      )
    }
  })

  it('attributes a verbatim replay inside the window to the original signer only (known limit of SigV4, T8)', async () => {
    // An identical GET re-sent within 5 minutes is accepted, as by API Gateway; it reads only what the signer
    // may read, is audited under the signer's principal, and the attacker still needs TLS to see the answer.
    const headers = await signRaw(stack.apiUrl, {
      method: 'GET',
      path: '/secrets/demo/db',
      credentials: orders(),
    })
    const first = await send('GET', '/secrets/demo/db', headers)
    const replay = await send('GET', '/secrets/demo/db', headers)
    expect([first.status, replay.status]).toEqual([200, 200])
    expect(auditFor(replay)[0]).toMatchObject({ principal: orders().principalArn, secretName: 'demo/db' })
  })
})

describe('AWS_IAM identities, in-process', () => {
  function iamHandler() {
    const audit = createMemoryAuditSink()
    const client = new SecretsManagerClient({ region: 'us-east-1' })
    const sm = mockClient(client)
    const deps = createHttpDeps(anHttpConfig(), {
      clock: new FakeClock(),
      log: createMemoryLog(),
      auditSink: audit,
      secretsManager: client,
    })
    return { audit, sm, get: withHttpStack(getSecret, deps), who: withHttpStack(whoami, deps) }
  }

  it.each([
    ['a role in another account', 'arn:aws:iam::999999999999:role/orders-service'],
    [
      'an assumed-role session in another account',
      'arn:aws:sts::999999999999:assumed-role/orders-service/s1',
    ],
    ['the root user', 'arn:aws:iam::123456789012:root'],
    ['a federated user', 'arn:aws:sts::123456789012:federated-user/bob'],
  ])('refuses %s with 403, no upstream call and an audit record', async (what, userArn) => {
    const { audit, sm, get } = iamHandler()
    const res = await get(aSecretEvent('orders/db', { userArn }), aLambdaContext())
    refusals.push({ attack: what, status: res.statusCode })
    expect(res.statusCode).toBe(403)
    expect(sm.calls()).toHaveLength(0)
    expect(audit.records).toHaveLength(1)
    expect(audit.records[0]).toMatchObject({ status: 403, outcome: 'denied', reason: 'forbidden' })
  })

  it('refuses a request that reached the function without an IAM identity (authorizer misconfigured) with 401 and an audit record', async () => {
    const { audit, sm, who } = iamHandler()
    const res = await who(
      anApiEvent({ path: '/whoami', resource: '/whoami', userArn: null }),
      aLambdaContext(),
    )
    refusals.push({ attack: 'no identity', status: res.statusCode })
    expect(res.statusCode).toBe(401)
    expect(sm.calls()).toHaveLength(0)
    expect(audit.records).toEqual([
      expect.objectContaining({ status: 401, outcome: 'denied', reason: 'unauthenticated' }),
    ])
  })

  it('never takes the identity from a header the client sets', async () => {
    const { audit, get } = iamHandler()
    const res = await get(
      aSecretEvent('orders/db', {
        userArn: 'arn:aws:iam::123456789012:role/nobody',
        headers: {
          'x-amz-user-arn': 'arn:aws:iam::123456789012:role/orders-service',
          'x-forwarded-for': '10.9.9.9',
        },
      }),
      aLambdaContext(),
    )
    expect(res.statusCode).toBe(404)
    expect(audit.records[0]).toMatchObject({
      principal: 'arn:aws:iam::123456789012:role/nobody',
      sourceIp: '10.0.0.7',
    })
  })
})

describe('after the attacks', () => {
  it('leaked no canary into refusal bodies, the audit file or the API log, and records its figures', () => {
    const scan = scanForCanaries([...canaries.values()], {
      'refusal bodies': refusedBodies.join('\n'),
      'audit file': readIfExists(stack.auditFile),
      'serverless-offline log': readIfExists(stack.offlineLog),
    })
    recordFigures('auth', {
      attacks: refusals.length,
      refused: refusals.filter((r) => r.status === 401 || r.status === 403).length,
      byStatus: refusals.reduce<Record<string, number>>(
        (acc, r) => ({ ...acc, [String(r.status)]: (acc[String(r.status)] ?? 0) + 1 }),
        {},
      ),
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

function sha256Hex(s: string): string {
  return createHash('sha256').update(s).digest('hex')
}
