import {
  AccessDeniedError,
  BadRequestError,
  BrokerClientError,
  createBrokerClient,
  InternalServerError,
  InvalidResponseError,
  InvalidSecretNameError,
  NetworkError,
  NotFoundError,
  TimeoutError,
  UnauthenticatedError,
  UnavailableError,
  UpstreamRefusedError,
  type BrokerClientOptions,
} from '../../../packages/client/src'
import { FakeClock } from '../../support/fake-clock'
import {
  BILLING_ARN,
  notModified,
  ORDERS_ARN,
  ORDERS_KEYS,
  problem,
  REGION,
  secretReply,
  startFakeBroker,
  type FakeBroker,
} from './fake-broker'

// A value no message, log line or test output may ever contain.
const CANARY = 'canary-pw-5d1e0c7a'
const DB_VALUE = { username: 'orders_app', password: CANARY }

let broker: FakeBroker
let clock: FakeClock
let sleeps: number[]
let logs: { level: string; message: string; fields: unknown }[]

beforeEach(async () => {
  broker = await startFakeBroker()
  clock = new FakeClock()
  sleeps = []
  logs = []
})
afterEach(async () => {
  await broker.close()
})

function client(overrides: Partial<BrokerClientOptions> = {}) {
  return createBrokerClient({
    endpoint: broker.url,
    region: REGION,
    credentials: ORDERS_KEYS,
    clock,
    random: () => 0.5,
    sleep: (ms) => {
      sleeps.push(ms)
      return Promise.resolve()
    },
    logger: {
      debug: (message, fields) => logs.push({ level: 'debug', message, fields }),
      warn: (message, fields) => logs.push({ level: 'warn', message, fields }),
    },
    ...overrides,
  })
}

async function caught(p: Promise<unknown>): Promise<BrokerClientError> {
  try {
    await p
  } catch (err) {
    if (err instanceof BrokerClientError) return err
    throw err
  }
  throw new Error('expected a rejection')
}

/** Everything an error exposes when printed or serialized, causes included. */
function printed(err: unknown): string {
  const parts: string[] = []
  for (let e: unknown = err; e !== undefined && e !== null; e = (e as { cause?: unknown }).cause) {
    // Own property names bring in message and stack, which JSON.stringify skips on an Error.
    parts.push(JSON.stringify(e, Object.getOwnPropertyNames(e)))
  }
  return parts.join('\n')
}

describe('createBrokerClient: signing', () => {
  it('signs with SigV4 for execute-api over the path as sent, stage prefix included and the name unencoded', async () => {
    // Arrange
    broker.script(() => secretReply('team/a+b=c@d.e_f-g', 'v1', DB_VALUE))
    const c = client({ endpoint: `${broker.url}/prod/` })

    // Act
    await c.getSecret('team/a+b=c@d.e_f-g')

    // Assert
    const [req] = broker.requests
    expect(req?.path).toBe('/prod/secrets/team/a+b=c@d.e_f-g')
    expect(req?.signedBy).toBe(ORDERS_ARN)
    expect(req?.headers['authorization']).toMatch(
      new RegExp(
        `^AWS4-HMAC-SHA256 Credential=${ORDERS_KEYS.accessKeyId}/\\d{8}/${REGION}/execute-api/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$`,
      ),
    )
    expect(req?.headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/)
    expect(req?.headers['x-amz-content-sha256']).toMatch(/^[0-9a-f]{64}$/)
  })

  it('asks a credentials provider for the keys before signing', async () => {
    const provider = jest.fn(() =>
      Promise.resolve({
        accessKeyId: 'AKIDBILLINGTEST00001',
        secretAccessKey: 'billing-secret-key-for-tests',
      }),
    )
    broker.script(() => ({
      status: 200,
      body: { principalArn: BILLING_ARN, accountId: '123456789012', type: 'user', authenticatedBy: 'sigv4' },
    }))

    const who = await client({ credentials: provider }).whoami()

    expect(provider).toHaveBeenCalled()
    expect(broker.requests[0]?.signedBy).toBe(BILLING_ARN)
    expect(who.principalArn).toBe(BILLING_ARN)
  })

  it('signs the batch body so the broker can check its hash', async () => {
    broker.script(() => ({ status: 200, body: { results: [] } }))

    await client().batchGet(['demo/db'])

    const [req] = broker.requests
    expect(req?.method).toBe('POST')
    expect(req?.path).toBe('/batch-get-secrets')
    expect(req?.signedBy).toBe(ORDERS_ARN)
    expect(JSON.parse(req?.body ?? '')).toEqual({ names: ['demo/db'] })
    expect(req?.headers['content-type']).toBe('application/json')
  })

  it.each([
    ['http://broker.internal.example', 'https'],
    ['not a url', 'absolute URL'],
    ['https://broker.example/prod?x=1', 'query'],
  ])('refuses the endpoint %s', (endpoint, why) => {
    expect(() => createBrokerClient({ endpoint, region: REGION, credentials: ORDERS_KEYS })).toThrow(why)
  })
})

describe('getSecret: cache and revalidation', () => {
  it('serves from memory within the TTL without a request', async () => {
    broker.script(() => secretReply('demo/db', 'v1', DB_VALUE))
    const c = client({ ttlMs: 30_000 })

    const first = await c.getSecret('demo/db')
    clock.advance(29_999)
    const second = await c.getSecret('demo/db')

    expect(first).toEqual(DB_VALUE)
    expect(second).toEqual(DB_VALUE)
    expect(broker.requests).toHaveLength(1)
    expect(broker.requests[0]?.headers['if-none-match']).toBeUndefined()
  })

  it('revalidates with If-None-Match after the TTL, keeps the value on 304 and restarts the TTL', async () => {
    broker.script((_req, i) => (i === 0 ? secretReply('demo/db', 'v1', DB_VALUE) : notModified('v1')))
    const c = client({ ttlMs: 30_000 })
    await c.getSecret('demo/db')

    clock.advance(30_000)
    const revalidated = await c.getSecret('demo/db')
    clock.advance(29_999)
    await c.getSecret('demo/db')

    expect(revalidated).toEqual(DB_VALUE)
    expect(broker.requests).toHaveLength(2)
    expect(broker.requests[1]?.headers['if-none-match']).toBe('"v1"')
    expect(broker.requests[1]?.headers['cache-control']).toBe('no-transform')
  })

  it('takes the new version when the revalidation answers 200', async () => {
    broker.script((_req, i) =>
      i === 0
        ? secretReply('demo/db', 'v1', DB_VALUE)
        : secretReply('demo/db', 'v2', { ...DB_VALUE, password: 'rotated' }),
    )
    const c = client({ ttlMs: 1_000 })
    await c.getSecret('demo/db')

    clock.advance(1_000)
    const entry = await c.getSecretEntry<typeof DB_VALUE>('demo/db')

    expect(entry.versionId).toBe('v2')
    expect(entry.value.password).toBe('rotated')
  })

  it('shares one request among concurrent calls for a name', async () => {
    broker.script(() => ({ ...secretReply('demo/db', 'v1', DB_VALUE), delayMs: 50 }))
    const c = client()

    const values = await Promise.all([1, 2, 3, 4, 5].map(() => c.getSecret('demo/db')))

    expect(values).toEqual(Array(5).fill(DB_VALUE))
    expect(broker.requests).toHaveLength(1)
  })

  it('does not share a request between different names', async () => {
    broker.script((req) => secretReply(req.path.slice('/secrets/'.length), 'v1', 'x'))
    const c = client()

    await Promise.all([c.getSecret('a'), c.getSecret('b')])

    expect(broker.requests.map((r) => r.path).sort()).toEqual(['/secrets/a', '/secrets/b'])
  })

  it('forgets the value when the secret answers 404 and does not cache the failure', async () => {
    broker.script((_req, i) =>
      i === 0 ? secretReply('demo/db', 'v1', DB_VALUE) : problem(404, 'not-found', 'Not Found'),
    )
    const c = client({ ttlMs: 1_000 })
    await c.getSecret('demo/db')
    clock.advance(1_000)

    await expect(c.getSecret('demo/db')).rejects.toBeInstanceOf(NotFoundError)
    await expect(c.getSecret('demo/db')).rejects.toBeInstanceOf(NotFoundError)

    expect(broker.requests).toHaveLength(3)
    expect(broker.requests[2]?.headers['if-none-match']).toBeUndefined()
  })

  it('refuses an invalid name before sending anything', async () => {
    const c = client()

    const errors = await Promise.all(
      ['', '../etc', 'a//b', 'a b', 'arn:aws:secretsmanager:x'].map((n) => caught(c.getSecret(n))),
    )

    for (const err of errors) expect(err).toBeInstanceOf(InvalidSecretNameError)
    expect(errors[0]).toBeInstanceOf(BadRequestError)
    expect(broker.requests).toHaveLength(0)
  })

  it('returns a binary secret as base64 and says so', async () => {
    broker.script(() => ({
      status: 200,
      body: { name: 'bin', versionId: 'v1', value: 'AAEC', valueEncoding: 'base64' },
    }))

    const entry = await client().getSecretEntry('bin')

    expect(entry).toMatchObject({ value: 'AAEC', valueEncoding: 'base64', createdDate: undefined })
  })
})

describe('refresh', () => {
  it('forces a revalidation with Cache-Control: no-cache and If-None-Match', async () => {
    broker.script((_req, i) =>
      i === 0
        ? secretReply('demo/db', 'v1', DB_VALUE)
        : secretReply('demo/db', 'v2', { ...DB_VALUE, password: 'rotated' }),
    )
    const c = client()
    await c.getSecret('demo/db')

    const fresh = await c.refresh<typeof DB_VALUE>('demo/db')

    expect(fresh.password).toBe('rotated')
    expect(broker.requests[1]?.headers['cache-control']).toBe('no-cache')
    expect(broker.requests[1]?.headers['if-none-match']).toBe('"v1"')
  })

  it('answers from memory without a request within the rate limit, and forces again after it', async () => {
    broker.script((_req, i) => (i === 0 ? secretReply('demo/db', 'v1', DB_VALUE) : notModified('v1')))
    const c = client({ refreshMinIntervalMs: 10_000 })
    await c.refresh('demo/db')

    clock.advance(9_999)
    const limited = await c.refresh('demo/db')
    const requestsWithinLimit = broker.requests.length
    clock.advance(1)
    await c.refresh('demo/db')

    expect(limited).toEqual(DB_VALUE)
    expect(requestsWithinLimit).toBe(1)
    expect(broker.requests).toHaveLength(2)
    expect(broker.requests.map((r) => r.headers['cache-control'])).toEqual(['no-cache', 'no-cache'])
  })

  it('rate-limits each name on its own', async () => {
    broker.script((req) => secretReply(req.path.slice('/secrets/'.length), 'v1', 'x'))
    const c = client()

    await c.refresh('a')
    await c.refresh('b')
    await c.refresh('a')

    expect(broker.requests.map((r) => r.path)).toEqual(['/secrets/a', '/secrets/b'])
  })

  it('shares a forced revalidation with concurrent plain calls', async () => {
    broker.script(() => ({ ...secretReply('demo/db', 'v1', DB_VALUE), delayMs: 50 }))
    const c = client()

    await Promise.all([c.refresh('demo/db'), c.getSecret('demo/db'), c.refresh('demo/db')])

    expect(broker.requests).toHaveLength(1)
    expect(broker.requests[0]?.headers['cache-control']).toBe('no-cache')
  })
})

describe('errors', () => {
  it.each([
    [problem(400, 'bad-request', 'Bad Request'), BadRequestError, 'BAD_REQUEST'],
    [problem(401, 'unauthenticated', 'Unauthenticated'), UnauthenticatedError, 'UNAUTHENTICATED'],
    [problem(403, 'access-denied', 'Forbidden'), AccessDeniedError, 'ACCESS_DENIED'],
    [problem(404, 'not-found', 'Not Found'), NotFoundError, 'NOT_FOUND'],
    [problem(500, 'internal', 'Internal Server Error'), InternalServerError, 'INTERNAL'],
  ] as const)('types a %#: problem document and never retries it', async (reply, type, code) => {
    broker.script(() => reply)

    const err = await caught(client().getSecret('demo/db'))

    expect(err).toBeInstanceOf(type)
    expect(err).toMatchObject({ code, status: reply.status, requestId: reply.headers?.['x-request-id'] })
    expect(err.type).toMatch(/^https:\/\/secret-broker\.dev\/problems\//)
    expect(err.message).toContain(`(${reply.status})`)
    expect(broker.requests).toHaveLength(1)
    expect(sleeps).toEqual([])
  })

  it("types API Gateway's signature failures as unauthenticated and its policy denials as access denied", async () => {
    broker.script((_req, i) =>
      i === 0
        ? {
            status: 403,
            headers: {
              'x-amzn-errortype': 'InvalidSignatureException:http://internal.amazon.com/',
              'x-amzn-requestid': 'apigw-1',
            },
            body: { message: 'The request signature we calculated does not match' },
          }
        : {
            status: 403,
            headers: { 'x-amzn-errortype': 'AccessDeniedException' },
            body: { message: 'User is not authorized to perform: execute-api:Invoke' },
          },
    )
    const c = client()

    const signature = await caught(c.whoami())
    const policy = await caught(c.whoami())

    expect(signature).toBeInstanceOf(UnauthenticatedError)
    expect(signature.requestId).toBe('apigw-1')
    expect(policy).toBeInstanceOf(AccessDeniedError)
    expect(policy.detail).toContain('not authorized')
  })

  it('never quotes a body it cannot parse', async () => {
    broker.script(() => ({
      status: 200,
      headers: { 'content-type': 'application/json' },
      rawBody: `{"value": {"password": "${CANARY}"`,
    }))

    const err = await caught(client().getSecret('demo/db'))

    expect(err).toBeInstanceOf(InvalidResponseError)
    expect(err.message).toContain('not JSON')
    expect(printed(err)).not.toContain(CANARY)
  })

  it('never quotes a non-problem error body', async () => {
    broker.script(() => ({
      status: 500,
      headers: { 'content-type': 'text/html' },
      rawBody: `<pre>${CANARY}</pre>`,
    }))

    const err = await caught(client().getSecret('demo/db'))

    expect(err).toBeInstanceOf(InternalServerError)
    expect(err.title).toBe('Internal Server Error')
    expect(printed(err)).not.toContain(CANARY)
  })

  it('refuses a 200 of the wrong shape', async () => {
    broker.script(() => ({ status: 200, body: { names: 'not-a-list', password: CANARY } }))

    const err = await caught(client().listSecrets())

    expect(err).toBeInstanceOf(InvalidResponseError)
    expect(printed(err)).not.toContain(CANARY)
  })
})

describe('retries and timeouts', () => {
  it('retries a 503 after its Retry-After plus jitter, then succeeds', async () => {
    broker.script((_req, i) =>
      i === 0
        ? problem(503, 'upstream-unavailable', 'Service Unavailable', { 'retry-after': '1' })
        : secretReply('demo/db', 'v1', DB_VALUE),
    )

    const value = await client().getSecret('demo/db')

    expect(value).toEqual(DB_VALUE)
    expect(broker.requests).toHaveLength(2)
    expect(sleeps).toEqual([1_000 + 50])
  })

  it('gives a Retry-After longer than the cap back to the caller at once', async () => {
    broker.script(() => problem(503, 'audit-unavailable', 'Service Unavailable', { 'retry-after': '60' }))

    const err = await caught(client({ maxRetryAfterMs: 5_000 }).getSecret('demo/db'))

    expect(err).toBeInstanceOf(UnavailableError)
    expect(err instanceof UnavailableError ? err.retryAfterSeconds : undefined).toBe(60)
    expect(broker.requests).toHaveLength(1)
  })

  it('retries 502 a bounded number of times with full-jitter backoff', async () => {
    broker.script(() => problem(502, 'upstream-refused', 'Bad Gateway'))
    const draws = [0.9, 0.25, 0.6]
    const c = client({
      maxRetries: 3,
      retryBaseDelayMs: 100,
      retryMaxDelayMs: 300,
      random: () => draws.shift() ?? 0,
    })

    const err = await caught(c.getSecret('demo/db'))

    expect(err).toBeInstanceOf(UpstreamRefusedError)
    expect(broker.requests).toHaveLength(4)
    // random · min(cap, base · 2^(n-1)): 0.9·100, 0.25·200, 0.6·min(300, 400)
    expect(sleeps).toEqual([90, 50, 180])
  })

  it('retries a 504 from a gateway without a problem body', async () => {
    broker.script((_req, i) =>
      i === 0
        ? { status: 504, body: { message: 'Endpoint request timed out' } }
        : secretReply('demo/db', 'v1', DB_VALUE),
    )

    await expect(client().getSecret('demo/db')).resolves.toEqual(DB_VALUE)
    expect(broker.requests).toHaveLength(2)
  })

  it('retries a dropped connection and reports a network error when it keeps failing', async () => {
    broker.script(() => ({ destroy: true }))

    const err = await caught(client({ maxRetries: 2 }).whoami())

    expect(err).toBeInstanceOf(NetworkError)
    expect(err.status).toBe(0)
    expect(broker.requests).toHaveLength(3)
    expect(sleeps).toHaveLength(2)
  })

  it('reports a refused connection as a network error', async () => {
    const url = broker.url
    await broker.close()

    const err = await caught(
      createBrokerClient({ endpoint: url, region: REGION, credentials: ORDERS_KEYS, maxRetries: 0 }).whoami(),
    )

    expect(err).toBeInstanceOf(NetworkError)
    expect(err.detail).toBe('ECONNREFUSED')
  })

  it('gives up on a slow answer after timeoutMs per attempt', async () => {
    broker.script(() => ({ ...secretReply('demo/db', 'v1', DB_VALUE), delayMs: 2_000 }))
    const started = Date.now()

    const err = await caught(client({ timeoutMs: 100, maxRetries: 1 }).getSecret('demo/db'))

    expect(err).toBeInstanceOf(TimeoutError)
    expect(err).toBeInstanceOf(NetworkError)
    expect(err.message).toContain('100 ms')
    expect(broker.requests).toHaveLength(2)
    expect(Date.now() - started).toBeLessThan(1_500)
  })

  it('logs retries without a value, a body or a signature', async () => {
    broker.script((_req, i) =>
      i === 0
        ? problem(503, 'upstream-unavailable', 'Service Unavailable', { 'retry-after': '0' })
        : secretReply('demo/db', 'v1', DB_VALUE),
    )

    await client().getSecret('demo/db')

    expect(logs).toHaveLength(1)
    expect(logs[0]).toMatchObject({
      level: 'warn',
      fields: { route: '/secrets/{name}', status: 503, retry: 1 },
    })
    const all = JSON.stringify(logs)
    expect(all).not.toContain(CANARY)
    expect(all).not.toContain('AWS4-HMAC-SHA256')
  })
})

describe('whoami, listSecrets, batchGet', () => {
  it('lists the names the caller may read', async () => {
    broker.script(() => ({ status: 200, body: { names: ['demo/db', 'demo/reporting-db'] } }))

    await expect(client().listSecrets()).resolves.toEqual(['demo/db', 'demo/reporting-db'])
    expect(broker.requests[0]?.path).toBe('/secrets')
  })

  it('types each failed batch item and caches each success', async () => {
    broker.script((req) =>
      req.method === 'POST'
        ? {
            status: 200,
            headers: { 'x-request-id': 'req-batch' },
            body: {
              results: [
                {
                  name: 'demo/db',
                  status: 200,
                  versionId: 'v1',
                  createdDate: '2026-11-01T00:00:00.000Z',
                  value: DB_VALUE,
                  cache: 'miss',
                },
                {
                  name: 'demo/api-key',
                  status: 404,
                  problem: {
                    type: 'https://secret-broker.dev/problems/not-found',
                    title: 'Not Found',
                    status: 404,
                  },
                },
              ],
            },
          }
        : problem(500, 'internal', 'Internal Server Error'),
    )
    const c = client()

    const [ok, missing] = await c.batchGet(['demo/db', 'demo/api-key'])
    const cached = await c.getSecret('demo/db')

    expect(ok).toMatchObject({ ok: true, name: 'demo/db', versionId: 'v1', value: DB_VALUE, cache: 'miss' })
    expect(missing?.ok).toBe(false)
    expect(missing?.ok === false ? missing.error : undefined).toBeInstanceOf(NotFoundError)
    expect(missing?.ok === false ? missing.error.requestId : undefined).toBe('req-batch')
    expect(cached).toEqual(DB_VALUE)
    expect(broker.requests).toHaveLength(1)
  })
})
