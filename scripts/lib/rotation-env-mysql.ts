import { randomBytes } from 'node:crypto'
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager'
import { startMariaDb, type MariaDbServer } from './mariadb'
import { startRotationBase, type RotationBase } from './rotation-env'
import {
  createMysqlConnector,
  mysqlNativePasswordHash,
  type EngineClients,
  type MysqlConnectAs,
  type MysqlCredentials,
  type MysqlSession,
} from '../../src/rotation'

/**
 * A rotation suite against MariaDB: the base (moto) and one private MariaDB with its general, slow and
 * binary logs on (scripts/lib/mariadb.ts), a database `app_db` with a table and a role the users get, and
 * helpers to create rotated secrets whose accounts really exist (passwords set from their hash, so the
 * setup itself puts no password in a log). Used by tests/integration/rotation and the benchmark.
 */
export interface MysqlRotationEnv extends RotationBase {
  readonly db: MariaDbServer
  /** The connector the rotation uses here: TLS off (loopback), short timeouts. */
  readonly connect: MysqlConnectAs
}

export const MYSQL_APP_DB = 'app_db'
const ROLE = 'app_reader'

export async function startMysqlRotationEnv(): Promise<MysqlRotationEnv> {
  const base = await startRotationBase(() => startMariaDb())
  const db = base.alongside as MariaDbServer
  try {
    await db.query(`CREATE DATABASE ${MYSQL_APP_DB}`)
    await db.query(
      `CREATE TABLE ${MYSQL_APP_DB}.orders (id INT PRIMARY KEY, item VARCHAR(40), note VARCHAR(40))`,
    )
    await db.query(`INSERT INTO ${MYSQL_APP_DB}.orders VALUES (1, 'tea', '')`)
    await db.query(`CREATE ROLE ${ROLE}`)
    await db.query(`GRANT SELECT ON ${MYSQL_APP_DB}.* TO ${ROLE}`)
  } catch (err) {
    await base.stop()
    throw err
  }
  return {
    ...base,
    db,
    connect: createMysqlConnector({ tlsMode: 'disable', connectTimeoutMs: 3000, queryTimeoutMs: 5000 }),
  }
}

export interface MysqlSecretValue {
  readonly engine: 'mysql'
  readonly username: string
  readonly password: string
  readonly host: string
  readonly port: number
  readonly dbname: string
}

let seq = 0
const hashOf = (password: string): string => mysqlNativePasswordHash(password)

/**
 * An account `'<user>'@'%'` (password set from its hash) and a secret in moto holding its credentials.
 * `privileges`: `app` (INSERT and UPDATE(note) on app_db.orders, the app_reader role as default role, a
 * query limit; what the alternating tests copy) or `none`.
 */
export async function createMysqlSecret(
  env: MysqlRotationEnv,
  opts: { username?: string; name?: string; privileges?: 'app' | 'none' } = {},
): Promise<{ name: string; arn: string; value: MysqlSecretValue }> {
  seq++
  const username = opts.username ?? `app${seq}_${randomBytes(3).toString('hex')}`
  const password = `${env.canary}-${randomBytes(9).toString('base64url')}`
  const account = `'${username}'@'%'`
  await env.db.query(
    `CREATE USER ${account} IDENTIFIED BY PASSWORD '${hashOf(password)}'${(opts.privileges ?? 'app') === 'app' ? ' WITH MAX_QUERIES_PER_HOUR 5000' : ''}`,
  )
  if ((opts.privileges ?? 'app') === 'app') {
    await env.db.query(`GRANT INSERT ON ${MYSQL_APP_DB}.orders TO ${account}`)
    await env.db.query(`GRANT UPDATE (note) ON ${MYSQL_APP_DB}.orders TO ${account}`)
    await env.db.query(`GRANT ${ROLE} TO ${account}`)
    await env.db.query(`SET DEFAULT ROLE ${ROLE} FOR ${account}`)
  }
  const value: MysqlSecretValue = {
    engine: 'mysql',
    username,
    password,
    host: '127.0.0.1',
    port: env.db.port,
    dbname: MYSQL_APP_DB,
  }
  const name = opts.name ?? `secret-broker/test/mysql/${username}`
  const out = await env.sm.send(new CreateSecretCommand({ Name: name, SecretString: JSON.stringify(value) }))
  return { name, arn: out.ARN ?? name, value }
}

/**
 * The master of mysql-alternating-users with exactly the privileges it needs (docs/ROTATION.md): CREATE
 * USER, SELECT on the `mysql` schema, every privilege it copies WITH GRANT OPTION and ADMIN OPTION on the
 * role. `weak`: everything but CREATE USER (the "wrong master").
 */
export async function createMysqlMaster(
  env: MysqlRotationEnv,
  opts: { username: string; weak?: boolean },
): Promise<{ name: string; arn: string; value: { username: string; password: string } }> {
  const password = `${env.canary}-master-${randomBytes(9).toString('base64url')}`
  const account = `'${opts.username}'@'%'`
  await env.db.query(`CREATE USER ${account} IDENTIFIED BY PASSWORD '${hashOf(password)}'`)
  if (opts.weak !== true) await env.db.query(`GRANT CREATE USER ON *.* TO ${account}`)
  await env.db.query(`GRANT SELECT ON mysql.* TO ${account}`)
  await env.db.query(`GRANT SELECT, INSERT, UPDATE ON ${MYSQL_APP_DB}.* TO ${account} WITH GRANT OPTION`)
  await env.db.query(`GRANT ${ROLE} TO ${account} WITH ADMIN OPTION`)
  // An RDS-like master secret: a username and a password; host and port come from the rotated secret.
  const value = { username: opts.username, password }
  const name = `secret-broker/test/mysql-master/${opts.username}`
  const out = await env.sm.send(new CreateSecretCommand({ Name: name, SecretString: JSON.stringify(value) }))
  return { name, arn: out.ARN ?? name, value }
}

export function mysqlCredentialsOf(value: MysqlSecretValue): MysqlCredentials {
  return {
    username: value.username,
    password: value.password,
    host: value.host,
    port: value.port,
    dbname: value.dbname,
  }
}

/**
 * Do these credentials work as a client uses them: logged in to the secret's database? (The test's own
 * check, with the same driver.) A refused password, or a user not (yet) allowed into the database, is false.
 */
export async function mysqlLogsIn(env: MysqlRotationEnv, value: MysqlSecretValue): Promise<boolean> {
  let session: MysqlSession
  try {
    session = await env.connect(mysqlCredentialsOf(value))
  } catch (err) {
    const e = err as { kind?: string; code?: string }
    if (e.kind === 'authentication-failed' || e.code === 'ER_DBACCESS_DENIED_ERROR') return false
    throw err
  }
  await session.close()
  return true
}

/**
 * The engines for makeHandler: this server's connector, optionally wrapped so a test can take the server
 * "down" (logins go to a closed port) or drop the connection right after a statement ran.
 */
export function mysqlEngines(
  env: MysqlRotationEnv,
  faults?: { down?: boolean; dropAfter?: RegExp; closedPort: number },
): Partial<EngineClients> {
  const connect: MysqlConnectAs = async (creds) => {
    const session = await env.connect(faults?.down === true ? { ...creds, port: faults.closedPort } : creds)
    return {
      query: async (sql, params) => {
        const rows = await session.query(sql, params)
        if (faults?.dropAfter?.test(sql) === true) {
          await session.close()
          throw Object.assign(new Error('Connection lost'), { code: 'PROTOCOL_CONNECTION_LOST' })
        }
        return rows as never
      },
      close: () => session.close(),
    }
  }
  return { mysql: connect, sleep: () => Promise.resolve() }
}
