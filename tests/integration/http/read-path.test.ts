import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  DeleteSecretCommand,
  PutSecretValueCommand,
  RestoreSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager'
import { MOTO_CREDENTIALS } from '../../../scripts/lib/moto'
import { startLocalStack, type LocalStack } from '../../../scripts/lib/local-stack'
import { readAuditFile } from '../../../scripts/lib/audit-file'
import { plainFetch, signedFetch, type SimpleResponse } from '../../../scripts/lib/signed-fetch'

/**
 * The read path over real HTTP: serverless-offline serving the bundled handlers, SigV4-signed requests
 * verified by the local stage, moto behind it. Each secret carries a canary that must never leak.
 */
const CANARY = `CANARY-${Date.now().toString(36)}-readpath`
let stack: LocalStack
let sm: SecretsManagerClient

beforeAll(async () => {
  // A 1 s limit on forced revalidation keeps the test quick (the limit itself is unit-tested). Note that
  // fetch() adds `Cache-Control: no-cache` by itself to any request carrying If-None-Match.
  stack = await startLocalStack({
    secretFields: () => ({ note: CANARY }),
    paramOverrides: { forceRefreshMinIntervalSeconds: 1 },
  })
  sm = new SecretsManagerClient({
    region: stack.region,
    endpoint: stack.motoEndpoint,
    credentials: MOTO_CREDENTIALS,
  })
}, 180_000)

afterAll(async () => {
  sm.destroy()
  await stack.stop()
}, 60_000)

const orders = () => stack.consumers[0]!
const billing = () => stack.consumers[1]!
const get = (path: string, opts: Parameters<typeof signedFetch>[1] = {}): Promise<SimpleResponse> =>
  signedFetch(`${stack.apiUrl}${path}`, { credentials: orders(), ...opts })

describe('the read path over HTTP (serverless-offline + moto)', () => {
  it('serves an allowed consumer the demo secret with an ETag, then 304 for that ETag', async () => {
    const first = await get('/secrets/demo/db')
    expect(first.status).toBe(200)
    const body = first.json<{
      name: string
      versionId: string
      value: { username: string; password: string }
    }>()
    expect(body.name).toBe('demo/db')
    expect(body.value.username).toBe('demo_app')
    expect(body.value.password.length).toBe(32)
    expect(first.headers['etag']).toBe(`"${body.versionId}"`)
    expect(first.headers['cache-control']).toBe('no-store')
    const second = await get('/secrets/demo/db', {
      headers: { 'If-None-Match': first.headers['etag'] ?? '' },
    })
    expect(second.status).toBe(304)
    expect(second.text).toBe('')
  })

  it('gives a not-allowed consumer the same 404 as a name that does not exist', async () => {
    const notAllowed = await get('/secrets/demo/api-key')
    const unknown = await get('/secrets/demo/nothing-here')
    expect(notAllowed.status).toBe(404)
    expect(unknown.status).toBe(404)
    expect(unknown.text).toBe(notAllowed.text)
    const strip = (h: Record<string, string>) =>
      Object.fromEntries(Object.entries(h).filter(([k]) => !['x-request-id', 'date'].includes(k)))
    expect(strip(unknown.headers)).toEqual(strip(notAllowed.headers))
    const allowedForBilling = await get('/secrets/demo/api-key', { credentials: billing() })
    expect(allowedForBilling.status).toBe(200)
  })

  it('refuses malformed names with 400', async () => {
    for (const path of [
      '/secrets/demo%2Fdb',
      '/secrets/demo%252Fdb',
      '/secrets/arn:aws:secretsmanager:us-east-1:123456789012:secret:x',
      '/secrets/%EF%BD%84emo',
    ]) {
      const res = await get(path)
      expect([path, res.status]).toEqual([path, 400])
    }
  })

  it('refuses unsigned and wrongly signed requests, and answers health without a signature', async () => {
    expect((await plainFetch(`${stack.apiUrl}/secrets/demo/db`)).status).toBe(401)
    const wrong = await get('/whoami', {
      credentials: {
        accessKeyId: orders().accessKeyId,
        secretAccessKey: `x${orders().secretAccessKey.slice(1)}`,
      },
    })
    expect(wrong.status).toBe(401)
    const health = await plainFetch(`${stack.apiUrl}/health`)
    expect(health.status).toBe(200)
    expect(health.text).not.toContain('demo')
  })

  it('tells each consumer its own principal on /whoami', async () => {
    const me = await get('/whoami')
    expect(me.json()).toMatchObject({ principalArn: orders().principalArn, authenticatedBy: 'local-sigv4' })
    const other = await get('/whoami', { credentials: billing() })
    expect(other.json()).toMatchObject({ principalArn: billing().principalArn })
  })

  it('lists only the names a consumer may read', async () => {
    expect((await get('/secrets')).json()).toEqual({ names: ['demo/db', 'demo/reporting-db'], patterns: [] })
  })

  it('serves the new version at once on Cache-Control: no-cache after the value changed', async () => {
    const before = (await get('/secrets/demo/db')).json<{ versionId: string }>()
    const put = await sm.send(
      new PutSecretValueCommand({
        SecretId: stack.secretNames.get('demo/db'),
        SecretString: JSON.stringify({ username: 'demo_app', password: 'x'.repeat(32), note: CANARY }),
        VersionStages: ['AWSCURRENT'],
      }),
    )
    const cached = (await get('/secrets/demo/db')).json<{ versionId: string }>()
    expect(cached.versionId).toBe(before.versionId)
    await new Promise((r) => setTimeout(r, 1100))
    const fresh = await get('/secrets/demo/db', { headers: { 'Cache-Control': 'no-cache' } })
    expect(fresh.json<{ versionId: string }>().versionId).toBe(put.VersionId)
  })

  it('answers a batch with each name authorized on its own', async () => {
    const res = await get('/secrets:batchGet', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ names: ['demo/db', 'demo/api-key', 'nope', 'a//b'] }),
    })
    expect(res.status).toBe(200)
    const results = res.json<{ results: { name: string; status: number }[] }>().results
    expect(results.map((r) => r.status)).toEqual([200, 404, 404, 400])
  })

  it('stops serving a cached secret once it is scheduled for deletion, and serves it again once restored', async () => {
    const secretId = stack.secretNames.get('demo/reporting-db')
    expect((await get('/secrets/demo/reporting-db')).status).toBe(200)
    await sm.send(new DeleteSecretCommand({ SecretId: secretId, RecoveryWindowInDays: 7 }))
    try {
      // DescribeSecret still answers for it (with DeletedDate); the broker must not keep the value alive.
      await new Promise((r) => setTimeout(r, 1100))
      const gone = await get('/secrets/demo/reporting-db', { headers: { 'Cache-Control': 'no-cache' } })
      expect(gone.status).toBe(404)
      expect(gone.text).not.toContain(CANARY)
    } finally {
      await sm.send(new RestoreSecretCommand({ SecretId: secretId }))
    }
    expect((await get('/secrets/demo/reporting-db')).status).toBe(200)
  })

  it('wrote exactly one audit record per authenticated request, naming caller, secret and outcome, never a value', () => {
    const records = readAuditFile(stack.auditFile)
    const forDb = records.filter((r) => r.secretName === 'demo/db' && r.status < 400)
    expect(forDb.length).toBeGreaterThanOrEqual(4)
    expect(
      forDb.every(
        (r) => r.principal === orders().principalArn && r.sourceIp !== undefined && r.versionId !== undefined,
      ),
    ).toBe(true)
    expect(records.some((r) => r.outcome === 'not-modified')).toBe(true)
    expect(records.some((r) => r.outcome === 'denied' && r.reason === 'caller-not-allowed')).toBe(true)
    expect(records.some((r) => r.outcome === 'denied' && r.reason === 'unauthenticated')).toBe(true)
    const requestIds = records.map((r) => r.requestId)
    expect(new Set(requestIds).size).toBe(requestIds.length)
  })

  it('leaked no canary into the audit file or the API log', () => {
    const files = [readFileSync(stack.auditFile, 'utf8'), readFileSync(stack.offlineLog, 'utf8')].join('\n')
    for (const needle of [
      CANARY,
      CANARY.slice(0, 8),
      Buffer.from(CANARY).toString('base64'),
      encodeURIComponent(CANARY),
    ]) {
      expect(files).not.toContain(needle)
    }
  })

  it('npm run audit shows who read which version, from the local audit log', () => {
    const state = join(stack.stateDir, 'local.json')
    writeFileSync(
      state,
      JSON.stringify({ auditFile: stack.auditFile, motoEndpoint: stack.motoEndpoint, region: stack.region }),
    )
    const run = spawnSync(
      process.execPath,
      [
        'node_modules/tsx/dist/cli.mjs',
        'scripts/audit-query.ts',
        '--state',
        state,
        '--secret',
        'demo/db',
        '--json',
      ],
      {
        encoding: 'utf8',
        env: process.env,
      },
    )
    expect(run.status).toBe(0)
    const rows = JSON.parse(run.stdout) as {
      principal: string
      secret: string
      versionId: string
      outcome: string
    }[]
    expect(rows.length).toBeGreaterThanOrEqual(4)
    expect(rows.every((r) => r.secret === 'demo/db')).toBe(true)
    expect(
      rows.some(
        (r) => r.principal === orders().principalArn && r.outcome === 'allowed' && r.versionId !== '-',
      ),
    ).toBe(true)
    expect(run.stdout).not.toContain(CANARY)
  })
})
