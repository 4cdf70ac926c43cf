import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { promisify } from 'node:util'
import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager'
import { installPackedClient, npmEnv, type InstalledClient } from '../../../scripts/lib/client-package'
import { startLocalStack, type LocalConsumer, type LocalStack } from '../../../scripts/lib/local-stack'
import { MOTO_CREDENTIALS } from '../../../scripts/lib/moto'
import { freePort, waitFor } from '../../../scripts/lib/ports'
import { startProcess, type Started } from '../../../scripts/lib/processes'
import { QUIET_TOOL_ENV } from '../../../scripts/lib/tool-env'

/**
 * The client as a service gets it: packed with `npm pack`, installed from the tarball into a project in the
 * OS temp folder (outside the repository: no tsx, no TypeScript sources, no repository node_modules), and
 * used against the local stack by an ES module consumer, a CommonJS consumer whose clock is 7 minutes off,
 * the CLI through npx, and the agent, read by an unmodified Agent-style Python program and by the curl call
 * of the Secrets Manager Agent's documentation.
 */
const CONSUMERS = join(__dirname, 'consumers')
const COLD_START_MS = 30_000
jest.setTimeout(4 * COLD_START_MS)
const run = promisify(execFile)

/** A rotated value: a new version whose text JSON.parse could not round-trip (big integer, spacing, order). */
const rotatedText = (username: string, password: string): string =>
  `{"username": "${username}", "password": "${password}",\n "accountId": 9007199254740993}`

let stack: LocalStack
let pkg: InstalledClient
let orders: LocalConsumer
let sm: SecretsManagerClient

beforeAll(async () => {
  ;[stack, pkg] = await Promise.all([
    // The broker revalidates every read and never rate-limits a forced one, so each answer is what
    // Secrets Manager holds at that moment: the rotations below are seen at once, as the tests expect.
    startLocalStack({ paramOverrides: { cacheTtlSeconds: 0, forceRefreshMinIntervalSeconds: 0 } }),
    installPackedClient(),
  ])
  const first = stack.consumers[0]
  if (first === undefined) throw new Error('the local stage declares no demo consumers')
  orders = first
  sm = new SecretsManagerClient({
    region: stack.region,
    endpoint: stack.motoEndpoint,
    credentials: MOTO_CREDENTIALS,
  })
  for (const f of readdirSync(CONSUMERS)) copyFileSync(join(CONSUMERS, f), join(pkg.projectDir, f))
}, 300_000)

afterAll(async () => {
  // Each may be missing when beforeAll failed half-way; what did start is stopped.
  sm?.destroy()
  await stack?.stop()
  pkg?.remove()
}, 60_000)

/** What a service on this host has: the broker's endpoint and region, and AWS credentials in the environment. */
function serviceEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(npmEnv())) if (!k.startsWith('AWS_')) env[k] = v
  return {
    ...env,
    ...QUIET_TOOL_ENV,
    SECRET_BROKER_ENDPOINT: stack.apiUrl,
    AWS_REGION: stack.region,
    AWS_ACCESS_KEY_ID: orders.accessKeyId,
    AWS_SECRET_ACCESS_KEY: orders.secretAccessKey,
    ...extra,
  }
}

async function rotate(logicalName: string): Promise<string> {
  const secretId = stack.secretNames.get(logicalName) as string
  const current = await sm.send(new GetSecretValueCommand({ SecretId: secretId }))
  const { username } = JSON.parse(current.SecretString ?? '{}') as { username: string }
  const text = rotatedText(username, `rotated-${Math.random().toString(36).slice(2)}`)
  await sm.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: text }))
  return text
}

async function currentText(logicalName: string): Promise<{ versionId: string; sha256: string }> {
  const out = await sm.send(new GetSecretValueCommand({ SecretId: stack.secretNames.get(logicalName) }))
  return { versionId: out.VersionId as string, sha256: sha256(out.SecretString as string) }
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex')

/** A consumer process whose stdout is JSON lines; `next()` resolves with the next one. */
function startConsumer(args: string[]): {
  child: ChildProcess
  next: () => Promise<Record<string, unknown>>
  stderr: () => string
} {
  const child = spawn(process.execPath, args, { cwd: pkg.projectDir, env: serviceEnv(), stdio: 'pipe' })
  let err = ''
  child.stderr.on('data', (d: Buffer) => (err += d.toString()))
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]()
  return {
    child,
    stderr: () => err,
    next: async () => {
      const line = await lines.next()
      if (line.done === true) throw new Error(`the consumer ended early: ${err}`)
      return JSON.parse(line.value) as Record<string, unknown>
    },
  }
}

describe('the packed client, installed in a project outside the repository', () => {
  it('ships built JavaScript for ES modules and CommonJS with declarations, and depends only on the signer and the credential chain', () => {
    const manifest = JSON.parse(readFileSync(join(pkg.packageDir, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>
    }

    expect(readdirSync(join(pkg.packageDir, 'dist')).sort()).toEqual([
      'cli.js',
      'index.d.mts',
      'index.d.ts',
      'index.js',
      'index.mjs',
    ])
    expect(existsSync(join(pkg.packageDir, 'src'))).toBe(false)
    expect(Object.keys(manifest.dependencies).sort()).toEqual([
      '@aws-sdk/credential-provider-node',
      '@smithy/signature-v4',
    ])
    for (const absent of ['tsx', 'typescript', 'zod', 'jsonc-parser'])
      expect(existsSync(join(pkg.projectDir, 'node_modules', absent))).toBe(false)
    expect(readFileSync(join(pkg.packageDir, 'dist', 'index.d.ts'), 'utf8')).not.toMatch(/from ['"]zod/)
  })

  it.each([
    ['an ES module consumer', ['esm-consumer.mjs', 'demo/db'], [200, 304]],
    [
      'a CommonJS consumer with its clock 7 minutes behind',
      ['--require', './skewed-clock.cjs', 'cjs-consumer.cjs', 'demo/reporting-db'],
      // whoami: refused, signed again with the broker's time (remembered after); then a read and a 304
      [401, 200, 200, 304],
    ],
  ])(
    '%s reads, revalidates with a 304, refreshes after a rotation, and gets typed errors',
    async (_label, args, readStatuses) => {
      // Arrange
      const name = args.at(-1) as string
      const consumer = startConsumer(args)

      // Act + Assert, step by step
      const read = await consumer.next()
      expect(read).toMatchObject({ step: 'read', sameVersion: true, statuses: readStatuses })
      expect(typeof read['username']).toBe('string')
      if (name === 'demo/reporting-db') {
        expect(read['principalArn']).toBe(orders.principalArn)
        expect(read['clockWarnings']).toBe(1)
      }

      const text = await rotate(name)
      consumer.child.stdin?.write('rotated\n')
      const refreshed = await consumer.next()
      expect(refreshed).toMatchObject({
        step: 'refreshed',
        accountIdType: 'bigint',
        accountId: '9007199254740993',
        statuses: [200],
      })
      expect(refreshed['versionId']).not.toBe(read['versionId'])
      expect(sha256(refreshed['secretString'] as string)).toBe(sha256(text))

      const errors = await consumer.next()
      expect(errors).toEqual({
        step: 'errors',
        notReadable: ['NotFoundError', true, true, 'NOT_FOUND'],
        wrongBasePath: ['WrongEndpointError', true, 'WRONG_ENDPOINT'],
      })
      const code = await new Promise((resolve) => consumer.child.once('exit', resolve))
      expect(code).toBe(0)
    },
  )

  it('npx secret-broker get runs from the installed package, with no TypeScript tooling', async () => {
    const expected = await currentText('demo/db')

    const field = await run(
      'npx',
      ['--no-install', 'secret-broker', 'get', 'demo/db', '--field', 'username'],
      {
        cwd: pkg.projectDir,
        env: serviceEnv(),
        timeout: 90_000,
      },
    )
    const whole = await run('npx', ['--no-install', 'secret-broker', 'get', 'demo/db'], {
      cwd: pkg.projectDir,
      env: serviceEnv(),
      timeout: 90_000,
    })

    expect(field.stdout.trim()).toMatch(/^[a-z_]+$/)
    // The whole value exactly as Secrets Manager holds it (compared by digest: never printed).
    expect(sha256(whole.stdout.slice(0, -1))).toBe(expected.sha256)
  })
})

describe('the agent, from the installed package, in front of the local stack', () => {
  let agent: Started
  let agentUrl: string
  let port: number
  let tokenFile: string
  const token = `agent-token-${Math.random().toString(36).slice(2)}`

  beforeAll(async () => {
    // A value with a big integer, whatever ran before; the agent starts with nothing cached.
    await rotate('demo/db')
    tokenFile = join(pkg.projectDir, 'awssmatoken')
    writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 })
    port = await freePort()
    agent = startProcess(process.execPath, [pkg.bin, 'agent', '--port', String(port)], {
      cwd: pkg.projectDir,
      env: serviceEnv({ AWS_TOKEN: `file://${tokenFile}` }),
      logFile: join(pkg.projectDir, 'agent.log'),
    })
    agentUrl = `http://127.0.0.1:${port}`
    await waitFor(async () => (await fetch(`${agentUrl}/ping`)).status === 200, {
      timeoutMs: 30_000,
      what: `the agent on ${agentUrl} (log: ${agent.logFile})`,
      abortIf: () => (agent.child.exitCode === null ? undefined : `it exited with ${agent.child.exitCode}`),
    })
  }, 60_000)

  afterAll(async () => {
    await agent?.stop()
  })

  const withToken = { 'X-Aws-Parameters-Secrets-Token': token }

  it('serves an unmodified Python program that reads secrets the Agent way (urllib, the token header)', async () => {
    const expected = await currentText('demo/db')

    const { stdout } = await run('python3', ['agent-reader.py', 'demo/db'], {
      cwd: pkg.projectDir,
      env: {
        ...serviceEnv(),
        PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: String(port),
        AWS_TOKEN_FILE: tokenFile,
      },
      timeout: 90_000,
    })

    const out = JSON.parse(stdout) as Record<string, unknown>
    expect(out).toMatchObject({ name: 'demo/db', versionId: expected.versionId, stages: ['AWSCURRENT'] })
    expect(typeof out['username']).toBe('string')
    // Python's json reads the big integer exactly; JSON.parse here would not, so look at the text itself.
    expect(stdout).toContain('"accountId": 9007199254740993')
  })

  it("answers the curl call of the Secrets Manager Agent's documentation", async () => {
    const expected = await currentText('demo/db')
    // From the Agent's README, with this test's token file and port.
    const documented = `curl -v -H \\
    "X-Aws-Parameters-Secrets-Token: $(<${tokenFile})" \\
    'http://localhost:${port}/secretsmanager/get?secretId=demo/db'; \\
    echo`

    const { stdout } = await run('bash', ['-c', documented], { timeout: 60_000 })

    const answer = JSON.parse(stdout) as { Name: string; VersionId: string; SecretString: string }
    expect(answer.Name).toBe('demo/db')
    expect(answer.VersionId).toBe(expected.versionId)
    expect(sha256(answer.SecretString)).toBe(expected.sha256)
  })

  it('serves its cached version until refreshNow=true asks the broker again after a rotation', async () => {
    const before = await currentText('demo/db')
    await fetch(`${agentUrl}/secretsmanager/get?secretId=demo/db`, { headers: withToken })
    await rotate('demo/db')
    const after = await currentText('demo/db')

    const cached = await fetch(`${agentUrl}/secretsmanager/get?secretId=demo/db`, { headers: withToken })
    const refreshed = await fetch(`${agentUrl}/secretsmanager/get?secretId=demo/db&refreshNow=true`, {
      headers: withToken,
    })

    expect(((await cached.json()) as { VersionId: string }).VersionId).toBe(before.versionId)
    expect(((await refreshed.json()) as { VersionId: string }).VersionId).toBe(after.versionId)
  })

  it('refuses requests without the token, with X-Forwarded-For, and with any method but GET', async () => {
    const url = `${agentUrl}/secretsmanager/get?secretId=demo/db`

    const noToken = await fetch(url)
    const forwarded = await fetch(url, { headers: { ...withToken, 'X-Forwarded-For': '198.51.100.9' } })
    const methods = await Promise.all(
      ['POST', 'PUT', 'DELETE'].map((method) => fetch(url, { method, headers: withToken })),
    )

    expect([noToken.status, await noToken.text()]).toEqual([403, 'Bad Token'])
    expect([forwarded.status, await forwarded.text()]).toEqual([400, 'Forwarded'])
    expect(methods.map((r) => r.status)).toEqual([405, 405, 405])
    expect(readFileSync(agent.logFile, 'utf8')).not.toContain(token)
  })

  it("answers a secret this host may not read in the Agent's error shape", async () => {
    const res = await fetch(`${agentUrl}/secretsmanager/get?secretId=demo/api-key`, { headers: withToken })

    expect(res.status).toBe(400)
    expect(((await res.json()) as { __type: string }).__type).toBe('ResourceNotFoundException')
  })
})
