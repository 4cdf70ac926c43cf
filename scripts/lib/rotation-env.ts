import { randomBytes, randomUUID } from 'node:crypto'
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager'
import { Client } from 'pg'
import { MOTO_CREDENTIALS, startMoto, type MotoServer } from './moto'
import { prepareMotoForRotation } from './local-rotation'
import { startPostgresCluster, type PostgresCluster, type PostgresClusterOptions } from './postgres'
import { createSecretsManagerClient } from '../../src/lib/aws-clients'
import { systemClock } from '../../src/lib/clock'
import { createMemoryLog, type Log, type MemoryLog } from '../../src/lib/logger'
import {
  createPgConnector,
  createRotationFunction,
  createSecretsManagerPasswordGenerator,
  md5Verifier,
  scramSha256Verifier,
  type ConnectAs,
  type DbSession,
  type EngineClients,
  type PasswordGenerator,
  type PgCredentials,
  type RotationFunction,
  type RotationTarget,
} from '../../src/rotation'

/**
 * What every rotation suite shares: one moto per suite on a free loopback port, its Secrets Manager client,
 * a function ARN RotateSecret accepts, the suite's canary and the rotation's in-memory log. Every password a
 * suite creates or generates carries `canary`, so the leak checks can search for it.
 */
export interface RotationBase {
  readonly moto: MotoServer
  readonly sm: SecretsManagerClient
  readonly lambdaArn: string
  readonly canary: string
  readonly log: MemoryLog
  stop(): Promise<void>
}

/** A rotation suite against PostgreSQL: the base and one private cluster (with a database `app`). */
export interface RotationEnv extends RotationBase {
  readonly pg: PostgresCluster
}

export const EXCLUDE = ' "\'`\\/@:?#[]%&+=;,<>{}|^~'

/** Start the base, and whatever else the suite needs alongside (started concurrently, stopped after it). */
export async function startRotationBase<T extends { stop(): Promise<void> }>(
  alongside?: () => Promise<T>,
): Promise<RotationBase & { readonly alongside: T | undefined }> {
  const started: { stop(): Promise<void> }[] = []
  const stopAll = async (): Promise<void> => {
    for (const s of started.reverse()) await s.stop().catch(() => undefined)
  }
  try {
    const [moto, other] = await Promise.all([
      startMoto().then((m) => (started.push(m), m)),
      alongside === undefined ? undefined : alongside().then((o) => (started.push(o), o)),
    ])
    const sm = createSecretsManagerClient({
      region: 'us-east-1',
      requestTimeoutMs: 5000,
      maxAttempts: 1,
      endpoint: moto.endpoint,
      credentials: { ...MOTO_CREDENTIALS },
    })
    const lambdaArn = await prepareMotoForRotation(moto.endpoint)
    return {
      moto,
      sm,
      lambdaArn,
      canary: `CANARY${randomBytes(6).toString('hex')}`,
      log: createMemoryLog(),
      alongside: other,
      stop: async () => {
        sm.destroy()
        await stopAll()
      },
    }
  } catch (err) {
    await stopAll()
    throw err
  }
}

export async function startRotationEnv(
  opts: { postgres?: PostgresClusterOptions } = {},
): Promise<RotationEnv> {
  const base = await startRotationBase(() => startPostgresCluster(opts.postgres))
  const pg = base.alongside as PostgresCluster
  try {
    await pg.query('CREATE DATABASE app')
  } catch (err) {
    await base.stop()
    throw err
  }
  return { ...base, pg }
}

export interface PgSecretValue extends PgCredentials {
  readonly engine: 'postgres'
}

let roleSeq = 0

/** A database role (password set as a verifier) and a secret in moto holding its credentials. */
export async function createPgSecret(
  env: RotationEnv,
  opts: { username?: string; createRole?: boolean; name?: string; storage?: 'scram' | 'md5' } = {},
): Promise<{ name: string; arn: string; value: PgSecretValue }> {
  roleSeq++
  const username = opts.username ?? `app_${roleSeq}_${randomBytes(3).toString('hex')}`
  const password = `${env.canary}-${randomBytes(9).toString('base64url')}`
  const verifier =
    opts.storage === 'md5' ? md5Verifier(password, username) : scramSha256Verifier(password, randomBytes)
  await env.pg.query(
    `CREATE ROLE "${username}" WITH LOGIN ${opts.createRole === true ? 'CREATEROLE ' : ''}PASSWORD '${verifier}'`,
  )
  await env.pg.query(`GRANT CONNECT ON DATABASE app TO "${username}"`)
  const value: PgSecretValue = {
    engine: 'postgres',
    username,
    password,
    host: '127.0.0.1',
    port: env.pg.port,
    dbname: 'app',
  }
  const name = opts.name ?? `secret-broker/test/${username}`
  const out = await env.sm.send(new CreateSecretCommand({ Name: name, SecretString: JSON.stringify(value) }))
  return { name, arn: out.ARN ?? name, value }
}

export function aTarget(secretId: string, over: Partial<RotationTarget> = {}): RotationTarget {
  return {
    secretId,
    strategy: 'postgres-single-user',
    passwordLength: 32,
    excludeCharacters: EXCLUDE,
    masterSecretId: undefined,
    ...over,
  }
}

export function pgConnector(): ConnectAs {
  return createPgConnector({ sslMode: 'disable', connectTimeoutMs: 2000, statementTimeoutMs: 2000 })
}

/** New passwords from moto's GetRandomPassword, carrying the suite's canary so leak checks cover them. */
export function canaryPasswords(env: RotationBase, sm: SecretsManagerClient): PasswordGenerator {
  const real = createSecretsManagerPasswordGenerator(sm)
  return {
    generate: async (o) =>
      `${env.canary}${await real.generate({ ...o, length: o.length - env.canary.length })}`,
  }
}

/**
 * The real rotation function (the composition the handler builds) against moto and the suite's servers:
 * PostgreSQL through `connectAs`, the other engines through `engines` (rotation-env-mysql.ts and friends).
 */
export function makeHandler(
  env: RotationBase,
  targets: readonly RotationTarget[],
  opts: {
    connectAs?: ConnectAs
    log?: Log
    engines?: Partial<EngineClients>
    passwords?: PasswordGenerator
  } = {},
): RotationFunction {
  const sm = createSecretsManagerClient({
    region: 'us-east-1',
    requestTimeoutMs: 5000,
    maxAttempts: 1,
    endpoint: env.moto.endpoint,
    credentials: { ...MOTO_CREDENTIALS },
  })
  return createRotationFunction({
    config: { targets },
    sm,
    log: opts.log ?? env.log,
    connectAs: opts.connectAs ?? pgConnector(),
    ...(opts.engines === undefined ? {} : { engines: opts.engines }),
    // Generated passwords carry the suite's canary too, so leak checks cover new values.
    passwords: opts.passwords ?? canaryPasswords(env, sm),
    randomBytes,
    clock: systemClock,
  })
}

/** Run `fn` in a session of `creds` (the test's own pg client, not the rotation's connector). */
export async function withLogin<T>(creds: PgCredentials, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({
    host: creds.host,
    port: creds.port,
    user: creds.username,
    password: creds.password,
    database: creds.dbname,
    connectionTimeoutMillis: 2000,
  })
  client.on('error', () => undefined)
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end().catch(() => undefined)
  }
}

export async function canLogIn(creds: PgCredentials): Promise<boolean> {
  const client = new Client({
    host: creds.host,
    port: creds.port,
    user: creds.username,
    password: creds.password,
    database: creds.dbname,
    connectionTimeoutMillis: 2000,
  })
  client.on('error', () => undefined)
  try {
    await client.connect()
    await client.query('SELECT 1')
    return true
  } catch (err) {
    const code = (err as { code?: string }).code
    if (code === '28P01' || code === '28000') return false
    throw err
  } finally {
    await client.end().catch(() => undefined)
  }
}

export async function stagesOf(env: RotationBase, secretId: string): Promise<Record<string, string[]>> {
  return (await env.sm.send(new DescribeSecretCommand({ SecretId: secretId }))).VersionIdsToStages ?? {}
}

export async function valueAt(
  env: RotationBase,
  secretId: string,
  stage: string,
  versionId?: string,
): Promise<PgSecretValue | undefined> {
  try {
    const out = await env.sm.send(
      new GetSecretValueCommand({
        SecretId: secretId,
        VersionStage: stage,
        ...(versionId === undefined ? {} : { VersionId: versionId }),
      }),
    )
    return out.SecretString === undefined ? undefined : (JSON.parse(out.SecretString) as PgSecretValue)
  } catch (err) {
    if ((err as Error).name === 'ResourceNotFoundException') return undefined
    throw err
  }
}

export function holderOf(stages: Record<string, string[]>, label: string): string[] {
  return Object.entries(stages)
    .filter(([, s]) => s.includes(label))
    .map(([id]) => id)
}

/** The invariant: whatever the point in a rotation, AWSCURRENT or AWSPENDING logs in. */
export async function currentOrPendingLogsIn(env: RotationEnv, secretId: string): Promise<boolean> {
  return currentOrPendingWorks(env, secretId, canLogIn)
}

/** The same invariant for any engine: `works` says whether a value's credentials are accepted. */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- V types the caller's check, whatever the engine's value shape
export async function currentOrPendingWorks<V = PgSecretValue>(
  env: RotationBase,
  secretId: string,
  works: (value: V) => Promise<boolean>,
): Promise<boolean> {
  const current = (await valueAt(env, secretId, 'AWSCURRENT')) as V | undefined
  if (current !== undefined && (await works(current))) return true
  const pending = (await valueAt(env, secretId, 'AWSPENDING')) as V | undefined
  return pending !== undefined && (await works(pending))
}

/** Every version's value, by version id (labelled or not), for the leak checks. */
export async function allValues(env: RotationBase, secretId: string): Promise<Record<string, unknown>[]> {
  const values: Record<string, unknown>[] = []
  for (const versionId of Object.keys(await stagesOf(env, secretId))) {
    try {
      const out = await env.sm.send(new GetSecretValueCommand({ SecretId: secretId, VersionId: versionId }))
      if (out.SecretString !== undefined) values.push(JSON.parse(out.SecretString) as Record<string, unknown>)
    } catch (err) {
      if ((err as Error).name !== 'ResourceNotFoundException') throw err
    }
  }
  return values
}

/** A connector whose sessions can be made to fail: the DB "down" (a closed port), or the connection dropped right after a statement. */
export function faultyConnector(
  base: ConnectAs,
  closedPort: number,
): {
  connectAs: ConnectAs
  faults: {
    down: boolean
    dropAfter: RegExp | undefined
    onStatement: ((sql: string) => Promise<void>) | undefined
  }
} {
  const faults: {
    down: boolean
    dropAfter: RegExp | undefined
    onStatement: ((sql: string) => Promise<void>) | undefined
  } = {
    down: false,
    dropAfter: undefined,
    onStatement: undefined,
  }
  const connectAs: ConnectAs = async (creds) => {
    const session = await base(faults.down ? { ...creds, port: closedPort } : creds)
    const wrapped: DbSession = {
      query: async (sql, params) => {
        const rows = await session.query(sql, params)
        if (faults.onStatement !== undefined) await faults.onStatement(sql)
        if (faults.dropAfter?.test(sql) === true) {
          await session.close()
          throw Object.assign(new Error('Connection terminated unexpectedly'), { name: 'ConnectionDropped' })
        }
        return rows as never
      },
      close: () => session.close(),
    }
    return wrapped
  }
  return { connectAs, faults }
}

export const newToken = (): string => randomUUID()
