import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { startLocalStack, type LocalConsumer, type LocalStack } from '../../../scripts/lib/local-stack'
import { createBrokerClient } from '../../../packages/client/src'
import {
  sendOnWire,
  sendSigned,
  signWithBotocore,
  splitTarget,
  type BotocoreRequest,
  type WireResponse,
} from '../../support/botocore-signer'

/**
 * The local stage accepts what API Gateway's AWS_IAM accepts, end to end through serverless-offline, with
 * requests signed by botocore (an independent signer): a role caller with temporary credentials, a
 * presigned GET, a repeated header, and a trailing slash the emulator strips before the function runs.
 */
const REPO_ROOT = join(__dirname, '..', '..', '..')
const COLD_START_MS = 30_000
jest.setTimeout(3 * COLD_START_MS)
const run = promisify(execFile)

let stack: LocalStack
let orders: LocalConsumer
let billing: LocalConsumer

beforeAll(async () => {
  stack = await startLocalStack()
  orders = stack.consumers.find((c) => c.name === 'demo-orders') as LocalConsumer
  billing = stack.consumers.find((c) => c.name === 'demo-billing') as LocalConsumer
}, 180_000)

afterAll(async () => {
  await stack.stop()
}, 60_000)

function botocore(
  consumer: LocalConsumer,
  path: string,
  extra: Partial<BotocoreRequest> & { withoutToken?: boolean } = {},
): BotocoreRequest {
  const { withoutToken, ...rest } = extra
  return {
    method: 'GET',
    url: `${stack.apiUrl}${path}`,
    form: 'header',
    credentials: {
      accessKeyId: consumer.accessKeyId,
      secretAccessKey: consumer.secretAccessKey,
      ...(withoutToken === true ? {} : { sessionToken: consumer.sessionToken }),
    },
    ...rest,
  }
}

async function signAndSend(req: BotocoreRequest): Promise<WireResponse> {
  const [signed] = signWithBotocore([req])
  return sendSigned(stack.apiUrl, signed!)
}

describe('temporary credentials for the role consumer', () => {
  it('gives demo-billing (a role) a session as AssumeRole would, and demo-orders (a user) long-term keys', () => {
    expect(billing.principalArn).toMatch(/:role\/demo-billing$/)
    expect(billing.accessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/)
    expect(billing.sessionToken?.length).toBeGreaterThan(100)
    expect(billing.sessionName).toMatch(/^[\w+=,.@-]{2,64}$/)
    const hours = (Date.parse(billing.expiration ?? '') - Date.now()) / 3_600_000
    expect(hours).toBeGreaterThan(11.9)
    expect(hours).toBeLessThanOrEqual(12)
    expect(orders.sessionToken).toBeUndefined()
  })

  it('authenticates a botocore-signed session as its role: whoami shows the session normalised to the role', async () => {
    const res = await signAndSend(botocore(billing, '/whoami'))

    expect(res.status).toBe(200)
    expect(JSON.parse(res.body)).toEqual({
      principalArn: billing.principalArn,
      accountId: '123456789012',
      type: 'role',
      sessionName: billing.sessionName,
      reportedArn: `arn:aws:sts::123456789012:assumed-role/demo-billing/${billing.sessionName}`,
      authenticatedBy: 'local-sigv4',
    })
    const read = await signAndSend(botocore(billing, '/secrets/demo/api-key'))
    expect(read.status).toBe(200)
  })

  it('refuses the session without its token, with a wrong token, and a token on the user keys', async () => {
    const noToken = await signAndSend(botocore(billing, '/whoami', { withoutToken: true }))
    const wrongToken = await signAndSend({
      ...botocore(billing, '/whoami'),
      credentials: {
        accessKeyId: billing.accessKeyId,
        secretAccessKey: billing.secretAccessKey,
        sessionToken: `${billing.sessionToken ?? ''}x`,
      },
    })
    const userWithToken = await signAndSend({
      ...botocore(orders, '/whoami'),
      credentials: { ...botocore(orders, '/whoami').credentials, sessionToken: billing.sessionToken },
    })

    expect([noToken.status, wrongToken.status, userWithToken.status]).toEqual([401, 401, 401])
  })

  it('works through the bundled client and the CLI with the session from .broker/local.json', async () => {
    const client = createBrokerClient({
      endpoint: stack.apiUrl,
      region: stack.region,
      credentials: {
        accessKeyId: billing.accessKeyId,
        secretAccessKey: billing.secretAccessKey,
        sessionToken: billing.sessionToken as string,
      },
      timeoutMs: COLD_START_MS,
    })
    expect(await client.listSecrets()).toEqual(expect.arrayContaining(['demo/api-key', 'demo/reporting-db']))

    // The file `npm start` writes, in a folder of its own.
    const dir = mkdtempSync(join(tmpdir(), 'secret-broker-parity-'))
    try {
      mkdirSync(join(dir, '.broker'))
      writeFileSync(
        join(dir, '.broker', 'local.json'),
        JSON.stringify({ endpoint: stack.apiUrl, region: stack.region, consumers: stack.consumers }),
      )
      const env: Record<string, string> = {}
      for (const [k, v] of Object.entries(process.env))
        if (v !== undefined && !k.startsWith('AWS_') && !k.startsWith('SECRET_BROKER_')) env[k] = v
      const { stdout } = await run(
        process.execPath,
        [
          join(REPO_ROOT, 'packages', 'client', 'bin', 'secret-broker.cjs'),
          'whoami',
          '--consumer',
          'demo-billing',
        ],
        { cwd: dir, env, timeout: 60_000 },
      )
      expect(JSON.parse(stdout)).toMatchObject({
        principalArn: billing.principalArn,
        sessionName: billing.sessionName,
      })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('request forms API Gateway accepts', () => {
  it('serves a presigned GET (botocore SigV4QueryAuth, session token in the query) and refuses it tampered', async () => {
    const [signed] = signWithBotocore([
      botocore(billing, '/secrets/demo/api-key', { form: 'query', expires: 120 }),
    ])
    expect(signed!.url).toContain('X-Amz-Security-Token=')
    expect(signed!.headers.map(([n]) => n.toLowerCase())).toEqual(['host'])

    const res = await sendSigned(stack.apiUrl, signed!)
    expect(res.status).toBe(200)
    expect(JSON.parse(res.body)).toMatchObject({ name: 'demo/api-key' })

    const { path, rawQuery } = splitTarget(signed!.url)
    const tampered = await sendOnWire(stack.apiUrl, {
      method: 'GET',
      target: `${path.replace('api-key', 'reporting-db')}?${rawQuery}`,
      headers: signed!.headers,
    })
    expect(tampered.status).toBe(401)
  })

  it('combines a repeated header as SigV4 does, and refuses its copies reordered', async () => {
    const [signed] = signWithBotocore([
      botocore(orders, '/secrets/demo/db', {
        headers: [
          ['X-Demo-Trace', 'second'],
          ['X-Demo-Trace', '  first   hop '],
          ['x-demo-trace', 'third'],
        ],
      }),
    ])
    expect(signed!.headers.filter(([n]) => n.toLowerCase() === 'x-demo-trace')).toHaveLength(3)
    expect(signed!.headers.find(([n]) => n === 'Authorization')?.[1]).toContain('x-demo-trace')

    const res = await sendSigned(stack.apiUrl, signed!)
    expect(res.status).toBe(200)

    const swapped = signed!.headers.map(([n, v]): [string, string] =>
      n.toLowerCase() === 'x-demo-trace'
        ? [n, v === 'second' ? 'third' : v === 'third' ? 'second' : v]
        : [n, v],
    )
    const reordered = await sendSigned(stack.apiUrl, { ...signed!, headers: swapped })
    expect(reordered.status).toBe(401)
  })

  it.each([
    ['/whoami/', (body: Record<string, unknown>) => expect(body['principalArn']).toBe(orders.principalArn)],
    ['/secrets/', (body: Record<string, unknown>) => expect(body['names']).toContain('demo/db')],
  ])('accepts %s signed with its trailing slash', async (path, check) => {
    const res = await signAndSend(botocore(orders, path))

    expect(res.status).toBe(200)
    check(JSON.parse(res.body) as Record<string, unknown>)
  })
})
