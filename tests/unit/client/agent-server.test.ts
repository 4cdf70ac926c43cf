import { connect, type Socket } from 'node:net'
import { startAgent, type RunningAgent } from '../../../packages/client/src/agent/agent-server'
import { createBrokerClient } from '../../../packages/client/src'
import { FakeClock } from '../../support/fake-clock'
import {
  notModified,
  ORDERS_KEYS,
  problem,
  REGION,
  servedText,
  startFakeBroker,
  type FakeBroker,
} from './fake-broker'

/**
 * The agent in front of a fake broker, through a real client: the Secrets Manager Agent's API, answers
 * and refusals, in the Agent's order and shapes.
 */
const TOKEN = 'ssrf-token-for-tests-7c1d'
const STORED = '{"username":"orders_app","password":"agent-canary-pw","accountId":9007199254740993}'
const CREATED = '2026-11-01T00:00:00.250Z'

let broker: FakeBroker
let agent: RunningAgent
let clock: FakeClock
let logLines: string[]

async function start(maxConnections?: number): Promise<void> {
  const client = createBrokerClient({
    endpoint: broker.url,
    region: REGION,
    credentials: ORDERS_KEYS,
    clock,
    ttlMs: 300_000,
  })
  agent = await startAgent({
    client,
    token: TOKEN,
    port: 0,
    ...(maxConnections === undefined ? {} : { maxConnections }),
    log: (l) => logLines.push(l),
  })
}

beforeEach(async () => {
  broker = await startFakeBroker()
  broker.script(() => servedText('demo/db', 'v1', CREATED, STORED))
  clock = new FakeClock()
  logLines = []
  await start()
})
afterEach(async () => {
  await agent.close()
  await broker.close()
})

function get(path: string, headers: Record<string, string> = { 'X-Aws-Parameters-Secrets-Token': TOKEN }) {
  return fetch(`${agent.url}${path}`, { headers })
}

describe('the agent: answers', () => {
  it('answers GetSecretValue JSON for a broker name, SecretString exactly as stored', async () => {
    const res = await get('/secretsmanager/get?secretId=demo/db')
    const text = await res.text()

    expect(res.status).toBe(200)
    expect(JSON.parse(text)).toEqual({
      ARN: null,
      Name: 'demo/db',
      VersionId: 'v1',
      SecretString: STORED,
      VersionStages: ['AWSCURRENT'],
      CreatedDate: '1793491200.25', // 2026-11-01T00:00:00.250Z in seconds, as the Agent writes it
    })
    // The big integer survives inside SecretString (the consumer's own parser decides what to do with it).
    expect(text).toContain('9007199254740993')
    expect(res.headers.get('cache-control')).toBe('no-store')
  })

  it('answers the path form /v1/<name> and the X-Vault-Token header as the Agent does', async () => {
    const res = await get('/v1/demo/db', { 'X-Vault-Token': TOKEN })

    expect(res.status).toBe(200)
    expect(((await res.json()) as { Name: string }).Name).toBe('demo/db')
  })

  it('serves from its cache within the TTL, then revalidates with If-None-Match', async () => {
    broker.script((_req, i) => (i === 0 ? servedText('demo/db', 'v1', CREATED, STORED) : notModified('v1')))

    await get('/secretsmanager/get?secretId=demo/db')
    await get('/secretsmanager/get?secretId=demo/db')
    clock.advance(300_000)
    const third = await get('/secretsmanager/get?secretId=demo/db')

    expect(third.status).toBe(200)
    expect(broker.requests).toHaveLength(2)
    expect(broker.requests[1]?.headers['if-none-match']).toBe('"v1"')
  })

  it('refreshNow=true forces a revalidation, at most once per 10 s per secret', async () => {
    broker.script((_req, i) => (i === 0 ? servedText('demo/db', 'v1', CREATED, STORED) : notModified('v1')))

    await get('/secretsmanager/get?secretId=demo/db')
    const forced = await get('/secretsmanager/get?secretId=demo/db&refreshNow=true')
    const limited = await get('/secretsmanager/get?secretId=demo/db&refreshNow=TRUE')

    expect([forced.status, limited.status]).toEqual([200, 200])
    expect(broker.requests.map((r) => r.headers['cache-control'])).toEqual(['no-transform', 'no-cache'])
  })

  it("answers a secret the broker will not serve in the Agent's error shape", async () => {
    broker.script(() => problem(404, 'not-found', 'Not Found'))

    const res = await get('/secretsmanager/get?secretId=demo/api-key')

    expect(res.status).toBe(400)
    expect(await res.json()).toEqual({
      __type: 'ResourceNotFoundException',
      message: expect.stringContaining('does not exist') as unknown,
    })
    expect(logLines.join('\n')).toContain('secret "demo/api-key": NotFoundError NOT_FOUND (404)')
  })

  it.each([
    ['/secretsmanager/get', 400, 'missing parameter secretId'],
    ['/secretsmanager/get?secretId=demo/db&foo=1', 400, 'unknown parameter: foo'],
    ['/secretsmanager/get?secretId=demo/db&refreshNow=yes', 400, 'invalid refreshNow value'],
    ['/secretsmanager/other', 404, 'Not found'],
  ])('refuses %s with %d %s, as the Agent does', async (path, status, body) => {
    const res = await get(path)

    expect(res.status).toBe(status)
    expect(await res.text()).toBe(body)
    expect(broker.requests).toHaveLength(0)
  })

  it('serves AWSCURRENT only: another stage or version is not found', async () => {
    const stage = await get('/secretsmanager/get?secretId=demo/db&versionStage=AWSPREVIOUS')
    const current = await get('/secretsmanager/get?secretId=demo/db&versionStage=AWSCURRENT&versionId=v1')
    const version = await get('/secretsmanager/get?secretId=demo/db&versionId=v0')

    expect(stage.status).toBe(400)
    expect(((await stage.json()) as { __type: string }).__type).toBe('ResourceNotFoundException')
    expect(current.status).toBe(200)
    expect(version.status).toBe(400)
  })

  it('answers /ping without a token', async () => {
    const res = await fetch(`${agent.url}/ping`)

    expect(res.status).toBe(200)
    expect(await res.text()).toBe('healthy')
  })
})

describe('the agent: refusals', () => {
  it('refuses a request without the token, or with a wrong one, with 403 Bad Token', async () => {
    const none = await get('/secretsmanager/get?secretId=demo/db', {})
    const wrong = await get('/secretsmanager/get?secretId=demo/db', {
      'X-Aws-Parameters-Secrets-Token': 'nope',
    })
    const prefix = await get('/secretsmanager/get?secretId=demo/db', {
      'X-Aws-Parameters-Secrets-Token': TOKEN.slice(0, -1),
    })

    for (const res of [none, wrong, prefix]) {
      expect(res.status).toBe(403)
      expect(await res.text()).toBe('Bad Token')
    }
    expect(broker.requests).toHaveLength(0)
    expect(logLines.join('\n')).not.toContain(TOKEN)
  })

  it('refuses a forwarded request even with the token', async () => {
    const res = await get('/secretsmanager/get?secretId=demo/db', {
      'X-Aws-Parameters-Secrets-Token': TOKEN,
      'X-Forwarded-For': '203.0.113.7',
    })

    expect(res.status).toBe(400)
    expect(await res.text()).toBe('Forwarded')
    expect(broker.requests).toHaveLength(0)
  })

  it.each(['POST', 'PUT', 'DELETE', 'PATCH'])('refuses %s with 405 even with the token', async (method) => {
    const res = await fetch(`${agent.url}/secretsmanager/get?secretId=demo/db`, {
      method,
      headers: { 'X-Aws-Parameters-Secrets-Token': TOKEN },
    })

    expect(res.status).toBe(405)
    expect(res.headers.get('allow')).toBe('GET')
    expect(broker.requests).toHaveLength(0)
  })

  it('refuses a GET that carries a body, and headers past 16 KiB', async () => {
    const withBody = await rawRequest(
      `GET /secretsmanager/get?secretId=demo/db HTTP/1.1\r\nHost: x\r\nX-Aws-Parameters-Secrets-Token: ${TOKEN}\r\nContent-Length: 5\r\n\r\nhello`,
    )
    const hugeHeader = await rawRequest(
      `GET /ping HTTP/1.1\r\nHost: x\r\nX-Padding: ${'a'.repeat(20_000)}\r\n\r\n`,
    )

    expect(withBody).toMatch(/^HTTP\/1\.1 413 /)
    expect(hugeHeader).toMatch(/^HTTP\/1\.1 431 /)
    expect(broker.requests).toHaveLength(0)
  })

  it('answers 429 on connections past the limit, while /ping keeps a little headroom', async () => {
    await agent.close()
    await start(1)
    const first = await openSocket()
    try {
      const second = await rawRequest(
        `GET /secretsmanager/get?secretId=demo/db HTTP/1.1\r\nHost: x\r\nX-Aws-Parameters-Secrets-Token: ${TOKEN}\r\nConnection: close\r\n\r\n`,
      )
      const ping = await rawRequest('GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')

      expect(second).toMatch(/^HTTP\/1\.1 429 /)
      expect(second).toContain('Connection limit exceeded')
      expect(ping).toMatch(/^HTTP\/1\.1 200 /)
    } finally {
      first.destroy()
    }
  })

  it('listens on 127.0.0.1 only', () => {
    expect(agent.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
  })
})

function openSocket(): Promise<Socket> {
  const { port } = new URL(agent.url)
  return new Promise((resolve, reject) => {
    const s = connect(Number(port), '127.0.0.1', () => resolve(s))
    s.once('error', reject)
  })
}

/** Sends bytes as they are and returns what came back until the agent closes or 1 s passes. */
async function rawRequest(bytes: string): Promise<string> {
  const socket = await openSocket()
  return new Promise((resolve) => {
    let out = ''
    const done = (): void => {
      clearTimeout(timer)
      socket.destroy()
      resolve(out)
    }
    const timer = setTimeout(done, 1_000)
    socket.on('data', (d: Buffer) => (out += d.toString('utf8')))
    socket.on('close', done)
    socket.on('error', done)
    socket.write(bytes)
  })
}
