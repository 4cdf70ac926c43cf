import { randomBytes } from 'node:crypto'
import { dirname } from 'node:path'
import { startMariaDb, type MariaDbServer } from '../../../scripts/lib/mariadb'
import { scanSourcesFor } from '../../../scripts/lib/log-scan'
import { startTcpCapture, type TcpCapture } from '../../../scripts/lib/tcp-capture'
import { EngineError } from '../../../src/rotation/engines/engine-error'
import { quoteAccount } from '../../../src/rotation/engines/mysql/mysql-account'
import {
  accountExists,
  readCreateUser,
  readCurrentAccount,
  readGrants,
  readServerFlavor,
  resolveAccount,
} from '../../../src/rotation/engines/mysql/mysql-introspection'
import {
  alterUserPasswordStatement,
  mysqlNativePasswordHash,
  setOwnPasswordStatement,
} from '../../../src/rotation/engines/mysql/mysql-password'
import {
  createMysqlConnector,
  type MysqlCredentials,
} from '../../../src/rotation/engines/mysql/mysql-session'

/**
 * The MySQL primitives against a real MariaDB (Debian's mariadb-server, a private instance with the
 * general, slow and binary logs on): the hash is accepted, the plain password reaches no log and not even
 * the wire, and each wrong way to do it is shown to leak, so the scan is known to see a leak.
 */
jest.setTimeout(30_000)

let db: MariaDbServer
let capture: TcpCapture
const connect = createMysqlConnector({ tlsMode: 'disable', connectTimeoutMs: 3000, queryTimeoutMs: 5000 })
const newPassword = (): string => `Pw-${randomBytes(15).toString('base64url')}!#%`
const creds = (username: string, password: string, port = db.port): MysqlCredentials => ({
  username,
  password,
  host: '127.0.0.1',
  port,
})

async function loginError(username: string, password: string): Promise<EngineError | undefined> {
  try {
    const s = await connect(creds(username, password))
    await s.close()
    return undefined
  } catch (err) {
    return err as EngineError
  }
}

async function createUser(user: string, password: string): Promise<void> {
  await db.query(`CREATE USER '${user}'@'%' IDENTIFIED BY PASSWORD '${mysqlNativePasswordHash(password)}'`)
}

beforeAll(async () => {
  db = await startMariaDb()
  capture = await startTcpCapture({ host: '127.0.0.1', port: db.port })
}, 60_000)

afterAll(async () => {
  // Either may be missing when beforeAll failed; its error is the one to read.
  await capture?.stop()
  await db?.stop()
})

describe('the MariaDB harness', () => {
  it('installs servers side by side: three at once all start, each with its own temporary folder', async () => {
    // Arrange + Act: bootstraps that shared /tmp removed each other's temporary tables (a CI failure)
    const servers = await Promise.allSettled([startMariaDb(), startMariaDb(), startMariaDb()])
    const started = servers.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []))
    try {
      // Assert
      expect(servers.map((s) => (s.status === 'fulfilled' ? 'started' : String(s.reason)))).toEqual([
        'started',
        'started',
        'started',
      ])
      const tmpDirs = await Promise.all(
        started.map(async (server) => {
          const [row] = await server.query<{ t: string }>('SELECT @@tmpdir AS t')
          return { tmp: row?.t ?? '', root: dirname(server.dataDir) }
        }),
      )
      for (const { tmp, root } of tmpDirs) expect(tmp.startsWith(`${root}/`)).toBe(true)
      expect(new Set(tmpDirs.map((d) => d.tmp)).size).toBe(3)
    } finally {
      await Promise.all(started.map((server) => server.stop()))
    }
  }, 90_000)
})

describe('the MariaDB harness sees a leaked password', () => {
  it('finds IDENTIFIED BY <plain> in the general, slow and binary logs', async () => {
    // Arrange
    const leaked = newPassword()
    // Act: the naive statement every template uses
    await db.query(`CREATE USER 'leaky'@'%' IDENTIFIED BY '${leaked}'`)
    // Assert
    const sources = (await db.scanLogsFor(leaked)).map((h) => h.source)
    expect(sources).toEqual(expect.arrayContaining(['general log', 'slow log', 'binlog.000001']))
  })

  it("finds SET PASSWORD = PASSWORD('<plain>') in the general and slow logs", async () => {
    const leaked = newPassword()
    await db.query(`SET PASSWORD FOR 'leaky'@'%' = PASSWORD('${leaked}')`)
    expect((await db.scanLogsFor(leaked)).map((h) => h.source)).toEqual(
      expect.arrayContaining(['general log', 'slow log']),
    )
  })
})

describe('setting a password by its mysql_native_password hash', () => {
  it('master: ALTER USER … AS <hash> changes the password; the plain text reaches no log and not the wire', async () => {
    // Arrange: a master connected through the recording relay
    const oldPassword = newPassword()
    const password = newPassword()
    await createUser('app_alt', oldPassword)
    capture.clear()
    const master = await connect(creds(db.adminUser, db.adminPassword, capture.port))
    // Act
    await master.query(
      alterUserPasswordStatement({ user: 'app_alt', host: '%' }, mysqlNativePasswordHash(password)),
    )
    await master.close()
    // Assert: new password logs in (through the relay too), the old one is refused
    const session = await connect(creds('app_alt', password, capture.port))
    await session.close()
    expect((await loginError('app_alt', oldPassword))?.kind).toBe('authentication-failed')
    const [row] = await db.query<{ a: string }>(
      "SELECT authentication_string AS a FROM mysql.user WHERE User = 'app_alt'",
    )
    expect(row?.a).toBe(mysqlNativePasswordHash(password))
    expect(await db.scanLogsFor(password)).toEqual([])
    expect(scanSourcesFor(password, [{ name: 'wire', bytes: capture.clientBytes() }])).toEqual([])
    expect(db.readGeneralLog()).toContain(mysqlNativePasswordHash(password))
  })

  it('single user on MariaDB: SET PASSWORD = <hash> works without any privilege and leaks nothing', async () => {
    // Arrange
    const oldPassword = newPassword()
    const password = newPassword()
    await createUser('app_single', oldPassword)
    const self = await connect(creds('app_single', oldPassword))
    const { flavor } = await readServerFlavor(self)
    // Act
    await self.query(setOwnPasswordStatement(flavor, mysqlNativePasswordHash(password)))
    await self.close()
    // Assert
    expect(flavor).toBe('mariadb')
    expect(await loginError('app_single', password)).toBeUndefined()
    expect((await loginError('app_single', oldPassword))?.kind).toBe('authentication-failed')
    expect(await db.scanLogsFor(password)).toEqual([])
  })

  it("single user on MariaDB: MySQL's ALTER USER CURRENT_USER() is refused without CREATE USER", async () => {
    const oldPassword = newPassword()
    await createUser('app_self_alter', oldPassword)
    const self = await connect(creds('app_self_alter', oldPassword))
    const attempt = self.query(setOwnPasswordStatement('mysql', mysqlNativePasswordHash(newPassword())))
    await expect(attempt).rejects.toMatchObject({
      kind: 'permission-denied',
      code: 'ER_SPECIFIC_ACCESS_DENIED_ERROR',
    })
    await self.close()
  })

  it('a password with every printable ASCII character survives the round trip', async () => {
    const password = Array.from({ length: 94 }, (_, i) => String.fromCharCode(33 + i)).join('') + ' x'
    await createUser('app_ascii', newPassword())
    await db.query(
      alterUserPasswordStatement({ user: 'app_ascii', host: '%' }, mysqlNativePasswordHash(password)),
    )
    expect(await loginError('app_ascii', password)).toBeUndefined()
    expect(await db.scanLogsFor(password)).toEqual([])
  })

  it('the server computes the same hash as we do', async () => {
    // A throw-away value: PASSWORD() puts its argument in the logs, which is the point of not using it.
    const sample = `sample-${randomBytes(6).toString('hex')}`
    const [row] = await db.query<{ h: string }>('SELECT PASSWORD(?) AS h', [sample])
    expect(row?.h).toBe(mysqlNativePasswordHash(sample))
  })
})

describe('errors', () => {
  it('a wrong password is authentication-failed, with a message naming no value', async () => {
    const secret = newPassword()
    const error = await loginError(db.adminUser, secret)
    expect(error).toBeInstanceOf(EngineError)
    expect(error?.kind).toBe('authentication-failed')
    expect(error?.message).not.toContain(secret)
    expect(error?.message).not.toContain(db.adminUser)
  })

  it('a server that is down is unavailable', async () => {
    const error = await connect(creds(db.adminUser, db.adminPassword, 1)).catch((e: unknown) => e)
    expect(error).toMatchObject({ kind: 'unavailable', code: 'ECONNREFUSED' })
  })

  it('a failing statement does not carry its SQL (which can hold a hash)', async () => {
    const hash = mysqlNativePasswordHash(newPassword())
    const master = await connect(creds(db.adminUser, db.adminPassword))
    const error = await master
      .query(`ALTER USER 'nobody_here'@'%' IDENTIFIED WITH mysql_native_password AS '${hash}'`)
      .catch((e: unknown) => e)
    await master.close()
    expect(error).toBeInstanceOf(EngineError)
    expect(JSON.stringify(error)).not.toContain(hash)
    expect(String(error)).not.toContain(hash)
    expect((error as Error).cause).toBeUndefined()
  })
})

describe('introspection', () => {
  it('resolves the single account of a user, and refuses an ambiguous one', async () => {
    await db.query(
      `CREATE USER 'app_hosts'@'10.%' IDENTIFIED BY PASSWORD '${mysqlNativePasswordHash('x-unused-1')}'`,
    )
    const master = await connect(creds(db.adminUser, db.adminPassword))
    expect(await resolveAccount(master, 'app_hosts')).toEqual({ user: 'app_hosts', host: '10.%' })
    await db.query(
      `CREATE USER 'app_hosts'@'192.168.%' IDENTIFIED BY PASSWORD '${mysqlNativePasswordHash('x-unused-2')}'`,
    )
    await expect(resolveAccount(master, 'app_hosts')).rejects.toMatchObject({ kind: 'invalid-input' })
    expect(await resolveAccount(master, 'app_hosts', '192.168.%')).toEqual({
      user: 'app_hosts',
      host: '192.168.%',
    })
    expect(await accountExists(master, { user: 'app_hosts', host: '%' })).toBe(false)
    expect(await readCurrentAccount(master)).toEqual({ user: db.adminUser, host: '127.0.0.1' })
    expect(await readCreateUser(master, { user: 'app_hosts', host: '10.%' })).toMatch(
      /^CREATE USER `app_hosts`@`10\.%`/,
    )
    expect(await readGrants(master, { user: 'app_hosts', host: '10.%' })).toHaveLength(1)
    await master.close()
    expect(quoteAccount({ user: 'app_hosts', host: '10.%' })).toBe("'app_hosts'@'10.%'")
  })
})
