import {
  AccessDeniedError,
  BrokerClientError,
  createBrokerClient,
  InvalidResponseError,
  NotFoundError,
  UnauthenticatedError,
  WrongEndpointError,
  type BrokerClientOptions,
} from '../../../packages/client/src'
import { FakeClock } from '../../support/fake-clock'
import {
  ORDERS_ARN,
  ORDERS_KEYS,
  problem,
  REGION,
  servedText,
  startFakeBroker,
  type FakeBroker,
} from './fake-broker'

/**
 * The client's guarantees beyond caching: it never goes back to an older version, values reach the caller
 * exactly, a wrong endpoint is told apart from a missing secret and from bad credentials, and a host clock
 * that is off is corrected from the broker's Date header as the AWS SDKs do.
 */
const OLD = { id: 'v-old', created: '2026-11-01T00:00:00.000Z', text: '{"password":"old-pw"}' }
const NEW = { id: 'v-new', created: '2026-11-02T00:00:00.000Z', text: '{"password":"new-pw"}' }

let broker: FakeBroker
let clock: FakeClock
let warnings: { message: string; fields: unknown }[]

beforeEach(() => {
  clock = new FakeClock()
  warnings = []
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
    random: () => 0,
    sleep: () => Promise.resolve(),
    logger: { debug: () => undefined, warn: (message, fields) => warnings.push({ message, fields }) },
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

describe('the client never goes backwards', () => {
  beforeEach(async () => {
    broker = await startFakeBroker()
  })

  it('keeps the version refresh returned when a batch from a stale container answers the older one', async () => {
    // Arrange: refresh gets the rotated version; another broker container still serves the old one
    broker.script((req) =>
      req.method === 'POST'
        ? {
            status: 200,
            body: {
              results: [
                {
                  name: 'demo/db',
                  status: 200,
                  versionId: OLD.id,
                  createdDate: OLD.created,
                  value: { password: 'old-pw' },
                },
              ],
            },
          }
        : servedText('demo/db', NEW.id, NEW.created, NEW.text),
    )
    const c = client()

    // Act
    const refreshed = await c.refresh<{ password: string }>('demo/db')
    const [item] = await c.batchGet<{ password: string }>(['demo/db'])
    const after = await c.getSecretEntry<{ password: string }>('demo/db')

    // Assert
    expect(refreshed.password).toBe('new-pw')
    expect(item).toMatchObject({ ok: true, versionId: NEW.id })
    expect(item?.ok === true ? item.value.password : undefined).toBe('new-pw')
    expect(after.versionId).toBe(NEW.id)
    expect(after.value.password).toBe('new-pw')
  })

  it('keeps its newer version when a TTL revalidation is answered with an older one', async () => {
    broker.script((_req, i) =>
      i === 0
        ? servedText('demo/db', NEW.id, NEW.created, NEW.text)
        : servedText('demo/db', OLD.id, OLD.created, OLD.text, { 'x-broker-cache': 'hit' }),
    )
    const c = client({ ttlMs: 1_000 })
    await c.getSecret('demo/db')
    clock.advance(1_000)

    const value = await c.getSecret<{ password: string }>('demo/db')

    expect(value.password).toBe('new-pw')
    expect(broker.requests[1]?.headers['if-none-match']).toBe(`"${NEW.id}"`)
  })

  it('follows a deliberate roll-back when a forced refresh was answered from Secrets Manager', async () => {
    // A roll-back moves AWSCURRENT to an older version; only the broker's own upstream read can say so.
    broker.script((_req, i) =>
      i === 0
        ? servedText('demo/db', NEW.id, NEW.created, NEW.text)
        : servedText('demo/db', OLD.id, OLD.created, OLD.text, { 'x-broker-cache': 'miss' }),
    )
    const c = client()
    await c.getSecret('demo/db')

    const value = await c.refresh<{ password: string }>('demo/db')

    expect(value.password).toBe('old-pw')
  })

  it('does not follow an older version a rate-limited forced refresh got from the broker cache', async () => {
    broker.script((_req, i) =>
      i === 0
        ? servedText('demo/db', NEW.id, NEW.created, NEW.text)
        : servedText('demo/db', OLD.id, OLD.created, OLD.text, { 'x-broker-cache': 'hit' }),
    )
    const c = client()
    await c.getSecret('demo/db')

    const value = await c.refresh<{ password: string }>('demo/db')

    expect(value.password).toBe('new-pw')
  })
})

describe('values reach the caller exactly', () => {
  beforeEach(async () => {
    broker = await startFakeBroker()
  })

  it('gives an integer above 2^53 as a bigint and the stored text in secretString', async () => {
    const stored = '{"accountId": 9007199254740993, "username": "orders_app"}'
    broker.script(() => servedText('demo/db', 'v1', OLD.created, stored))

    const entry = await client().getSecretEntry<{ accountId: bigint; username: string }>('demo/db')

    expect(entry.value.accountId).toBe(9007199254740993n)
    expect(entry.secretString).toBe(stored)
  })

  it('refuses a secret answer without a value member as an invalid answer', async () => {
    broker.script(() => ({ status: 200, body: { name: 'demo/db', versionId: 'v1' } }))

    const err = await caught(client().getSecret('demo/db'))

    expect(err).toBeInstanceOf(InvalidResponseError)
  })

  it('refuses an answer that breaks the contract, without quoting it', async () => {
    broker.script(() => ({
      status: 200,
      body: { principalArn: ORDERS_ARN, accountId: 123, password: 'pw-x' },
    }))

    const err = await caught(client().whoami())

    expect(err).toBeInstanceOf(InvalidResponseError)
    expect(err.message).not.toContain('pw-x')
  })
})

describe('a wrong endpoint is neither a missing secret nor bad credentials', () => {
  beforeEach(async () => {
    broker = await startFakeBroker()
  })

  it('reports a 404 without the broker problem (a wrong base path) as a wrong endpoint, for every route', async () => {
    // serverless-offline's answer for a path it has no route for
    broker.script(() => ({
      status: 404,
      body: {
        statusCode: 404,
        error: 'Serverless-offline: route not found.',
        currentRoute: 'get - /local/whoami',
      },
    }))
    const c = createBrokerClient({
      endpoint: `${broker.url}/local`,
      region: REGION,
      credentials: ORDERS_KEYS,
    })

    const errors = await Promise.all([
      caught(c.whoami()),
      caught(c.listSecrets()),
      caught(c.getSecret('demo/db')),
    ])

    for (const err of errors) {
      expect(err).toBeInstanceOf(WrongEndpointError)
      expect(err).not.toBeInstanceOf(NotFoundError)
      expect(err.code).toBe('WRONG_ENDPOINT')
    }
    expect(errors[0]?.detail).toContain('GET /local/whoami')
  })

  it("reports API Gateway's MissingAuthenticationTokenException (no such route) as a wrong endpoint", async () => {
    broker.script(() => ({
      status: 403,
      headers: { 'x-amzn-errortype': 'MissingAuthenticationTokenException', 'x-amzn-requestid': 'gw-1' },
      body: { message: 'Missing Authentication Token' },
    }))

    const err = await caught(client().whoami())

    expect(err).toBeInstanceOf(WrongEndpointError)
    expect(err).not.toBeInstanceOf(UnauthenticatedError)
    expect(err.requestId).toBe('gw-1')
  })

  it("reports API Gateway's invalid-token denial as bad credentials and a policy denial as access denied", async () => {
    broker.script((_req, i) => ({
      status: 403,
      headers: { 'x-amzn-errortype': 'AccessDeniedException' },
      body: {
        message:
          i === 0
            ? 'The security token included in the request is invalid.'
            : `User: ${ORDERS_ARN} is not authorized to perform: execute-api:Invoke`,
      },
    }))
    const c = client()

    const token = await caught(c.whoami())
    const policy = await caught(c.whoami())

    expect(token).toBeInstanceOf(UnauthenticatedError)
    expect(policy).toBeInstanceOf(AccessDeniedError)
  })

  it("still reports the broker's own not-found problem as a missing secret", async () => {
    broker.script(() => problem(404, 'not-found', 'Not Found'))

    const err = await caught(client().getSecret('demo/db'))

    expect(err).toBeInstanceOf(NotFoundError)
  })

  it('decides by the problem type, not the status: a 404 with the not-found slug is a missing secret, any other 404 is not', async () => {
    broker.script((_req, i) =>
      i === 0
        ? {
            ...problem(404, 'not-found', 'Not Found'),
            headers: { 'content-type': 'application/problem+json' },
          }
        : {
            status: 404,
            headers: { 'content-type': 'application/problem+json' },
            body: { type: 'about:blank', title: 'Not Found', status: 404 },
          },
    )
    const c = client()

    const broker404 = await caught(c.getSecret('demo/db'))
    const other404 = await caught(c.getSecret('demo/db'))

    expect(broker404).toBeInstanceOf(NotFoundError)
    expect(other404).toBeInstanceOf(WrongEndpointError)
  })
})

describe('clock skew', () => {
  const SEVEN_MINUTES = 7 * 60_000

  it('signs again once with the broker time when a signature is refused with a skewed Date, and remembers it', async () => {
    // Arrange: the broker's clock is 7 minutes ahead of this host's; its verifier allows 5 minutes
    broker = await startFakeBroker({ clockOffsetMs: SEVEN_MINUTES })
    broker.script((req) =>
      typeof req.signedBy === 'string'
        ? { status: 200, body: { names: ['demo/db'] } }
        : problem(401, 'unauthenticated', 'Unauthenticated'),
    )
    const c = client()

    // Act
    const first = await c.listSecrets()
    const second = await c.listSecrets()

    // Assert: the first call took two attempts, the second one (the offset remembered)
    expect(first).toEqual(['demo/db'])
    expect(second).toEqual(['demo/db'])
    expect(broker.requests.map((r) => typeof r.signedBy)).toEqual(['object', 'string', 'string'])
    const amzDate = broker.requests[1]?.headers['x-amz-date'] ?? ''
    const signedAt = Date.parse(
      amzDate.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z'),
    )
    expect(Math.abs(signedAt - (Date.now() + SEVEN_MINUTES))).toBeLessThan(5_000)
    expect(warnings.map((w) => w.message)).toEqual([expect.stringContaining('clock is off')])
  })

  it('does not retry a refused signature when the clocks agree', async () => {
    broker = await startFakeBroker()
    broker.script(() => problem(401, 'unauthenticated', 'Unauthenticated'))

    const err = await caught(client({ credentials: { ...ORDERS_KEYS, secretAccessKey: 'wrong' } }).whoami())

    expect(err).toBeInstanceOf(UnauthenticatedError)
    expect(broker.requests).toHaveLength(1)
  })

  it('signs again only once when the corrected signature is refused too', async () => {
    broker = await startFakeBroker({ clockOffsetMs: SEVEN_MINUTES })
    broker.script(() => problem(401, 'unauthenticated', 'Unauthenticated'))

    const err = await caught(client({ credentials: { ...ORDERS_KEYS, secretAccessKey: 'wrong' } }).whoami())

    expect(err).toBeInstanceOf(UnauthenticatedError)
    expect(broker.requests).toHaveLength(2)
  })
})
