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
  type PgCredentials,
  type RotationFunction,
  type RotationTarget,
} from '../../src/rotation'

/**
 * One moto and one private PostgreSQL cluster per suite, on free loopback ports, and helpers to create
 * rotated secrets whose database roles really exist. Every password a suite creates or generates carries
 * `canary`, so the leak checks can search for it.
 */
export interface RotationEnv {
  readonly moto: MotoServer
  readonly pg: PostgresCluster
  readonly sm: SecretsManagerClient
  readonly lambdaArn: string
  readonly canary: string
  readonly log: MemoryLog
  stop(): Promise<void>
}

export const EXCLUDE = ' "\'`\\/@:?#[]%&+=;,<>{}|^~'

export async function startRotationEnv(
  opts: { postgres?: PostgresClusterOptions } = {},
): Promise<RotationEnv> {
  const started: { stop(): Promise<void> }[] = []
  const stopAll = async (): Promise<void> => {
    for (const s of started.reverse()) await s.stop().catch(() => undefined)
  }
  try {
    const [moto, pg] = await Promise.all([
      startMoto().then((m) => (started.push(m), m)),
      startPostgresCluster(opts.postgres).then((p) => (started.push(p), p)),
    ])
    const sm = createSecretsManagerClient({
      region: 'us-east-1',
      requestTimeoutMs: 5000,
      maxAttempts: 1,
      endpoint: moto.endpoint,
      credentials: { ...MOTO_CREDENTIALS },
    })
    const lambdaArn = await prepareMotoForRotation(moto.endpoint)
    await pg.query('CREATE DATABASE app')
    return {
      moto,
      pg,
      sm,
      lambdaArn,
      canary: `CANARY${randomBytes(6).toString('hex')}`,
      log: createMemoryLog(),
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

/** The real rotation function (the composition the handler builds) against moto and the cluster. */
export function makeHandler(
  env: RotationEnv,
  targets: readonly RotationTarget[],
  opts: { connectAs?: ConnectAs; log?: Log } = {},
): RotationFunction {
  const sm = createSecretsManagerClient({
    region: 'us-east-1',
    requestTimeoutMs: 5000,
    maxAttempts: 1,
    endpoint: env.moto.endpoint,
    credentials: { ...MOTO_CREDENTIALS },
  })
  const real = createSecretsManagerPasswordGenerator(sm)
  return createRotationFunction({
    config: { targets },
    sm,
    log: opts.log ?? env.log,
    connectAs: opts.connectAs ?? pgConnector(),
    // Generated passwords carry the suite's canary too, so leak checks cover new values.
    passwords: {
      generate: async (o) =>
        `${env.canary}${await real.generate({ ...o, length: o.length - env.canary.length })}`,
    },
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

export async function stagesOf(env: RotationEnv, secretId: string): Promise<Record<string, string[]>> {
  return (await env.sm.send(new DescribeSecretCommand({ SecretId: secretId }))).VersionIdsToStages ?? {}
}

export async function valueAt(
  env: RotationEnv,
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
  const current = await valueAt(env, secretId, 'AWSCURRENT')
  if (current !== undefined && (await canLogIn(current))) return true
  const pending = await valueAt(env, secretId, 'AWSPENDING')
  return pending !== undefined && (await canLogIn(pending))
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
