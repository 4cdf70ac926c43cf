import { randomBytes } from 'node:crypto'
import { startMariaDb, type MariaDbServer } from '../../../scripts/lib/mariadb'
import type { MysqlAccount } from '../../../src/rotation/engines/mysql/mysql-account'
import {
  planCloneCreation,
  planCloneUpdate,
  sameGrants,
  type ClonePlan,
} from '../../../src/rotation/engines/mysql/mysql-grants'
import { readCreateUser, readGrants } from '../../../src/rotation/engines/mysql/mysql-introspection'
import { mysqlNativePasswordHash } from '../../../src/rotation/engines/mysql/mysql-password'
import {
  createMysqlConnector,
  type MysqlCredentials,
  type MysqlSession,
} from '../../../src/rotation/engines/mysql/mysql-session'

/**
 * The clone of alternating rotation on a real MariaDB with TLS: a least-privileged master copies exactly
 * the user's grants, host pattern and account options (REQUIRE SSL, limits); later the clone is brought
 * back in line after the user's grants change; a master missing GRANT OPTION fails cleanly (AWS issue #90)
 * and a retry after the fix converges; and the three TLS modes behave as documented.
 */
jest.setTimeout(30_000)

let db: MariaDbServer
const source: MysqlAccount = { user: 'app', host: '%' }
const clone: MysqlAccount = { user: 'app_clone', host: '%' }
const MASTER = 'rotation_master'
const masterPassword = `M-${randomBytes(12).toString('hex')}`
const pw = (): string => `Pw-${randomBytes(15).toString('base64url')}`

let connect: ReturnType<typeof createMysqlConnector>
const at = (username: string, password: string, host = 'localhost'): MysqlCredentials => ({
  username,
  password,
  host,
  port: db.port,
})

async function asMaster<T>(fn: (s: MysqlSession) => Promise<T>): Promise<T> {
  const s = await connect(at(MASTER, masterPassword))
  try {
    return await fn(s)
  } finally {
    await s.close()
  }
}

/** A clone plan as setSecret will run it: the master's statements, then the clone's own, as the clone. */
async function run(plan: ClonePlan, cloneUser: string, clonePassword: string): Promise<void> {
  await asMaster(async (s) => {
    for (const sql of plan.asMaster) await s.query(sql)
  })
  if (plan.asClone.length === 0) return
  const self = await connect(at(cloneUser, clonePassword))
  try {
    for (const sql of plan.asClone) await self.query(sql)
  } finally {
    await self.close()
  }
}

beforeAll(async () => {
  db = await startMariaDb({ tls: true })
  connect = createMysqlConnector({
    tlsMode: 'verify-full',
    connectTimeoutMs: 3000,
    queryTimeoutMs: 5000,
    ca: db.tls!.caPem,
  })
  // The least privilege alternating rotation needs: create/alter users, read the grant tables, and hold
  // every privilege it copies WITH GRANT OPTION (ADMIN OPTION for roles: the role's creator has it).
  await db.query(
    `CREATE USER '${MASTER}'@'%' IDENTIFIED BY PASSWORD '${mysqlNativePasswordHash(masterPassword)}'`,
  )
  await db.query(`GRANT CREATE USER ON *.* TO '${MASTER}'@'%'`)
  await db.query(`GRANT SELECT ON mysql.* TO '${MASTER}'@'%'`)
  await db.query(`GRANT SELECT, INSERT, UPDATE ON app_db.* TO '${MASTER}'@'%' WITH GRANT OPTION`)
  await db.query('CREATE DATABASE app_db')
  await db.query('CREATE TABLE app_db.t (a INT, b INT)')
  await db.query('INSERT INTO app_db.t VALUES (1, 2)')
  await db.query('CREATE ROLE app_reader')
  await db.query('GRANT SELECT ON app_db.* TO app_reader')
  await db.query(`GRANT app_reader TO '${MASTER}'@'%' WITH ADMIN OPTION`)
  await db.query(
    `CREATE USER 'app'@'%' IDENTIFIED BY PASSWORD '${mysqlNativePasswordHash(pw())}' REQUIRE SSL WITH MAX_QUERIES_PER_HOUR 500`,
  )
  await db.query("GRANT INSERT ON app_db.* TO 'app'@'%'")
  await db.query("GRANT UPDATE (b) ON app_db.t TO 'app'@'%'")
  await db.query("GRANT app_reader TO 'app'@'%'")
  await db.query("SET DEFAULT ROLE app_reader FOR 'app'@'%'")
}, 60_000)

afterAll(async () => {
  await db.stop()
})

describe('cloning an account', () => {
  const clonePassword = pw()

  it("creates the clone with exactly the user's grants, host and options", async () => {
    // Arrange
    const [createUser, grants] = await asMaster(
      async (s) => [await readCreateUser(s, source), await readGrants(s, source)] as const,
    )
    // Act
    await run(
      planCloneCreation({
        source,
        clone,
        sourceCreateUser: createUser,
        sourceGrants: grants,
        cloneHash: mysqlNativePasswordHash(clonePassword),
      }),
      'app_clone',
      clonePassword,
    )
    // Assert
    const [cloneCreate, cloneGrants] = await asMaster(
      async (s) => [await readCreateUser(s, clone), await readGrants(s, clone)] as const,
    )
    expect(sameGrants(source, grants, clone, cloneGrants)).toBe(true)
    expect(cloneCreate).toContain('REQUIRE SSL WITH MAX_QUERIES_PER_HOUR 500')
    expect(await db.scanLogsFor(clonePassword)).toEqual([])
  })

  it('the clone can do what the user can (through its default role), and nothing more', async () => {
    const s = await connect(at('app_clone', clonePassword))
    try {
      expect(await s.query('SELECT a, b FROM app_db.t')).toEqual([{ a: 1, b: 2 }])
      await s.query('UPDATE app_db.t SET b = 3')
      await expect(s.query('UPDATE app_db.t SET a = 3')).rejects.toMatchObject({ kind: 'permission-denied' })
      await expect(s.query('DELETE FROM app_db.t')).rejects.toMatchObject({ kind: 'permission-denied' })
    } finally {
      await s.close()
    }
  })

  it('the clone inherits REQUIRE SSL: a plain-text login is refused', async () => {
    const plain = createMysqlConnector({ tlsMode: 'disable', connectTimeoutMs: 3000, queryTimeoutMs: 3000 })
    await expect(plain(at('app_clone', clonePassword, '127.0.0.1'))).rejects.toMatchObject({
      kind: 'authentication-failed',
    })
  })

  it("follows the user's grants on the next rotation, and a second run changes only the password", async () => {
    // Arrange: the user gains SELECT on a new table and loses INSERT
    await db.query('CREATE TABLE app_db.t2 (c INT)')
    await db.query("GRANT SELECT ON app_db.t2 TO 'app'@'%'")
    await db.query("REVOKE INSERT ON app_db.* FROM 'app'@'%'")
    const next = pw()
    const read = async (): Promise<{ createUser: string; grants: string[]; cloneGrants: string[] }> =>
      asMaster(async (s) => ({
        createUser: await readCreateUser(s, source),
        grants: await readGrants(s, source),
        cloneGrants: await readGrants(s, clone),
      }))
    // Act
    const before = await read()
    const plan = planCloneUpdate({
      source,
      clone,
      sourceCreateUser: before.createUser,
      sourceGrants: before.grants,
      cloneGrants: before.cloneGrants,
      cloneHash: mysqlNativePasswordHash(next),
    })
    await run(plan, 'app_clone', next)
    const after = await read()
    const again = planCloneUpdate({
      source,
      clone,
      sourceCreateUser: after.createUser,
      sourceGrants: after.grants,
      cloneGrants: after.cloneGrants,
      cloneHash: mysqlNativePasswordHash(next),
    })
    // Assert
    expect(plan.asMaster.length).toBeGreaterThan(1)
    expect(sameGrants(source, after.grants, clone, after.cloneGrants)).toBe(true)
    expect(again).toEqual({ asMaster: [expect.stringMatching(/^ALTER USER/)], asClone: [] })
    await run(again, 'app_clone', next)
    const s = await connect(at('app_clone', next))
    await expect(s.query('INSERT INTO app_db.t VALUES (9, 9)')).rejects.toMatchObject({
      kind: 'permission-denied',
    })
    expect(await s.query('SELECT c FROM app_db.t2')).toEqual([])
    await s.close()
    expect(await db.scanLogsFor(next)).toEqual([])
  })
})

describe('a master without GRANT OPTION on a privilege of the user (AWS issue #90)', () => {
  const other: MysqlAccount = { user: 'ops', host: '%' }
  const otherClone: MysqlAccount = { user: 'ops_clone', host: '%' }

  it('fails with permission-denied, and the retry after the fix converges on the exact grants', async () => {
    // Arrange: ops holds DELETE, which the master may not pass on
    await db.query(`CREATE USER 'ops'@'%' IDENTIFIED BY PASSWORD '${mysqlNativePasswordHash(pw())}'`)
    await db.query("GRANT SELECT, DELETE ON app_db.* TO 'ops'@'%'")
    const read = async (): Promise<{ createUser: string; grants: string[] }> =>
      asMaster(async (s) => ({
        createUser: await readCreateUser(s, other),
        grants: await readGrants(s, other),
      }))
    const first = await read()
    const opsClonePassword = pw()
    const hash = mysqlNativePasswordHash(opsClonePassword)
    // Act 1: CREATE USER succeeds, the GRANT fails
    const failed = run(
      planCloneCreation({
        source: other,
        clone: otherClone,
        sourceCreateUser: first.createUser,
        sourceGrants: first.grants,
        cloneHash: hash,
      }),
      'ops_clone',
      opsClonePassword,
    )
    await expect(failed).rejects.toMatchObject({ kind: 'permission-denied' })
    // Act 2: the operator fixes the master; the retry finds the half-made clone and updates it
    await db.query(`GRANT DELETE ON app_db.* TO '${MASTER}'@'%' WITH GRANT OPTION`)
    const cloneGrants = await asMaster((s) => readGrants(s, otherClone))
    await run(
      planCloneUpdate({
        source: other,
        clone: otherClone,
        sourceCreateUser: first.createUser,
        sourceGrants: first.grants,
        cloneGrants,
        cloneHash: hash,
      }),
      'ops_clone',
      opsClonePassword,
    )
    // Assert: exactly the user's grants, without GRANT OPTION
    const final = await asMaster((s) => readGrants(s, otherClone))
    expect(sameGrants(other, first.grants, otherClone, final)).toBe(true)
    expect(final.join('\n')).not.toMatch(/GRANT OPTION/)
  })
})

describe('TLS modes', () => {
  it('verify-full with the CA accepts the server named localhost', async () => {
    const s = await connect(at(MASTER, masterPassword, 'localhost'))
    const [row] = await s.query<{ v: string }>("SHOW SESSION STATUS LIKE 'Ssl_version'")
    await s.close()
    expect(row).toBeDefined()
  })

  it('verify-full without the CA refuses the certificate', async () => {
    const strict = createMysqlConnector({
      tlsMode: 'verify-full',
      connectTimeoutMs: 3000,
      queryTimeoutMs: 3000,
    })
    const error = await strict(at(MASTER, masterPassword, 'localhost')).catch((e: unknown) => e)
    expect(error).toMatchObject({ kind: 'unavailable', code: 'HANDSHAKE_SSL_ERROR' })
  })

  it('require encrypts without verifying; disable does not encrypt', async () => {
    const status = async (mode: 'require' | 'disable'): Promise<string> => {
      const c = createMysqlConnector({ tlsMode: mode, connectTimeoutMs: 3000, queryTimeoutMs: 3000 })
      const s = await c(at(MASTER, masterPassword, '127.0.0.1'))
      const [row] = await s.query<{ Value: string }>("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
      await s.close()
      return row?.Value ?? ''
    }
    expect(await status('require')).not.toBe('')
    expect(await status('disable')).toBe('')
  })
})
