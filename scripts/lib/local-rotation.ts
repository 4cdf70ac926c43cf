import { randomBytes, randomUUID } from 'node:crypto'
import { crc32 } from 'node:zlib'
import { Sha256 } from '@aws-crypto/sha256-js'
import {
  DescribeSecretCommand,
  RotateSecretCommand,
  UpdateSecretVersionStageCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager'
import { SignatureV4 } from '@smithy/signature-v4'
import { createSecretsManagerClient } from '../../src/lib/aws-clients'
import { RotationStepError } from '../../src/lib/errors'
import {
  quoteIdent,
  ROTATION_STEPS,
  scramSha256Verifier,
  type RotationEvent,
  type RotationStep,
} from '../../src/rotation'
import type { StackPlan } from '../../infra/stack'
import { MOTO_CREDENTIALS } from './moto'
import type { PostgresCluster } from './postgres'

/**
 * Rotation against moto, the way Secrets Manager drives it. moto cannot run our Lambda (see
 * ../shared/research/moto-fidelity.md §3), so: a dummy function gives RotateSecret an ARN to accept,
 * RotateSecret (with AutomaticallyAfterDays) creates the value-less AWSPENDING stub and sets RotationEnabled,
 * and then our four steps run in-process, in order, each retried once, as Secrets Manager retries a step.
 */
export const LOCAL_ROTATION_FUNCTION = 'secret-broker-local-rotation'
const LOCAL_ROTATION_ROLE = 'secret-broker-local-rotation'
const DEFAULT_REGION = 'us-east-1'

/** A secret already has a rotation in progress (AWSPENDING on a version that is not AWSCURRENT). */
export class RotationInProgressError extends Error {
  constructor(readonly pendingVersionId: string) {
    super(
      `a rotation is already in progress (version ${pendingVersionId} is AWSPENDING); resume it with that token`,
    )
    this.name = 'RotationInProgressError'
  }
}

function motoClient(endpoint: string, region: string): SecretsManagerClient {
  return createSecretsManagerClient({
    region,
    requestTimeoutMs: 10_000,
    maxAttempts: 1,
    endpoint,
    credentials: { ...MOTO_CREDENTIALS },
  })
}

/** A SigV4-signed request to a moto endpoint, for the services whose SDK clients this project does not carry. */
async function signedRequest(
  endpoint: string,
  region: string,
  service: string,
  req: { method: string; path: string; body?: string; headers?: Record<string, string> },
): Promise<{ status: number; text: string }> {
  const url = new URL(req.path, endpoint)
  const signer = new SignatureV4({ service, region, credentials: { ...MOTO_CREDENTIALS }, sha256: Sha256 })
  const signed = await signer.sign({
    method: req.method,
    protocol: url.protocol,
    hostname: url.hostname,
    port: Number(url.port),
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    headers: { host: url.host, ...req.headers },
    ...(req.body === undefined ? {} : { body: req.body }),
  })
  const res = await fetch(url, {
    method: req.method,
    headers: signed.headers,
    ...(req.body === undefined ? {} : { body: req.body }),
    signal: AbortSignal.timeout(10_000),
  })
  return { status: res.status, text: await res.text() }
}

/** A one-file zip (stored, no compression): moto wants a deployment package, and never runs it. */
function tinyZip(fileName: string, content: string): Buffer {
  const data = Buffer.from(content)
  const name = Buffer.from(fileName)
  const crc = crc32(data)
  const local = Buffer.alloc(30)
  local.writeUInt32LE(0x04034b50, 0)
  local.writeUInt16LE(10, 4)
  local.writeUInt32LE(crc, 14)
  local.writeUInt32LE(data.length, 18)
  local.writeUInt32LE(data.length, 22)
  local.writeUInt16LE(name.length, 26)
  const central = Buffer.alloc(46)
  central.writeUInt32LE(0x02014b50, 0)
  central.writeUInt16LE(20, 4)
  central.writeUInt16LE(10, 6)
  central.writeUInt32LE(crc, 16)
  central.writeUInt32LE(data.length, 20)
  central.writeUInt32LE(data.length, 24)
  central.writeUInt16LE(name.length, 28)
  const end = Buffer.alloc(22)
  end.writeUInt32LE(0x06054b50, 0)
  end.writeUInt16LE(1, 8)
  end.writeUInt16LE(1, 10)
  end.writeUInt32LE(46 + name.length, 12)
  end.writeUInt32LE(30 + name.length + data.length, 16)
  return Buffer.concat([local, name, data, central, name, end])
}

/**
 * Make moto ready for RotateSecret: dockerless Lambda (an invoke does nothing) and a dummy function whose
 * ARN RotateSecret accepts. Idempotent; returns the function's ARN.
 */
export async function prepareMotoForRotation(endpoint: string, region = DEFAULT_REGION): Promise<string> {
  const config = await fetch(new URL('/moto-api/config', endpoint), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ lambda: { use_docker: false } }),
    signal: AbortSignal.timeout(10_000),
  })
  if (!config.ok) throw new Error(`moto refused /moto-api/config (HTTP ${config.status})`)

  const existing = await signedRequest(endpoint, region, 'lambda', {
    method: 'GET',
    path: `/2015-03-31/functions/${LOCAL_ROTATION_FUNCTION}`,
  })
  if (existing.status === 200) {
    const arn = (JSON.parse(existing.text) as { Configuration?: { FunctionArn?: string } }).Configuration
      ?.FunctionArn
    if (arn !== undefined) return arn
  }
  const trust = JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
    ],
  })
  const role = await signedRequest(endpoint, region, 'iam', {
    method: 'POST',
    path: '/',
    headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
    body: new URLSearchParams({
      Action: 'CreateRole',
      Version: '2010-05-08',
      RoleName: LOCAL_ROTATION_ROLE,
      AssumeRolePolicyDocument: trust,
    }).toString(),
  })
  if (role.status !== 200 && !role.text.includes('EntityAlreadyExists'))
    throw new Error(`moto IAM CreateRole failed (HTTP ${role.status})`)
  const fn = await signedRequest(endpoint, region, 'lambda', {
    method: 'POST',
    path: '/2015-03-31/functions',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      FunctionName: LOCAL_ROTATION_FUNCTION,
      Runtime: 'nodejs22.x',
      Role: `arn:aws:iam::123456789012:role/${LOCAL_ROTATION_ROLE}`,
      Handler: 'index.handler',
      Code: { ZipFile: tinyZip('index.js', 'exports.handler = async () => undefined\n').toString('base64') },
      Description: 'Stand-in so moto accepts RotateSecret; the real steps run in-process.',
    }),
  })
  const arn = fn.status < 300 ? (JSON.parse(fn.text) as { FunctionArn?: string }).FunctionArn : undefined
  if (arn === undefined) {
    // Created concurrently by another caller: read it back.
    const again = await signedRequest(endpoint, region, 'lambda', {
      method: 'GET',
      path: `/2015-03-31/functions/${LOCAL_ROTATION_FUNCTION}`,
    })
    const againArn =
      again.status === 200
        ? (JSON.parse(again.text) as { Configuration?: { FunctionArn?: string } }).Configuration?.FunctionArn
        : undefined
    if (againArn === undefined) throw new Error(`moto Lambda CreateFunction failed (HTTP ${fn.status})`)
    return againArn
  }
  return arn
}

/**
 * Turn rotation on for a secret in moto (RotationEnabled, a 30-day rule) without rotating it now. moto's
 * RotateSecret with RotateImmediately=false still leaves an AWSPENDING copy behind; it is removed here so
 * the secret looks as it would on AWS after EnableRotation with no immediate rotation.
 */
export async function enableRotation(
  endpoint: string,
  secretId: string,
  region = DEFAULT_REGION,
): Promise<void> {
  const sm = motoClient(endpoint, region)
  try {
    const lambdaArn = await prepareMotoForRotation(endpoint, region)
    const before = await sm.send(new DescribeSecretCommand({ SecretId: secretId }))
    if (before.RotationEnabled === true) return
    const token = randomUUID()
    await sm.send(
      new RotateSecretCommand({
        SecretId: secretId,
        RotationLambdaARN: lambdaArn,
        RotationRules: { AutomaticallyAfterDays: 30 },
        ClientRequestToken: token,
        RotateImmediately: false,
      }),
    )
    const after = await sm.send(new DescribeSecretCommand({ SecretId: secretId }))
    if (after.VersionIdsToStages?.[token]?.includes('AWSPENDING') === true) {
      await sm.send(
        new UpdateSecretVersionStageCommand({
          SecretId: secretId,
          VersionStage: 'AWSPENDING',
          RemoveFromVersionId: token,
        }),
      )
    }
  } finally {
    sm.destroy()
  }
}

export interface StepAttempt {
  readonly step: RotationStep
  readonly attempt: number
  readonly outcome: 'ok' | 'failed'
  readonly durationMs: number
  /** What the step reported (changed / unchanged / skipped and why), when it returned one. */
  readonly detail?: string
  /** A message safe to print: RotationStepError messages name steps and codes, never values. */
  readonly error?: string
}

export interface LocalRotationReport {
  readonly ok: boolean
  readonly secretId: string
  readonly token: string
  /** The AWSCURRENT version before the run. */
  readonly oldVersionId: string | undefined
  /** The AWSCURRENT version after a successful run (undefined when the run failed). */
  readonly newVersionId: string | undefined
  /** Every version's staging labels as read back from Secrets Manager after the run, failed or not. */
  readonly labelsAfter: Readonly<Record<string, readonly string[]>>
  readonly attempts: readonly StepAttempt[]
  readonly failedStep: RotationStep | undefined
  readonly durationMs: number
}

export interface RotateLikeSecretsManagerOptions {
  readonly endpoint: string
  readonly secretId: string
  readonly runStep: (event: RotationEvent) => Promise<unknown>
  readonly region?: string
  /** Resume a rotation left in progress with its token (AWS retries with the same token); else a new one. */
  readonly token?: string
  /** Attempts per step; Secrets Manager retries a failed step, here once by default. */
  readonly maxAttemptsPerStep?: number
}

function safeMessage(err: unknown): string {
  if (err instanceof RotationStepError || err instanceof RotationInProgressError) return err.message
  return err instanceof Error ? err.name : typeof err
}

function describeDetail(result: unknown): string | undefined {
  if (result !== null && typeof result === 'object') {
    const r = result as { outcome?: unknown; detail?: unknown }
    if (typeof r.outcome === 'string' && typeof r.detail === 'string') return `${r.outcome}: ${r.detail}`
  }
  return undefined
}

/** Every version's staging labels, as Secrets Manager reports them now. */
async function labelsOf(sm: SecretsManagerClient, secretId: string): Promise<Record<string, string[]>> {
  return (await sm.send(new DescribeSecretCommand({ SecretId: secretId }))).VersionIdsToStages ?? {}
}

/**
 * One rotation as Secrets Manager runs it: a new token, RotateSecret (the AWSPENDING stub), the four steps
 * in order with one retry each, then the report. Like AWS (and unlike moto, whose check is inverted) it
 * refuses to start while another rotation is in progress, unless asked to resume that one.
 */
export async function rotateLikeSecretsManager(
  opts: RotateLikeSecretsManagerOptions,
): Promise<LocalRotationReport> {
  const region = opts.region ?? DEFAULT_REGION
  const started = Date.now()
  const sm = motoClient(opts.endpoint, region)
  try {
    const before = await sm.send(new DescribeSecretCommand({ SecretId: opts.secretId }))
    const versions = before.VersionIdsToStages ?? {}
    const holder = (label: string): string | undefined =>
      Object.entries(versions).find(([, s]) => s.includes(label))?.[0]
    const oldVersionId = holder('AWSCURRENT')
    const pending = holder('AWSPENDING')
    const secretArn = before.ARN ?? opts.secretId
    let token = opts.token ?? randomUUID()
    if (pending !== undefined && pending !== oldVersionId) {
      if (opts.token !== pending) throw new RotationInProgressError(pending)
      token = pending // resume: the stub (and perhaps its value) exists already
    } else {
      const lambdaArn = await prepareMotoForRotation(opts.endpoint, region)
      await sm.send(
        new RotateSecretCommand({
          SecretId: opts.secretId,
          RotationLambdaARN: lambdaArn,
          RotationRules: { AutomaticallyAfterDays: 30 },
          ClientRequestToken: token,
          RotateImmediately: true,
        }),
      )
    }
    const attempts: StepAttempt[] = []
    const maxAttempts = opts.maxAttemptsPerStep ?? 2
    for (const step of ROTATION_STEPS) {
      let done = false
      for (let attempt = 1; attempt <= maxAttempts && !done; attempt++) {
        const t0 = Date.now()
        try {
          const result = await opts.runStep({ Step: step, SecretId: secretArn, ClientRequestToken: token })
          const detail = describeDetail(result)
          attempts.push({
            step,
            attempt,
            outcome: 'ok',
            durationMs: Date.now() - t0,
            ...(detail === undefined ? {} : { detail }),
          })
          done = true
        } catch (err) {
          attempts.push({
            step,
            attempt,
            outcome: 'failed',
            durationMs: Date.now() - t0,
            error: safeMessage(err),
          })
        }
      }
      if (!done) {
        return {
          ok: false,
          secretId: opts.secretId,
          token,
          oldVersionId,
          newVersionId: undefined,
          labelsAfter: await labelsOf(sm, opts.secretId),
          attempts,
          failedStep: step,
          durationMs: Date.now() - started,
        }
      }
    }
    const labelsAfter = await labelsOf(sm, opts.secretId)
    const newVersionId = Object.entries(labelsAfter).find(([, s]) => s.includes('AWSCURRENT'))?.[0]
    return {
      ok: newVersionId === token,
      secretId: opts.secretId,
      token,
      oldVersionId,
      newVersionId,
      labelsAfter,
      attempts,
      failedStep: undefined,
      durationMs: Date.now() - started,
    }
  } finally {
    sm.destroy()
  }
}

/** The PostgreSQL side of one managed secret, as provisioned for the local demo. */
interface DemoRole {
  readonly logicalName: string
  readonly username: string
  readonly dbname: string
  readonly master: boolean
  /** For a master: the users of the alternating secrets it manages (it needs ADMIN OPTION on them). */
  readonly manages: readonly string[]
}

/** Which managed secrets of a plan are PostgreSQL logins, and which of them are masters. */
export function demoRoles(plan: StackPlan): DemoRole[] {
  const masters = new Map<string, string[]>()
  for (const m of plan.managed) {
    if (m.rotation?.strategy === 'postgres-alternating-users' && m.rotation.masterSecret !== undefined) {
      masters.set(m.rotation.masterSecret, [...(masters.get(m.rotation.masterSecret) ?? []), m.username])
    }
  }
  return plan.managed
    .filter(
      (m) =>
        m.fields['engine'] === 'postgres' ||
        m.rotation?.strategy.startsWith('postgres') === true ||
        masters.has(m.logicalName),
    )
    .map((m) => ({
      logicalName: m.logicalName,
      username: m.username,
      dbname: String(m.fields['dbname'] ?? 'postgres'),
      master: masters.has(m.logicalName),
      manages: masters.get(m.logicalName) ?? [],
    }))
}

/**
 * Create the local demo database and its roles with the passwords of the secrets `npm start` created in
 * moto, so a rotation changes a real password. For the local stage: `demo`, with demo_app (demo/db),
 * demo_reporter (demo/reporting-db) and demo_admin (demo/db-master: CREATEROLE, ADMIN OPTION on
 * demo_reporter), and a `demo_orders` table the app owns and the reporter may read.
 * Passwords are sent as SCRAM verifiers, never in plain text. Idempotent: re-running resets the passwords.
 * @param secrets the secret values by logical name (at least `password` for each PostgreSQL secret)
 */
export async function provisionDemoDatabase(
  cluster: Pick<PostgresCluster, 'query'>,
  plan: StackPlan,
  secrets: Readonly<Record<string, { readonly password: string }>>,
): Promise<DemoRole[]> {
  const roles = demoRoles(plan)
  const salt = (n: number): Buffer => randomBytes(n)
  for (const r of roles) {
    const password = secrets[r.logicalName]?.password
    if (password === undefined) throw new Error(`provisionDemoDatabase: no value given for ${r.logicalName}`)
    const exists = await cluster.query('SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1', [r.username])
    const verb = exists.length === 0 ? 'CREATE' : 'ALTER'
    const attrs = r.master ? 'LOGIN CREATEROLE' : 'LOGIN'
    await cluster.query(
      `${verb} ROLE ${quoteIdent(r.username)} WITH ${attrs} PASSWORD '${scramSha256Verifier(password, salt)}'`,
    )
  }
  for (const dbname of new Set(roles.map((r) => r.dbname))) {
    const exists = await cluster.query('SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1', [dbname])
    const owner = roles.find((r) => r.dbname === dbname && !r.master && r.manages.length === 0)
    if (exists.length === 0)
      await cluster.query(
        `CREATE DATABASE ${quoteIdent(dbname)}${owner === undefined ? '' : ` OWNER ${quoteIdent(owner.username)}`}`,
      )
  }
  for (const r of roles) {
    for (const managed of r.manages)
      await cluster.query(`GRANT ${quoteIdent(managed)} TO ${quoteIdent(r.username)} WITH ADMIN OPTION`)
  }
  const app = roles.find((r) => r.logicalName === 'demo/db')
  const reporter = roles.find((r) => r.logicalName === 'demo/reporting-db')
  if (app !== undefined) {
    await cluster.query(
      `CREATE TABLE IF NOT EXISTS demo_orders (id serial PRIMARY KEY, item text NOT NULL, placed_at timestamptz NOT NULL DEFAULT now())`,
      [],
      app.dbname,
    )
    await cluster.query(`ALTER TABLE demo_orders OWNER TO ${quoteIdent(app.username)}`, [], app.dbname)
    if (reporter !== undefined)
      await cluster.query(`GRANT SELECT ON demo_orders TO ${quoteIdent(reporter.username)}`, [], app.dbname)
  }
  return roles
}
