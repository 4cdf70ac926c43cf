import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { request } from 'node:http'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { REPO_ROOT } from '../../../infra/stage-declarations'
import { readAuditFile } from '../../../scripts/lib/audit-file'
import { signedFetch, signRequest } from '../../../scripts/lib/signed-fetch'

/**
 * The README's local-stage commands, run as written against a real `npm start` with this machine's tools
 * (curl 7.88, node, npx, npm). The only change is where the stack keeps its state: a temp directory instead of
 * `.broker` (SECRET_BROKER_STATE_DIR for the tools, the same path substituted for `./.broker/` in the block),
 * so the test never touches a developer's running stack.
 */
jest.setTimeout(240_000)

const MARKER = '<!-- readme-local-commands:'

function readmeBlock(): string {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8')
  const at = readme.indexOf(MARKER)
  if (at < 0) throw new Error('README.md lost its readme-local-commands block')
  const start = readme.indexOf('```bash\n', at) + '```bash\n'.length
  return readme.slice(start, readme.indexOf('```', start))
}

let stack: ChildProcess | undefined
let stateDir: string
let output = ''

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'broker-readme-'))
  stack = spawn(process.execPath, ['--import', 'tsx', 'scripts/start-local.ts'], {
    cwd: REPO_ROOT,
    env: { ...process.env, SECRET_BROKER_STATE_DIR: stateDir },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  stack.stdout?.on('data', (d: Buffer) => (output += d.toString()))
  stack.stderr?.on('data', (d: Buffer) => (output += d.toString()))
  const deadline = Date.now() + 150_000
  while (!output.includes('is serving http://')) {
    if (Date.now() > deadline || stack.exitCode !== null)
      throw new Error(`npm start did not serve:\n${output}`)
    await new Promise((r) => setTimeout(r, 200))
  }
})

afterAll(async () => {
  if (stack?.pid !== undefined && stack.exitCode === null) {
    const exited = new Promise((resolve) => stack?.once('exit', resolve))
    process.kill(-stack.pid, 'SIGINT')
    await Promise.race([exited, new Promise((r) => setTimeout(r, 30_000))])
  }
  rmSync(stateDir, { recursive: true, force: true })
})

describe("the README's local commands", () => {
  it('run as written and do what the README says', () => {
    // Arrange
    const script = `set -euo pipefail\n${readmeBlock().replaceAll('./.broker/', `${stateDir}/`)}`
    // Act
    const run = spawnSync('bash', ['-c', script], {
      cwd: REPO_ROOT,
      env: { ...process.env, SECRET_BROKER_STATE_DIR: stateDir },
      encoding: 'utf8',
      timeout: 180_000,
    })
    // Assert: every command exited 0, and each did its job.
    expect([run.status, run.stderr.slice(-2000)]).toEqual([0, expect.any(String)])
    const out = run.stdout
    expect(out).toContain('"principalArn":"arn:aws:iam::123456789012:user/demo-orders"')
    expect(out).toContain('"principalArn":"arn:aws:iam::123456789012:role/demo-billing"')
    expect(out).toContain('"name":"demo/db"')
    expect(out).toMatch(/"results":\[\{"status":200/)
    expect(out).toContain('demo_app') // npx secret-broker get demo/db --field username
    expect(out).toContain('rotated')
    expect(out).toContain('every chain is intact')
    expect(out).not.toContain('"type":"https://secret-broker.dev/problems/unauthenticated"')
  })

  it('say truly which names curl signs correctly (this machine’s curl)', async () => {
    const local = JSON.parse(readFileSync(join(stateDir, 'local.json'), 'utf8')) as {
      endpoint: string
      consumers: { accessKeyId: string; secretAccessKey: string }[]
    }
    const orders = local.consumers[0]!
    const version = /curl (\d+)\.(\d+)/.exec(spawnSync('curl', ['--version'], { encoding: 'utf8' }).stdout)
    const [major, minor] = [Number(version?.[1]), Number(version?.[2])]
    const curl = (path: string, post?: string): string =>
      spawnSync(
        'curl',
        [
          ...(post === undefined ? [] : ['-H', 'Content-Type: application/json', '-d', post]),
          '-s',
          '-o',
          '/dev/null',
          '-w',
          '%{http_code}',
          '--aws-sigv4',
          'aws:amz:us-east-1:execute-api',
          '--user',
          `${orders.accessKeyId}:${orders.secretAccessKey}`,
          `${local.endpoint}${path}`,
        ],
        { encoding: 'utf8' },
      ).stdout
    // A name of letters, digits and /_.- : signed right (an unknown name → the broker's 404, not 401).
    expect(curl('/secrets/no-such/name_1.x')).toBe('404')
    // A name with '+': any correct signer gets 404; curl 7.88 signs it wrong (401), as the README says.
    expect((await signedFetch(`${local.endpoint}/secrets/no+such`, { credentials: orders })).status).toBe(404)
    if (major < 8 || (major === 8 && minor < 8)) expect(curl('/secrets/no+such')).toBe('401')
    else expect(['401', '404']).toContain(curl('/secrets/no+such'))
    // The batch route every signer gets right, and its first form, which curl 7.88 signs wrong.
    const body = JSON.stringify({ names: ['demo/db'] })
    expect(curl('/batch-get-secrets', body)).toBe('200')
    if (major < 8 || (major === 8 && minor < 8)) expect(curl('/secrets:batchGet', body)).toBe('401')
  })
})

/** A signed request sent with raw header lines (repeated names kept as separate lines). */
async function rawSigned(
  url: string,
  method: string,
  credentials: { accessKeyId: string; secretAccessKey: string },
  extraLines: [string, string][] = [],
): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
  const { headers } = await signRequest(url, { method, credentials })
  const lines: string[] = []
  for (const [k, v] of Object.entries(headers)) lines.push(k, v)
  for (const [k, v] of extraLines) lines.push(k, v)
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: lines }, (res) => {
      res.resume()
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }))
    })
    req.on('error', reject)
    req.end()
  })
}

describe('the local stage answers as the deployed API does', () => {
  function local(): {
    endpoint: string
    auditFile: string
    consumers: { accessKeyId: string; secretAccessKey: string }[]
  } {
    return JSON.parse(readFileSync(join(stateDir, 'local.json'), 'utf8')) as ReturnType<typeof local>
  }

  it('refuses a signed HEAD on a GET route as API Gateway does, and audits no read', async () => {
    const { endpoint, auditFile, consumers } = local()
    const res = await rawSigned(`${endpoint}/secrets/demo/db`, 'HEAD', consumers[0]!)
    expect(res.status).toBe(403)
    expect(res.headers['x-amzn-errortype']).toBe('MissingAuthenticationTokenException')
    expect(readAuditFile(auditFile).filter((r) => r.method === 'HEAD')).toEqual([])
  })

  it('reads a header sent on two lines as all of its lines, as the deployed function gets them', async () => {
    const { endpoint, consumers } = local()
    const first = await signedFetch(`${endpoint}/secrets/demo/db`, { credentials: consumers[0]! })
    const etag = first.headers['etag'] as string
    const res = await rawSigned(`${endpoint}/secrets/demo/db`, 'GET', consumers[0]!, [
      ['If-None-Match', etag],
      ['If-None-Match', '"some-older-version"'],
    ])
    expect(res.status).toBe(304)
  })
})
