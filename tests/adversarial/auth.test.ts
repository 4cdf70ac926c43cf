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
import {
  sendOnWire,
  sendSigned,
  signWithBotocore,
  splitTarget,
  type BotocoreRequest,
  type BotocoreSigned,
} from '../support/botocore-signer'
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

function auditFor(res: Pick<RawResponse, 'headers'>): AuditRecord[] {
  const id = res.headers['x-request-id']
  return readAuditFile(stack.auditFile).filter((r) => r.requestId === id)
}

/** The attack is refused with 401, the body says only "unauthenticated", and one audit record names no one. */
function expectRefused(attack: string, res: Pick<RawResponse, 'status' | 'headers' | 'body'>): void {
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

  it('refuses a signature that does not cover the Host header, a session token on long-term keys, and one for another region', async () => {
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

/**
 * What API Gateway refuses, each signed by botocore (an independent signer) so the signature itself is
 * right and only the rule under test can refuse it. Each group first sends the untouched request (200).
 */
describe('SigV4 mutations API Gateway refuses, over HTTP', () => {
  const PATH = '/secrets/demo/api-key'

  function signed(extra: Partial<BotocoreRequest> = {}): BotocoreSigned {
    const who = billing()
    const [one] = signWithBotocore([
      {
        method: 'GET',
        url: `${stack.apiUrl}${PATH}`,
        form: 'header',
        credentials: {
          accessKeyId: who.accessKeyId,
          secretAccessKey: who.secretAccessKey,
          sessionToken: who.sessionToken,
        },
        ...extra,
      },
    ])
    return one!
  }

  function sendWith(
    s: BotocoreSigned,
    change: { query?: string; headers?: (h: readonly (readonly [string, string])[]) => [string, string][] },
  ) {
    const { path, rawQuery } = splitTarget(s.url)
    const query = [rawQuery, change.query ?? ''].filter((q) => q !== '').join('&')
    return sendOnWire(stack.apiUrl, {
      method: s.method,
      target: query === '' ? path : `${path}?${query}`,
      headers: change.headers === undefined ? s.headers : change.headers(s.headers),
    })
  }

  /** A UTC time string 2 minutes ago, in the exact form and in two that name the same instant. */
  function sameInstantForms(): { exact: string; second60: string; rolledDay: string } {
    const t = new Date(Date.now() - 2 * MINUTE)
    t.setUTCSeconds(0)
    const exact = t
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d{3}/, '')
    const before = new Date(t.getTime() - MINUTE)
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d{3}/, '')
    // hh:mm:00 written as (hh:mm - 1 minute):60
    const second60 = `${before.slice(0, 13)}60Z`
    // the day written as the previous month's last day + n (the 59th to 62nd "day" of that month)
    const prevMonthEnd = new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), 0))
    const rolledDay = `${prevMonthEnd.toISOString().slice(0, 7).replace('-', '')}${prevMonthEnd.getUTCDate() + t.getUTCDate()}${exact.slice(8)}`
    return { exact, second60, rolledDay }
  }

  it('accepts the untouched requests (header form and presigned)', async () => {
    expect((await sendSigned(stack.apiUrl, signed())).status).toBe(200)
    expect((await sendSigned(stack.apiUrl, signed({ form: 'query', expires: 60 }))).status).toBe(200)
    expect((await sendSigned(stack.apiUrl, signed({ timestamp: sameInstantForms().exact }))).status).toBe(200)
  })

  it('refuses query parameters added after signing: X-Amz-Signature, __proto__, any other', async () => {
    const header = signed()
    const sig = /Signature=([0-9a-f]{64})/.exec(header.headers.find(([n]) => n === 'Authorization')![1])![1]!
    expectRefused(
      'X-Amz-Signature added to the query',
      await sendWith(header, { query: `X-Amz-Signature=${sig}` }),
    )
    expectRefused('__proto__ added to the query', await sendWith(header, { query: '__proto__=polluted' }))
    expectRefused(
      'parameter added to the query',
      await sendWith(header, { query: 'versionStage=AWSPENDING' }),
    )
    const presigned = signed({ form: 'query', expires: 60 })
    expectRefused(
      'second X-Amz-Signature on a presigned URL',
      await sendWith(presigned, { query: `X-Amz-Signature=${'0'.repeat(64)}` }),
    )
    expectRefused('__proto__ added to a presigned URL', await sendWith(presigned, { query: '__proto__=x' }))
  })

  /** The signed request with X-Amz-Date (and the credential scope's date) rewritten after signing. */
  function withDateRewritten(s: BotocoreSigned, amzDate: string): BotocoreSigned {
    const old = s.headers.find(([n]) => n === 'X-Amz-Date')?.[1] ?? /X-Amz-Date=(\w+)/.exec(s.url)?.[1] ?? ''
    return {
      ...s,
      url: s.url
        .replace(`X-Amz-Date=${old}`, `X-Amz-Date=${amzDate}`)
        .replace(`%2F${old.slice(0, 8)}%2F`, `%2F${amzDate.slice(0, 8)}%2F`),
      headers: s.headers.map(([n, v]): [string, string] =>
        n === 'X-Amz-Date'
          ? [n, amzDate]
          : n === 'Authorization'
            ? [n, v.replace(`/${old.slice(0, 8)}/`, `/${amzDate.slice(0, 8)}/`)]
            : [n, v],
      ),
    }
  }

  it('refuses X-Amz-Date rewritten after signing into another form of the same instant (second 60, a 59th–62nd day)', async () => {
    const { exact, second60, rolledDay } = sameInstantForms()
    expect(second60).toMatch(/^\d{8}T\d{4}60Z$/)
    expect(Number(rolledDay.slice(6, 8))).toBeGreaterThan(28)
    const header = signed({ timestamp: exact })
    const presigned = signed({ form: 'query', expires: 600, timestamp: exact })
    expectRefused(
      'X-Amz-Date rewritten with second 60',
      await sendSigned(stack.apiUrl, withDateRewritten(header, second60)),
    )
    expectRefused(
      'X-Amz-Date and scope rewritten to a rolled-over day',
      await sendSigned(stack.apiUrl, withDateRewritten(header, rolledDay)),
    )
    expectRefused(
      'presigned X-Amz-Date rewritten with second 60',
      await sendSigned(stack.apiUrl, withDateRewritten(presigned, second60)),
    )
    expectRefused(
      'presigned date rewritten to a rolled-over day',
      await sendSigned(stack.apiUrl, withDateRewritten(presigned, rolledDay)),
    )
  })

  it('refuses a request signed over an inexact X-Amz-Date, even though the signature matches the string', async () => {
    const { second60, rolledDay } = sameInstantForms()
    expectRefused(
      'signed with X-Amz-Date second 60',
      await sendSigned(stack.apiUrl, signed({ timestamp: second60 })),
    )
    expectRefused(
      'signed on a rolled-over day',
      await sendSigned(stack.apiUrl, signed({ timestamp: rolledDay })),
    )
  })

  it.each([
    ['Authorization', 'AWS4-HMAC-SHA256 Credential=x'],
    ['X-Amz-Date', '20200101T000000Z'],
    ['X-Amz-Security-Token', 'another-token'],
    ['Host', 'evil.example.com'],
  ])('refuses a duplicated %s header whose other copy would be ignored', async (name, other) => {
    const s = signed()
    const dup = (first: boolean) => (h: readonly (readonly [string, string])[]) => {
      const out: [string, string][] = []
      for (const [n, v] of h) {
        if (n.toLowerCase() === name.toLowerCase() && first) out.push([name, other])
        out.push([n, v])
        if (n.toLowerCase() === name.toLowerCase() && !first) out.push([name, other])
      }
      return out
    }
    expectRefused(`${name} twice (decoy first)`, await sendWith(s, { headers: dup(true) }))
    expectRefused(`${name} twice (decoy last)`, await sendWith(s, { headers: dup(false) }))
  })

  it("refuses a correctly signed Host that is not the API's own host:port", async () => {
    const port = Number(new URL(stack.apiUrl).port)
    for (const host of [
      'evil.example.com',
      `127.0.0.1:${port + 1}`,
      `localhost:${port === 65535 ? 1 : port + 1}`,
    ]) {
      const s = signed({ headers: [['Host', host]] })
      expect(s.headers.filter(([n]) => n.toLowerCase() === 'host')).toEqual([['Host', host]])
      expectRefused(`signed for host ${host}`, await sendSigned(stack.apiUrl, s))
    }
    const local = signed({ headers: [['Host', `localhost:${port}`]] })
    expect((await sendSigned(stack.apiUrl, local)).status).toBe(200)
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
