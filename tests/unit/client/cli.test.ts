import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { createServer, type AddressInfo } from 'node:net'
import { join } from 'node:path'
import { HELP, runCli } from '../../../packages/client/src/cli'
import { resolveCliTarget } from '../../../packages/client/src/cli-target'
import {
  BILLING_ARN,
  BILLING_KEYS,
  ORDERS_ARN,
  ORDERS_KEYS,
  problem,
  REGION,
  secretReply,
  servedText,
  SESSION_ARN,
  SESSION_KEYS,
  startFakeBroker,
  type FakeBroker,
} from './fake-broker'

const CANARY = 'canary-cli-3b9f1e22'

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo
      srv.close(() => resolve(port))
    })
  })
}

async function waitForListening(stderr: string[]): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr.join(''))
    if (m?.[1] !== undefined) return m[1]
    await new Promise((r) => setTimeout(r, 10))
  }
  throw new Error(`the agent did not start: ${stderr.join('')}`)
}

let broker: FakeBroker
let dir: string

beforeEach(async () => {
  broker = await startFakeBroker()
  dir = mkdtempSync(join(tmpdir(), 'secret-broker-cli-'))
})
afterEach(async () => {
  await broker.close()
  rmSync(dir, { recursive: true, force: true })
})

function writeLocalState(endpoint = broker.url): void {
  mkdirSync(join(dir, '.broker'))
  writeFileSync(
    join(dir, '.broker', 'local.json'),
    JSON.stringify({
      endpoint,
      region: REGION,
      consumers: [
        { name: 'demo-orders', principalArn: ORDERS_ARN, ...ORDERS_KEYS },
        { name: 'demo-billing', principalArn: BILLING_ARN, ...BILLING_KEYS },
        {
          name: 'demo-session',
          principalArn: 'arn:aws:iam::123456789012:role/reporting',
          ...SESSION_KEYS,
          sessionName: 'test-session',
          expiration: new Date(Date.now() + 3_600_000).toISOString(),
        },
      ],
    }),
  )
}

async function run(argv: string[], env: Record<string, string | undefined> = {}, cwd = dir) {
  const out: string[] = []
  const err: string[] = []
  const code = await runCli(argv, { stdout: (t) => out.push(t), stderr: (t) => err.push(t), env, cwd })
  return { code, stdout: out.join(''), stderr: err.join('') }
}

describe('secret-broker CLI', () => {
  it('prints help with --help and exits 0', async () => {
    const res = await run(['--help'])

    expect(res).toEqual({ code: 0, stdout: `${HELP}\n`, stderr: '' })
  })

  it('prints the value of a secret as JSON, signed as the first demo consumer of .broker/local.json', async () => {
    // Arrange
    writeLocalState()
    broker.script(() => secretReply('demo/db', 'v1', { username: 'orders_app', password: CANARY }))

    // Act: from a subfolder, to find the file the way the repo's tools are run
    mkdirSync(join(dir, 'sub'))
    const res = await run(['get', 'demo/db'], {}, join(dir, 'sub'))

    // Assert
    expect(res.code).toBe(0)
    expect(JSON.parse(res.stdout)).toEqual({ username: 'orders_app', password: CANARY })
    expect(broker.requests[0]?.signedBy).toBe(ORDERS_ARN)
    expect(broker.requests[0]?.path).toBe('/secrets/demo/db')
  })

  it('prints one field with --field, a string as is', async () => {
    writeLocalState()
    broker.script(() =>
      secretReply('demo/db', 'v1', { username: 'orders_app', password: CANARY, port: 5432 }),
    )

    const username = await run(['get', 'demo/db', '--field', 'username'])
    const port = await run(['get', 'demo/db', '--field', 'port'])

    expect(username).toEqual({ code: 0, stdout: 'orders_app\n', stderr: '' })
    expect(port.stdout).toBe('5432\n')
  })

  it('fails on a missing field without printing the value', async () => {
    writeLocalState()
    broker.script(() => secretReply('demo/db', 'v1', { username: 'orders_app', password: CANARY }))

    const res = await run(['get', 'demo/db', '--field', 'host'])

    expect(res.code).toBe(1)
    expect(res.stdout).toBe('')
    expect(res.stderr).toContain('no field "host"')
    expect(res.stderr).not.toContain(CANARY)
  })

  it('signs as the consumer named by --consumer', async () => {
    writeLocalState()
    broker.script(() => ({ status: 200, body: { names: ['demo/api-key'] } }))

    const res = await run(['list', '--consumer', 'demo-billing'])

    expect(res).toEqual({ code: 0, stdout: 'demo/api-key\n', stderr: '' })
    expect(broker.requests[0]?.signedBy).toBe(BILLING_ARN)
  })

  it("signs with a role consumer's session token from .broker/local.json", async () => {
    writeLocalState()
    broker.script(() => ({ status: 200, body: { names: ['demo/reporting-db'] } }))

    const res = await run(['list', '--consumer', 'demo-session'])

    expect(res).toEqual({ code: 0, stdout: 'demo/reporting-db\n', stderr: '' })
    expect(broker.requests[0]?.signedBy).toBe(SESSION_ARN)
    expect(broker.requests[0]?.headers['x-amz-security-token']).toBe(SESSION_KEYS.sessionToken)
  })

  it('prints whoami as JSON', async () => {
    writeLocalState()
    const identity = {
      principalArn: ORDERS_ARN,
      accountId: '123456789012',
      type: 'user',
      authenticatedBy: 'sigv4-local',
    }
    broker.script(() => ({ status: 200, body: identity }))

    const res = await run(['whoami'])

    expect(res.code).toBe(0)
    expect(JSON.parse(res.stdout)).toEqual(identity)
  })

  it('reports a problem on stderr with its title and status and exits 1', async () => {
    writeLocalState()
    broker.script(() => problem(404, 'not-found', 'Not Found'))

    const res = await run(['get', 'demo/api-key'])

    expect(res.code).toBe(1)
    expect(res.stdout).toBe('')
    expect(res.stderr).toContain('Not Found (404)')
    expect(res.stderr).toContain('req-not-found')
  })

  it.each([
    [['frobnicate'], 'Unknown command'],
    [['get'], 'exactly one secret name'],
    [['list', '--field', 'x'], '--field only goes with get'],
    [['get', 'demo/db', '--bogus'], 'bogus'],
  ])('exits 2 on the usage error %j', async (argv, message) => {
    writeLocalState()

    const res = await run(argv)

    expect(res.code).toBe(2)
    expect(res.stderr).toContain(message)
    expect(broker.requests).toHaveLength(0)
  })

  it('prints a JSON secret exactly as stored, and a field exactly as stored: a big integer is not rounded', async () => {
    writeLocalState()
    const stored = '{"b": 9007199254740993,\n "a": "x\\u00e9"}'
    broker.script(() => servedText('demo/db', 'v1', '2026-11-01T00:00:00.000Z', stored))

    const whole = await run(['get', 'demo/db'])
    const big = await run(['get', 'demo/db', '--field', 'b'])
    const str = await run(['get', 'demo/db', '--field', 'a'])

    expect(whole.stdout).toBe(`${stored}\n`)
    expect(big.stdout).toBe('9007199254740993\n')
    expect(str.stdout).toBe('xé\n')
  })

  it('says the endpoint is wrong, not that the secret is missing, for a wrong base path', async () => {
    writeLocalState(`${broker.url}/local`)
    broker.script(() => ({
      status: 404,
      body: { statusCode: 404, error: 'Serverless-offline: route not found.' },
    }))

    const whoami = await run(['whoami'])
    const list = await run(['list'])

    for (const res of [whoami, list]) {
      expect(res.code).toBe(1)
      expect(res.stderr).toContain('The endpoint has no such route')
      expect(res.stderr).toContain(`${broker.url}/local is not the broker's base URL`)
      expect(res.stderr).not.toContain('does not exist')
    }
  })

  it.each([
    [['agent', '--port', '80'], '--port must be an integer from 1024 to 65535'],
    [['agent', '--ttl', '3601'], '--ttl must be an integer from 0 to 3600'],
    [['agent', '--max-connections', '0'], '--max-connections must be an integer from 1 to 1000'],
    [['get', 'demo/db', '--port', '2773'], '--port only goes with agent'],
    [['agent', 'extra'], 'agent takes no arguments'],
  ])('exits 2 on the agent usage error %j', async (argv, message) => {
    writeLocalState()

    const res = await run(argv, { AWS_TOKEN: 'tok' })

    expect(res.code).toBe(2)
    expect(res.stderr).toContain(message)
  })

  it('refuses to start the agent without an SSRF token', async () => {
    writeLocalState()

    const res = await run(['agent', '--port', '2773'], {})

    expect(res.code).toBe(1)
    expect(res.stderr).toContain('no SSRF token')
  })

  it('runs the agent until told to stop, signing as the chosen consumer', async () => {
    writeLocalState()
    broker.script(() => secretReply('demo/db', 'v1', { username: 'orders_app', password: CANARY }))
    let stop: () => void = () => undefined
    const stopped = new Promise<void>((resolve) => (stop = resolve))
    const err: string[] = []

    const running = runCli(['agent', '--port', String(await freePort())], {
      stdout: () => undefined,
      stderr: (t) => err.push(t),
      env: { AWS_TOKEN: 'cli-agent-token' },
      cwd: dir,
      untilStopped: () => stopped,
    })
    const url = await waitForListening(err)
    const res = await fetch(`${url}/secretsmanager/get?secretId=demo/db`, {
      headers: { 'X-Aws-Parameters-Secrets-Token': 'cli-agent-token' },
    })
    stop()

    expect(res.status).toBe(200)
    expect(await running).toBe(0)
    expect(broker.requests[0]?.signedBy).toBe(ORDERS_ARN)
    expect(err.join('')).toContain('token from AWS_TOKEN')
    expect(err.join('')).not.toContain('cli-agent-token')
  })

  it('names the consumers it knows when --consumer matches none', async () => {
    writeLocalState()

    const res = await run(['whoami', '--consumer', 'nobody'])

    expect(res.code).toBe(2)
    expect(res.stderr).toContain('known: demo-orders, demo-billing')
  })

  it('asks whether npm start is running when the local endpoint refuses connections', async () => {
    writeLocalState()
    await broker.close()

    const res = await run(['whoami'])

    expect(res.code).toBe(1)
    expect(res.stderr).toContain('The broker could not be reached')
    expect(res.stderr).toContain('is `npm start` still running?')
  })

  it('explains where the endpoint comes from when there is none', async () => {
    const res = await run(['whoami'])

    expect(res.code).toBe(2)
    expect(res.stderr).toContain('SECRET_BROKER_ENDPOINT')
  })
})

describe('resolveCliTarget', () => {
  it('takes the endpoint from the environment and leaves credentials to the AWS chain', () => {
    writeLocalState()

    const target = resolveCliTarget(
      {},
      { SECRET_BROKER_ENDPOINT: 'https://abc.execute-api.eu-central-1.amazonaws.com/prod' },
      dir,
    )

    expect(target).toEqual({
      endpoint: 'https://abc.execute-api.eu-central-1.amazonaws.com/prod',
      region: 'eu-central-1',
      credentials: undefined,
      source: 'environment',
    })
  })

  it('prefers AWS_REGION over the region in the host', () => {
    const target = resolveCliTarget(
      {},
      {
        SECRET_BROKER_ENDPOINT: 'https://abc.execute-api.eu-central-1.amazonaws.com/prod',
        AWS_REGION: 'us-west-2',
      },
      dir,
    )

    expect(target.region).toBe('us-west-2')
  })

  it('uses the local state file, its region over AWS_REGION, without SECRET_BROKER_ENDPOINT', () => {
    writeLocalState('http://127.0.0.1:3000')

    const target = resolveCliTarget({}, { AWS_REGION: 'ap-south-1' }, dir)

    expect(target).toEqual({
      endpoint: 'http://127.0.0.1:3000',
      region: REGION,
      credentials: ORDERS_KEYS,
      source: 'local-state',
    })
  })
})
