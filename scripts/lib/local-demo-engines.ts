import { CreateAccessKeyCommand, CreateUserCommand, IAMClient } from '@aws-sdk/client-iam'
import type { ManagedSecret, StackPlan } from '../../infra/stack'
import { ROTATION_STRATEGY_TRAITS, type RotationEngine } from '../../src/contract/rotation-strategies'
import { mysqlNativePasswordHash, redisPasswordHash } from '../../src/rotation'
import { findMariaDbBinaries, MARIADB_INSTALL_HINT, startMariaDb, type MariaDbServer } from './mariadb'
import { MOTO_CREDENTIALS } from './moto'
import { REDIS_INSTALL_HINT, redisServerBinary, startRedis, type RedisServer } from './redis'

/**
 * The local stage's demo targets for the MySQL/MariaDB, Redis ACL and IAM access key strategies, for
 * `npm start`: a private MariaDB and a private Redis (Debian's packages, free loopback ports, their own
 * temp directories; the machine's own servers are never touched) whose accounts have the demo secrets'
 * passwords, set from their hashes; and, in the emulator, the IAM users of the access key secrets with a
 * first key. A server whose binaries are missing is skipped with the command that installs it: the rest of
 * the stack starts without it, and only that demo secret's rotation fails (naming the refused connection).
 */
export interface DemoEngines {
  readonly mariadb: MariaDbServer | undefined
  readonly redis: RedisServer | undefined
  /** One line per server not started, with how to install it. */
  readonly skipped: readonly string[]
  stop(): Promise<void>
}

/** The engine a managed secret logs in to: its own strategy's, or the one of the rotations it is master of. */
export function engineOf(plan: StackPlan, m: ManagedSecret): RotationEngine {
  if (m.rotation !== undefined) return ROTATION_STRATEGY_TRAITS[m.rotation.strategy].engine
  const served = plan.managed.find((o) => o.rotation?.masterSecret === m.logicalName)
  return served?.rotation === undefined ? 'none' : ROTATION_STRATEGY_TRAITS[served.rotation.strategy].engine
}

const usesEngine = (plan: StackPlan, engine: RotationEngine): boolean =>
  plan.managed.some((m) => engineOf(plan, m) === engine)

/** Start the MariaDB and Redis the plan's demo secrets need, each only when its binaries are installed. */
export async function startDemoEngines(plan: StackPlan): Promise<DemoEngines> {
  const skipped: string[] = []
  const available = (find: () => unknown, hint: string): boolean => {
    try {
      find()
      return true
    } catch {
      skipped.push(hint.replace(/\n/g, ' '))
      return false
    }
  }
  const wantMariaDb = usesEngine(plan, 'mysql') && available(findMariaDbBinaries, MARIADB_INSTALL_HINT)
  const wantRedis = usesEngine(plan, 'redis') && available(redisServerBinary, REDIS_INSTALL_HINT)
  // A server that will not start is skipped like a missing one: the rest of the stack still comes up.
  const started = <T>(what: string, start: () => Promise<T>): Promise<T | undefined> =>
    start().catch((err: unknown) => {
      skipped.push(
        `${what} did not start: ${(err instanceof Error ? err.message : String(err)).split('\n')[0] ?? ''}`,
      )
      return undefined
    })
  const [mariadb, redis] = await Promise.all([
    wantMariaDb ? started('MariaDB', () => startMariaDb()) : undefined,
    wantRedis ? started('Redis', () => startRedis()) : undefined,
  ])
  return {
    mariadb,
    redis,
    skipped,
    stop: async () => {
      await redis?.stop()
      await mariadb?.stop()
    },
  }
}

/** The host and port a demo secret's value gets: those of the server started for its engine. */
export function demoEngineFields(
  engines: DemoEngines,
  plan: StackPlan,
  m: ManagedSecret,
): Record<string, unknown> {
  const engine = engineOf(plan, m)
  const server = engine === 'mysql' ? engines.mariadb : engine === 'redis' ? engines.redis : undefined
  if (server === undefined || m.fields['host'] === undefined) return {}
  return { host: server.host, port: server.port }
}

/**
 * Create the demo accounts with the secrets' passwords (sent as hashes): on MariaDB the rotated users
 * (SELECT and INSERT on their database) and their master (CREATE USER, SELECT on `mysql`, the users'
 * privileges WITH GRANT OPTION); on Redis the rotated users (their own `demo:*` keys) and their master
 * (`-@all +acl|getuser +acl|setuser +acl|list`). Idempotent for a fresh server.
 */
export async function provisionDemoEngines(
  engines: DemoEngines,
  plan: StackPlan,
  passwords: ReadonlyMap<string, string>,
): Promise<void> {
  for (const m of plan.managed) {
    const password = passwords.get(m.logicalName)
    if (password === undefined) continue
    const engine = engineOf(plan, m)
    const master = m.rotation === undefined
    if (engine === 'mysql' && engines.mariadb !== undefined)
      await provisionMysqlAccount(engines.mariadb, m, password, master ? servedDatabases(plan, m) : undefined)
    if (engine === 'redis' && engines.redis !== undefined)
      await engines.redis.command([
        'ACL',
        'SETUSER',
        m.username,
        'on',
        `#${redisPasswordHash(password)}`,
        ...(master
          ? ['-@all', '+acl|getuser', '+acl|setuser', '+acl|list']
          : ['~demo:*', '&demo:*', '+@read', '+@write', '+@connection']),
      ])
  }
}

/** The databases of the rotations `master` serves: where it needs the users' privileges WITH GRANT OPTION. */
function servedDatabases(plan: StackPlan, master: ManagedSecret): string[] {
  return plan.managed
    .filter((m) => m.rotation?.masterSecret === master.logicalName)
    .map((m) => String(m.fields['dbname'] ?? 'demo'))
}

/** An account with the secret's password; a master (`serves` its users' databases) gets what it needs. */
async function provisionMysqlAccount(
  db: MariaDbServer,
  m: ManagedSecret,
  password: string,
  serves: readonly string[] | undefined,
): Promise<void> {
  const account = `'${m.username}'@'%'`
  await db.query(
    `CREATE USER IF NOT EXISTS ${account} IDENTIFIED BY PASSWORD '${mysqlNativePasswordHash(password)}'`,
  )
  for (const dbname of serves ?? [String(m.fields['dbname'] ?? 'demo')]) {
    await db.query(`CREATE DATABASE IF NOT EXISTS \`${dbname}\``)
    await db.query(
      `CREATE TABLE IF NOT EXISTS \`${dbname}\`.demo_orders (id INT AUTO_INCREMENT PRIMARY KEY, item VARCHAR(80) NOT NULL)`,
    )
    await db.query(
      `GRANT SELECT, INSERT ON \`${dbname}\`.* TO ${account}${serves === undefined ? '' : ' WITH GRANT OPTION'}`,
    )
  }
  if (serves !== undefined) {
    await db.query(`GRANT CREATE USER ON *.* TO ${account}`)
    await db.query(`GRANT SELECT ON mysql.* TO ${account}`)
  }
}

/**
 * The IAM users of the plan's access key secrets, created in the emulator with a first key, so each demo
 * value starts with a key that works. Returns the fields to put in each value, by logical name.
 */
export async function provisionDemoIamUsers(
  plan: StackPlan,
  motoEndpoint: string,
  region: string,
): Promise<Map<string, Record<string, string>>> {
  const fields = new Map<string, Record<string, string>>()
  const keyed = plan.managed.filter((m) => m.rotation?.strategy === 'iam-access-key')
  if (keyed.length === 0) return fields
  const iam = new IAMClient({ region, endpoint: motoEndpoint, credentials: MOTO_CREDENTIALS, maxAttempts: 2 })
  try {
    for (const m of keyed) {
      await iam.send(new CreateUserCommand({ UserName: m.username }))
      const key = (await iam.send(new CreateAccessKeyCommand({ UserName: m.username }))).AccessKey
      if (key?.AccessKeyId === undefined || key.SecretAccessKey === undefined)
        throw new Error(`moto issued no access key for ${m.username}`)
      fields.set(m.logicalName, {
        userName: m.username,
        accessKeyId: key.AccessKeyId,
        secretAccessKey: key.SecretAccessKey,
      })
    }
  } finally {
    iam.destroy()
  }
  return fields
}
