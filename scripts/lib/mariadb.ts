import { createHash, randomBytes } from 'node:crypto'
import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { join } from 'node:path'
import { createConnection } from 'mysql2/promise'
import { freePort, waitFor } from './ports'
import { fileSource, scanSourcesFor, type LogHit, type LogSource } from './log-scan'
import { makeTempDir, startProcess, type Started } from './processes'
import { chownAll, runningAsRoot, serverSpawnOptions, systemUserIds, type SystemUserIds } from './system-user'
import { makeTestCertificates, type TestCertificates } from './test-certs'

/**
 * A private MariaDB server for the integration tests: its own data directory in a temp dir
 * (`mariadb-install-db`), `mariadbd` on 127.0.0.1 and a free port with its socket in the temp dir, an admin
 * user with a random password, and all three logs a password could land in switched on: the general log
 * (every statement as received), the slow log with `long_query_time = 0` (every statement, admin ones
 * included) and the binary log. No option file is read (`--no-defaults`), so the machine's
 * /etc/mysql configuration and its own server (if any) are never touched; only the `mariadbd` started here
 * is ever stopped, by its PID.
 *
 * Cost: install ~2 s, start ~0.2 s, stop ~1 s on the 2-core machine; start one server per test file.
 */
export interface MariaDbServer {
  readonly host: '127.0.0.1'
  readonly port: number
  readonly socketPath: string
  readonly adminUser: string
  readonly adminPassword: string
  readonly dataDir: string
  readonly logs: {
    readonly general: string
    readonly slow: string
    readonly error: string
    readonly binlogDir: string
  }
  /** The CA and server certificate when started with `tls: true`. */
  readonly tls: TestCertificates | undefined
  readonly version: string
  /** One statement as the admin user over TCP (a fresh connection each call). Rows for a SELECT, else []. */
  query<R extends Record<string, unknown> = Record<string, unknown>>(
    sql: string,
    params?: readonly unknown[],
  ): Promise<R[]>
  /** Every log the server keeps (general, slow, error, each binary log file), read as raw bytes. */
  logSources(): LogSource[]
  /**
   * Where `secret` appears in those logs (text, hex, base64); empty when nowhere. Waits first until the
   * server has written everything before it: the slow log line of a statement is written after the client
   * got its answer, so a scan right after a query could miss it and pass for the wrong reason.
   */
  scanLogsFor(secret: string): Promise<LogHit[]>
  readGeneralLog(): string
  stop(): Promise<void>
}

export interface MariaDbOptions {
  /** Serve TLS with a throw-away CA (`tls.caPem`) and a certificate for `localhost` and 127.0.0.1. */
  readonly tls?: boolean
  readonly startTimeoutMs?: number
  /** Extra `--name=value` server options. */
  readonly settings?: Readonly<Record<string, string>>
}

export const MARIADB_INSTALL_HINT =
  'MariaDB server binaries were not found (mariadbd in /usr/sbin, mariadb-install-db on PATH).\n' +
  'The MySQL/MariaDB rotation tests need them: apt-get install mariadb-server'

const ADMIN_USER = 'broker_test_admin'

interface MariaDbBinaries {
  readonly server: string
  readonly installDb: string
}

/** mariadbd and mariadb-install-db (or the older mysql_install_db) from Debian's mariadb-server. */
export function findMariaDbBinaries(
  dirs = ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin'],
): MariaDbBinaries {
  const find = (names: string[]): string | undefined => {
    for (const name of names)
      for (const dir of dirs) {
        try {
          accessSync(join(dir, name), constants.X_OK)
          return join(dir, name)
        } catch {
          // not here
        }
      }
    return undefined
  }
  const server = find(['mariadbd', 'mysqld'])
  const installDb = find(['mariadb-install-db', 'mysql_install_db'])
  if (server === undefined || installDb === undefined) throw new Error(MARIADB_INSTALL_HINT)
  return { server, installDb }
}

/** `*` + upper-case hex SHA1(SHA1(password)): lets the admin be created without its password in any file. */
const nativeHash = (password: string): string =>
  `*${createHash('sha1').update(createHash('sha1').update(password).digest()).digest('hex').toUpperCase()}`

async function runToCompletion(
  command: string,
  args: string[],
  logFile: string,
  cwd: string,
  user: SystemUserIds | undefined,
): Promise<void> {
  const proc = startProcess(command, args, { ...serverSpawnOptions(cwd, user, 'mysql'), logFile })
  const code = await new Promise<number | null>((resolve, reject) => {
    proc.child.once('error', reject)
    proc.child.once('exit', (c) => resolve(c))
  })
  if (code !== 0)
    throw new Error(`${command.split('/').at(-1) ?? command} exited with code ${code}`)
}

/**
 * Install and start a fresh server. Always pair with `stop()`, in `afterAll` or a `finally`.
 * @example const db = await startMariaDb(); try { await db.query('select 1') } finally { await db.stop() }
 */
export async function startMariaDb(opts: MariaDbOptions = {}): Promise<MariaDbServer> {
  const bins = findMariaDbBinaries()
  const user = runningAsRoot() ? systemUserIds('mysql', 'mariadb-server') : undefined
  const root = makeTempDir('broker-mariadb')
  const dataDir = join(root, 'data')
  const logDir = join(root, 'logs')
  const socketPath = join(root, 'mysqld.sock')
  const setupLog = join(root, 'setup.log')
  const initSql = join(root, 'init.sql')
  // Its own temporary folder: bootstraps that share /tmp remove each other's temporary tables
  // ("Unknown table 'mysql.tmp_user_sys'" when two tests install at once).
  const tmpDir = join(root, 'tmp')
  mkdirSync(logDir)
  mkdirSync(tmpDir)
  const logs = {
    general: join(logDir, 'general.log'),
    slow: join(logDir, 'slow.log'),
    error: join(logDir, 'error.log'),
    binlogDir: logDir,
  }
  const adminPassword = `mdb-${randomBytes(18).toString('base64url')}`
  writeFileSync(initSql, adminBootstrapSql(adminPassword), { mode: 0o600 })
  const tls = opts.tls === true ? makeTestCertificates(mkdirAndReturn(join(root, 'tls'))) : undefined
  chownAll(
    [
      root,
      logDir,
      tmpDir,
      initSql,
      ...(tls === undefined ? [] : [join(root, 'tls'), tls.caFile, tls.certFile, tls.keyFile]),
    ],
    user,
  )

  let server: Started | undefined
  try {
    await runToCompletion(
      bins.installDb,
      [
        '--no-defaults',
        `--datadir=${dataDir}`,
        '--skip-test-db',
        '--skip-name-resolve',
        `--tmpdir=${tmpDir}`,
        '--auth-root-authentication-method=socket',
        `--extra-file=${initSql}`,
      ],
      setupLog,
      root,
      user,
    )
    rmSync(initSql, { force: true })
    let lastError: unknown
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort()
      const settings = serverSettings({
        root,
        dataDir,
        logDir,
        tmpDir,
        socketPath,
        port,
        logs,
        tls,
        extra: opts.settings,
      })
      const args = ['--no-defaults', ...Object.entries(settings).map(([k, v]) => `--${k}=${v}`)]
      const proc = startProcess(bins.server, args, {
        ...serverSpawnOptions(root, user, 'mysql'),
        logFile: join(root, 'stdout.log'),
        graceMs: 10_000,
        ownerDir: root,
      })
      server = proc
      const query = makeQuery(port, adminPassword)
      try {
        await waitFor(
          async () => {
            await query('SELECT 1')
            return true
          },
          {
            timeoutMs: opts.startTimeoutMs ?? 30_000,
            what: `MariaDB on port ${port}`,
            intervalMs: 50,
            abortIf: () =>
              proc.child.exitCode === null ? undefined : `mariadbd exited with code ${proc.child.exitCode}`,
          },
        )
        const [row] = await query<{ v: string }>('SELECT VERSION() AS v')
        const started = proc
        const stopAndClean = async (): Promise<void> => {
          await started.stop()
          server = undefined
          rmSync(root, { recursive: true, force: true })
        }
        return serverHandle({
          port,
          socketPath,
          adminPassword,
          dataDir,
          logs,
          tls,
          version: row?.v ?? 'unknown',
          query,
          stop: stopAndClean,
        })
      } catch (err) {
        lastError = err
        await proc.stop()
        server = undefined
      }
    }
    throw new Error(`MariaDB did not start: ${String(lastError)}`)
  } catch (err) {
    if (server !== undefined) await server.stop()
    // The folder goes away with the error, so the error carries the ends of both logs (without the admin
    // password of this throw-away server, should a tool ever echo it).
    const tail = [setupLog, logs.error]
      .filter((file) => existsSync(file))
      .map((file) => `--- ${file.split('/').at(-1) ?? file}:\n${readFileSync(file, 'utf8').slice(-2000)}`)
      .join('\n')
      .replaceAll(adminPassword, '<admin password>')
    rmSync(root, { recursive: true, force: true })
    throw new Error(`${String(err)}\n${tail}`)
  }
}

/** The handle a test holds: connection facts, the admin query, the log scan, stop. */
function serverHandle(p: {
  port: number
  socketPath: string
  adminPassword: string
  dataDir: string
  logs: MariaDbServer['logs']
  tls: TestCertificates | undefined
  version: string
  query: MariaDbServer['query']
  stop: () => Promise<void>
}): MariaDbServer {
  const logSources = (): LogSource[] => [
    fileSource('general log', p.logs.general),
    fileSource('slow log', p.logs.slow),
    fileSource('error log', p.logs.error),
    ...readdirSync(p.logs.binlogDir)
      .filter((f) => /^binlog\.\d+$/.test(f))
      .map((f) => fileSource(f, join(p.logs.binlogDir, f))),
  ]
  return {
    host: '127.0.0.1',
    port: p.port,
    socketPath: p.socketPath,
    adminUser: ADMIN_USER,
    adminPassword: p.adminPassword,
    dataDir: p.dataDir,
    logs: p.logs,
    tls: p.tls,
    version: p.version,
    query: p.query,
    logSources,
    scanLogsFor: async (secret) => {
      await settleLogs(p.query, p.logs)
      return scanSourcesFor(secret, logSources())
    },
    readGeneralLog: () => readFileSync(p.logs.general, 'utf8'),
    stop: p.stop,
  }
}

/** mariadbd's options: loopback only, every log a password could reach, small and unsynced (test data). */
function serverSettings(p: {
  root: string
  dataDir: string
  logDir: string
  tmpDir: string
  socketPath: string
  port: number
  logs: MariaDbServer['logs']
  tls: TestCertificates | undefined
  extra: Readonly<Record<string, string>> | undefined
}): Record<string, string> {
  return {
    datadir: p.dataDir,
    tmpdir: p.tmpDir,
    'bind-address': '127.0.0.1',
    port: String(p.port),
    socket: p.socketPath,
    'pid-file': join(p.root, 'mysqld.pid'),
    'log-error': p.logs.error,
    'general-log': '1',
    'general-log-file': p.logs.general,
    'slow-query-log': '1',
    'slow-query-log-file': p.logs.slow,
    'long-query-time': '0',
    'log-slow-admin-statements': 'ON',
    'log-output': 'FILE',
    'log-bin': join(p.logDir, 'binlog'),
    'server-id': '1',
    'skip-name-resolve': '1',
    'performance-schema': 'OFF',
    'innodb-buffer-pool-size': '32M',
    'innodb-flush-log-at-trx-commit': '0',
    'sync-binlog': '0',
    'max-connections': '40',
    ...(p.tls === undefined
      ? {}
      : { 'ssl-ca': p.tls.caFile, 'ssl-cert': p.tls.certFile, 'ssl-key': p.tls.keyFile }),
    ...p.extra,
  }
}

/** The admin accounts, created at bootstrap from their hash (the password is in no file). */
function adminBootstrapSql(adminPassword: string): string {
  // Bootstrap runs with the grant tables off; FLUSH PRIVILEGES loads them so CREATE USER works.
  return [
    'FLUSH PRIVILEGES;',
    ...['127.0.0.1', 'localhost'].flatMap((host) => [
      `CREATE USER '${ADMIN_USER}'@'${host}' IDENTIFIED BY PASSWORD '${nativeHash(adminPassword)}';`,
      `GRANT ALL PRIVILEGES ON *.* TO '${ADMIN_USER}'@'${host}' WITH GRANT OPTION;`,
    ]),
    '',
  ].join('\n')
}

/** Run a marker statement and wait until it is in the general and slow logs (statements before it are too). */
async function settleLogs(query: MariaDbServer['query'], logs: MariaDbServer['logs']): Promise<void> {
  const marker = `log-settle-${randomBytes(8).toString('hex')}`
  await query(`SELECT '${marker}' AS marker`)
  await waitFor(
    () =>
      Promise.resolve(
        [logs.general, logs.slow].every((f) => existsSync(f) && readFileSync(f, 'utf8').includes(marker)),
      ),
    { timeoutMs: 5000, what: 'the MariaDB logs to settle', intervalMs: 10 },
  )
}

function mkdirAndReturn(dir: string): string {
  mkdirSync(dir)
  return dir
}

function makeQuery(port: number, password: string): MariaDbServer['query'] {
  return async <R extends Record<string, unknown>>(
    sql: string,
    params?: readonly unknown[],
  ): Promise<R[]> => {
    const conn = await createConnection({
      host: '127.0.0.1',
      port,
      user: ADMIN_USER,
      password,
      connectTimeout: 2000,
    })
    try {
      const [rows] = await conn.query(sql, params === undefined ? undefined : [...params])
      return Array.isArray(rows) ? (rows as R[]) : []
    } finally {
      await conn.end().catch(() => undefined)
    }
  }
}
