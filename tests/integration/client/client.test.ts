import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { startLocalStack, type LocalConsumer, type LocalStack } from '../../../scripts/lib/local-stack'
import {
  createBrokerClient,
  NotFoundError,
  type BrokerClientOptions,
  type FetchLike,
} from '../../../packages/client/src'
import { FakeClock } from '../../support/fake-clock'
import { QUIET_TOOL_ENV } from '../../../scripts/lib/tool-env'

/**
 * The consumer client and its CLI against the real local stack: moto, the local stage's demo secrets and
 * serverless-offline, which verifies SigV4 against the demo consumers' keys.
 */
const REPO_ROOT = join(__dirname, '..', '..', '..')
// serverless-offline starts each function on its first call, which can take seconds on a busy machine.
const COLD_START_MS = 30_000
jest.setTimeout(2 * COLD_START_MS)
const run = promisify(execFile)

interface AuditLine {
  readonly requestId: string
  readonly principal?: string
  readonly route: string
  readonly secretName?: string
  readonly outcome: string
  readonly forceRefresh?: string
}

let stack: LocalStack
let orders: LocalConsumer

beforeAll(async () => {
  stack = await startLocalStack()
  const first = stack.consumers[0]
  if (first === undefined) throw new Error('the local stage declares no demo consumers')
  orders = first
}, 120_000)

afterAll(async () => {
  await stack.stop()
}, 60_000)

function countingFetch(): { fetch: FetchLike; requests: string[] } {
  const requests: string[] = []
  return {
    requests,
    fetch: (input, init) => {
      requests.push(`${init.method ?? 'GET'} ${new URL(input).pathname}`)
      return fetch(input, init)
    },
  }
}

function clientFor(consumer: LocalConsumer, extra: Partial<BrokerClientOptions> = {}) {
  return createBrokerClient({
    endpoint: stack.apiUrl,
    region: stack.region,
    credentials: { accessKeyId: consumer.accessKeyId, secretAccessKey: consumer.secretAccessKey },
    timeoutMs: COLD_START_MS,
    ...extra,
  })
}

function auditLines(): AuditLine[] {
  return readFileSync(stack.auditFile, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as AuditLine)
}

describe('broker client against the local stack', () => {
  it('whoami returns the demo consumer the keys belong to', async () => {
    const who = await clientFor(orders).whoami()

    expect(who.principalArn).toBe(orders.principalArn)
    expect(who.accountId).toBe(orders.principalArn.split(':')[4])
  })

  it('lists what demo-orders may read', async () => {
    const names = await clientFor(orders).listSecrets()

    expect(names).toEqual(expect.arrayContaining(['demo/db', 'demo/reporting-db']))
    expect(names).not.toContain('demo/api-key')
  })

  it('reads demo/db, serves it from memory within the TTL and revalidates it with a 304 after', async () => {
    // Arrange
    const clock = new FakeClock()
    const counter = countingFetch()
    const c = clientFor(orders, { clock, ttlMs: 60_000, fetch: counter.fetch })

    // Act
    const first = await c.getSecret<{ username: string; password: string }>('demo/db')
    const second = await c.getSecret('demo/db')
    const requestsWithinTtl = counter.requests.length
    clock.advance(60_000)
    const third = await c.getSecret('demo/db')

    // Assert
    expect(typeof first.username).toBe('string')
    expect(first.password.length).toBeGreaterThan(0)
    expect(second).toEqual(first)
    expect(requestsWithinTtl).toBe(1)
    expect(third).toEqual(first)
    expect(counter.requests).toEqual(['GET /secrets/demo/db', 'GET /secrets/demo/db'])
    const reads = auditLines().filter(
      (l) => l.secretName === 'demo/db' && l.principal === orders.principalArn,
    )
    expect(reads.map((l) => l.outcome).slice(-2)).toEqual(['allowed', 'not-modified'])
    // A TTL revalidation is not a forced one (fetch would add Cache-Control: no-cache on its own).
    expect(reads.at(-1)?.forceRefresh).toBeUndefined()
  })

  it('refresh forces a revalidation the broker records as a forced refresh', async () => {
    const c = clientFor(orders)
    const before = await c.getSecret('demo/reporting-db')

    const after = await c.refresh('demo/reporting-db')

    expect(after).toEqual(before)
    const last = auditLines()
      .filter((l) => l.secretName === 'demo/reporting-db')
      .at(-1)
    expect(last?.outcome).toBe('not-modified')
    expect(last?.forceRefresh).toBeDefined()
  })

  it('answers NotFound for a secret this consumer may not read', async () => {
    await expect(clientFor(orders).getSecret('demo/api-key')).rejects.toBeInstanceOf(NotFoundError)
  })

  it('batchGet reports each name on its own', async () => {
    const results = await clientFor(orders).batchGet(['demo/db', 'demo/api-key'])

    expect(results.map((r) => [r.name, r.ok, r.status])).toEqual([
      ['demo/db', true, 200],
      ['demo/api-key', false, 404],
    ])
  })

  it(
    'the CLI prints one field of demo/db',
    async () => {
      // Arrange: the expected username, read through the client (never printed)
      const value = await clientFor(orders).getSecret<{ username: string }>('demo/db')
      const env: Record<string, string> = {}
      for (const [k, v] of Object.entries(process.env))
        if (v !== undefined && !k.startsWith('AWS_')) env[k] = v
      Object.assign(env, {
        SECRET_BROKER_ENDPOINT: stack.apiUrl,
        AWS_REGION: stack.region,
        AWS_ACCESS_KEY_ID: orders.accessKeyId,
        AWS_SECRET_ACCESS_KEY: orders.secretAccessKey,
        ...QUIET_TOOL_ENV,
      })

      // Act
      // `npx secret-broker` in this repository: the workspace package's launcher, running its TypeScript source.
      const { stdout } = await run(
        'npx',
        ['--no-install', 'secret-broker', 'get', 'demo/db', '--field', 'username'],
        { cwd: REPO_ROOT, env, timeout: 60_000 },
      )

      // Assert
      expect(stdout).toBe(`${value.username}\n`)
    },
    3 * COLD_START_MS,
  )

  it(
    'the CLI exits non-zero with the problem on stderr for a secret it may not read',
    async () => {
      const env: Record<string, string> = {}
      for (const [k, v] of Object.entries(process.env))
        if (v !== undefined && !k.startsWith('AWS_')) env[k] = v
      Object.assign(env, {
        SECRET_BROKER_ENDPOINT: stack.apiUrl,
        AWS_REGION: stack.region,
        AWS_ACCESS_KEY_ID: orders.accessKeyId,
        AWS_SECRET_ACCESS_KEY: orders.secretAccessKey,
      })

      const failure = await run('npx', ['--no-install', 'secret-broker', 'get', 'demo/api-key'], {
        cwd: REPO_ROOT,
        env,
        timeout: 60_000,
      }).then(
        () => undefined,
        (err: unknown) => err as { code: number; stdout: string; stderr: string },
      )

      expect(failure?.code).toBe(1)
      expect(failure?.stdout).toBe('')
      expect(failure?.stderr).toContain('Not Found (404)')
    },
    3 * COLD_START_MS,
  )
})
