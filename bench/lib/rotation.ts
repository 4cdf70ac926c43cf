import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager'
import { rotateLikeSecretsManager, type LocalRotationReport } from '../../scripts/lib/local-rotation'
import {
  aTarget,
  createPgSecret,
  makeHandler,
  startRotationEnv,
  type RotationBase,
  type RotationEnv,
} from '../../scripts/lib/rotation-env'
import {
  createAccessKeySecret,
  iamEngines,
  startIamRotationEnv,
  type IamRotationEnv,
} from '../../scripts/lib/rotation-env-iam'
import {
  createMysqlMaster,
  createMysqlSecret,
  mysqlEngines,
  startMysqlRotationEnv,
  type MysqlRotationEnv,
} from '../../scripts/lib/rotation-env-mysql'
import {
  createRedisMaster,
  createRedisSecret,
  redisEngines,
  startRedisRotationEnv,
  type RedisRotationEnv,
} from '../../scripts/lib/rotation-env-redis'
import type { EngineClients, RotationTarget } from '../../src/rotation'
import { median } from './stats'

/**
 * Part 5: wall time of a full rotation (RotateSecret, then createSecret → setSecret → testSecret →
 * finishSecret through the real rotation handler) per strategy, using the environments the integration
 * suites use (scripts/lib/rotation-env*.ts): moto and a private PostgreSQL, MariaDB and Redis, and moto's
 * IAM/STS with signatures checked. Each secret is rotated ROTATIONS times in a row (the alternating
 * strategies create their clone on the first rotation and alternate after that). An engine whose server
 * is not installed is reported as not measured; the others still are.
 */
export const ROTATIONS = 3

export interface RotationRun {
  readonly strategy: string
  /** What it rotated against, e.g. "PostgreSQL 15.x" or "MariaDB 10.11.x". */
  readonly against: string
  readonly rotations: number
  readonly ok: boolean
  readonly wallMs: readonly number[]
  readonly medianWallMs: number
  /** Median per step over the rotations, summed over retries. */
  readonly stepsMedianMs: readonly { readonly step: string; readonly ms: number }[]
}

export type RotationResult =
  | {
      readonly runs: readonly RotationRun[]
      readonly setupMs: number
      /** Engines not measured, and why (a server not installed). */
      readonly skipped: readonly string[]
    }
  | { readonly notMeasured: string }

async function rotationsOf(
  env: RotationBase,
  strategy: string,
  against: string,
  target: RotationTarget,
  engines?: Partial<EngineClients>,
): Promise<RotationRun> {
  const run = makeHandler(env, [target], engines === undefined ? {} : { engines })
  const reports: LocalRotationReport[] = []
  for (let i = 0; i < ROTATIONS; i++) {
    reports.push(
      await rotateLikeSecretsManager({
        endpoint: env.moto.endpoint,
        secretId: target.secretId,
        runStep: run,
      }),
    )
  }
  const steps = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'].map((step) => ({
    step,
    ms: median(
      reports.map((r) => r.attempts.filter((a) => a.step === step).reduce((sum, a) => sum + a.durationMs, 0)),
    ),
  }))
  const wallMs = reports.map((r) => r.durationMs)
  return {
    strategy,
    against,
    rotations: reports.length,
    ok: reports.every((r) => r.ok),
    wallMs,
    medianWallMs: median(wallMs),
    stepsMedianMs: steps,
  }
}

const firstLine = (err: unknown): string =>
  err instanceof Error ? (err.message.split('\n')[0] ?? err.name) : String(err)

/** One engine's environment, its runs, then stop: setup time is counted apart from the rotations. */
async function measureEngine<E extends RotationBase>(
  name: string,
  start: () => Promise<E>,
  measure: (env: E) => Promise<RotationRun[]>,
  into: { runs: RotationRun[]; setupMs: number; skipped: string[] },
): Promise<void> {
  const t0 = Date.now()
  let env: E
  try {
    env = await start()
  } catch (err) {
    into.skipped.push(`${name}: its environment did not start (${firstLine(err)})`)
    return
  }
  into.setupMs += Date.now() - t0
  try {
    into.runs.push(...(await measure(env)))
  } finally {
    await env.stop()
  }
}

async function postgresRuns(env: RotationEnv): Promise<RotationRun[]> {
  const against = `PostgreSQL ${(await env.pg.query<{ server_version: string }>('SHOW server_version'))[0]?.server_version ?? ''}`
  const apiKey = await env.sm.send(
    new CreateSecretCommand({
      Name: 'secret-broker/bench/api-key',
      SecretString: JSON.stringify({ username: 'billing_api', password: 'initial-value-0000000000000000' }),
    }),
  )
  const single = await createPgSecret(env)
  const master = await createPgSecret(env, { username: 'bench_rotation_admin', createRole: true })
  const reporting = await createPgSecret(env)
  await env.pg.query(`GRANT "${reporting.value.username}" TO bench_rotation_admin WITH ADMIN OPTION`)
  return [
    await rotationsOf(
      env,
      'random',
      'nothing (Secrets Manager only)',
      aTarget(apiKey.ARN ?? 'secret-broker/bench/api-key', { strategy: 'random' }),
    ),
    await rotationsOf(env, 'postgres-single-user', against, aTarget(single.name)),
    await rotationsOf(
      env,
      'postgres-alternating-users',
      against,
      aTarget(reporting.name, { strategy: 'postgres-alternating-users', masterSecretId: master.name }),
    ),
  ]
}

async function mysqlRuns(env: MysqlRotationEnv): Promise<RotationRun[]> {
  const against = `MariaDB ${env.db.version.split('-')[0] ?? env.db.version}`
  const single = await createMysqlSecret(env)
  const master = await createMysqlMaster(env, { username: 'bench_master' })
  const alternating = await createMysqlSecret(env)
  return [
    await rotationsOf(
      env,
      'mysql-single-user',
      against,
      aTarget(single.name, { strategy: 'mysql-single-user' }),
      mysqlEngines(env),
    ),
    await rotationsOf(
      env,
      'mysql-alternating-users',
      against,
      aTarget(alternating.name, { strategy: 'mysql-alternating-users', masterSecretId: master.name }),
      mysqlEngines(env),
    ),
  ]
}

async function redisRuns(env: RedisRotationEnv): Promise<RotationRun[]> {
  const against = `Redis ${env.redis.version}`
  const master = await createRedisMaster(env, { username: 'bench-master' })
  const single = await createRedisSecret(env)
  const alternating = await createRedisSecret(env)
  const engines = redisEngines(env, ['bench-master'])
  return [
    await rotationsOf(
      env,
      'redis-acl-single-user',
      against,
      aTarget(single.name, { strategy: 'redis-acl-single-user', masterSecretId: master.name }),
      engines,
    ),
    await rotationsOf(
      env,
      'redis-acl-alternating-users',
      against,
      aTarget(alternating.name, { strategy: 'redis-acl-alternating-users', masterSecretId: master.name }),
      engines,
    ),
  ]
}

async function iamRuns(env: IamRotationEnv): Promise<RotationRun[]> {
  const key = await createAccessKeySecret(env)
  return [
    await rotationsOf(
      env,
      'iam-access-key',
      "moto's IAM and STS (signatures checked)",
      aTarget(key.name, { strategy: 'iam-access-key' }),
      iamEngines(env),
    ),
  ]
}

export async function measureRotation(log: (line: string) => void): Promise<RotationResult> {
  const into = { runs: [] as RotationRun[], setupMs: 0, skipped: [] as string[] }
  try {
    await measureEngine('PostgreSQL', () => startRotationEnv(), postgresRuns, into)
    await measureEngine('MariaDB', startMysqlRotationEnv, mysqlRuns, into)
    await measureEngine('Redis', startRedisRotationEnv, redisRuns, into)
    await measureEngine('IAM', startIamRotationEnv, iamRuns, into)
  } catch (err) {
    const reason = `a rotation failed to run: ${firstLine(err)}`
    log(`  not measured: ${reason}`)
    return { notMeasured: reason }
  }
  if (into.runs.length === 0) {
    const reason = `no rotation environment started (${into.skipped.join('; ')})`
    log(`  not measured: ${reason}`)
    return { notMeasured: reason }
  }
  for (const r of into.runs) {
    log(
      `  ${r.strategy.padEnd(28)} ${r.ok ? 'rotated' : 'FAILED '} ×${r.rotations}  median ${r.medianWallMs.toFixed(0)} ms  (${r.stepsMedianMs.map((s) => `${s.step} ${s.ms.toFixed(0)}`).join(', ')})  ${r.against}`,
    )
  }
  for (const s of into.skipped) log(`  not measured: ${s}`)
  return into
}
