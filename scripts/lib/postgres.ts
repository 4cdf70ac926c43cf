import { spawn } from 'node:child_process'
import {
  accessSync,
  chownSync,
  constants,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { Client } from 'pg'
import { freePort, waitFor } from './ports'
import { makeTempDir, startProcess, type Started } from './processes'

/**
 * A private PostgreSQL cluster for the integration tests and `npm start`: its own data directory in a temp
 * dir, password authentication only (scram-sha-256, or md5 on request; never trust), listening on 127.0.0.1 on a free port, its
 * unix socket inside the temp dir, every statement logged to a file the tests read. The machine's default
 * clusters are never touched, and only the postmaster started here is ever stopped.
 */
export interface PostgresCluster {
  readonly host: '127.0.0.1'
  readonly port: number
  readonly superuser: string
  readonly superuserPassword: string
  readonly dataDir: string
  /** The server's log (log_statement = all). */
  readonly logFile: string
  /** Run one statement as the superuser on `database` (default `postgres`). */
  query<R extends Record<string, unknown> = Record<string, unknown>>(
    sql: string,
    params?: readonly unknown[],
    database?: string,
  ): Promise<R[]>
  /** The server log so far. */
  readLog(): string
  stop(): Promise<void>
}

export interface PostgresClusterOptions {
  /** Extra `-c name=value` server settings (e.g. `password_encryption: 'md5'`). */
  readonly settings?: Readonly<Record<string, string>>
  /**
   * The pg_hba.conf method for every connection (default scram-sha-256). `md5` also accepts SCRAM-stored
   * passwords (PostgreSQL upgrades the exchange), so it is what a cluster storing md5 passwords needs.
   */
  readonly authMethod?: 'scram-sha-256' | 'md5'
  readonly startTimeoutMs?: number
  /** Try this port first (e.g. the port a local stack's secrets name); a free one is used if it is taken. */
  readonly port?: number
}

export const POSTGRES_INSTALL_HINT =
  'No PostgreSQL server binaries were found under /usr/lib/postgresql/*/bin (initdb, postgres).\n' +
  'The rotation tests and the local demo database need them: apt-get install postgresql-15'

const SUPERUSER = 'broker_test_admin'

/** The newest /usr/lib/postgresql/<major>/bin that has initdb and postgres. */
export function findPostgresBinDir(root = '/usr/lib/postgresql'): string {
  let majors: string[] = []
  try {
    majors = readdirSync(root).filter((d) => /^\d+(\.\d+)?$/.test(d))
  } catch {
    // no PostgreSQL at all
  }
  majors.sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a))
  for (const major of majors) {
    const bin = join(root, major, 'bin')
    try {
      accessSync(join(bin, 'initdb'), constants.X_OK)
      accessSync(join(bin, 'postgres'), constants.X_OK)
      return bin
    } catch {
      // incomplete install; try the next one
    }
  }
  throw new Error(POSTGRES_INSTALL_HINT)
}

const runningAsRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0

/**
 * initdb and postgres refuse to run as root. As root they run as the `postgres` system user, by giving the
 * child that uid/gid (what `runuser -u postgres --` does, minus the wrapper process): the PID we track is
 * then the postmaster itself, so stop() signals exactly the server it started and nothing else.
 */
function serverUserOptions(cwd: string): { uid?: number; gid?: number; cwd: string; env: NodeJS.ProcessEnv } {
  const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', LANG: 'C', LC_ALL: 'C' }
  if (!runningAsRoot()) return { cwd, env }
  const { uid, gid } = postgresIds()
  return { uid, gid, cwd, env: { ...env, HOME: cwd, USER: 'postgres' } }
}

async function run(command: string, args: string[], logFile: string, cwd: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn(command, args, { ...serverUserOptions(cwd), stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (d: Buffer) => (output += d.toString()))
    child.stderr.on('data', (d: Buffer) => (output += d.toString()))
    child.on('error', reject)
    child.on('exit', (code) => {
      writeFileSync(logFile, output, { flag: 'a' })
      if (code === 0) resolve()
      else
        reject(new Error(`${command.split('/').at(-1) ?? command} exited with code ${code}; see ${logFile}`))
    })
  })
}

function postgresIds(): { uid: number; gid: number } {
  const passwd = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'))
  const parts = passwd?.split(':')
  if (parts?.[2] === undefined || parts[3] === undefined) {
    throw new Error('running as root needs the `postgres` system user (it comes with the postgresql package)')
  }
  return { uid: Number(parts[2]), gid: Number(parts[3]) }
}

/**
 * Start a fresh cluster (initdb takes 1–3 s). Always pair with `stop()`, in `afterAll` or a `finally`.
 * @example const pg = await startPostgresCluster(); try { await pg.query('select 1') } finally { await pg.stop() }
 */
export async function startPostgresCluster(opts: PostgresClusterOptions = {}): Promise<PostgresCluster> {
  const bin = findPostgresBinDir()
  const root = makeTempDir('broker-pg')
  const dataDir = join(root, 'data')
  const socketDir = join(root, 'socket')
  const logFile = join(root, 'postgres.log')
  const setupLog = join(root, 'setup.log')
  const pwFile = join(root, 'superuser.pw')
  const superuserPassword = `pg-${randomBytes(18).toString('base64url')}`
  writeFileSync(pwFile, superuserPassword, { mode: 0o600 })
  writeFileSync(logFile, '')
  mkdirSync(socketDir)
  if (runningAsRoot()) {
    const { uid, gid } = postgresIds()
    for (const p of [root, socketDir, pwFile, logFile]) chownSync(p, uid, gid)
  }

  let server: Started | undefined
  const cleanUp = async (): Promise<void> => {
    if (server !== undefined) await server.stop()
    rmSync(root, { recursive: true, force: true })
  }
  try {
    await run(
      join(bin, 'initdb'),
      [
        '-D',
        dataDir,
        '-U',
        SUPERUSER,
        `--pwfile=${pwFile}`,
        `--auth=${opts.authMethod ?? 'scram-sha-256'}`,
        '--encoding=UTF8',
        '--locale=C',
        '--no-sync',
        '--no-instructions',
      ],
      setupLog,
      root,
    )
    rmSync(pwFile, { force: true })
    let lastError: unknown
    for (let attempt = 0; attempt < 3; attempt++) {
      const port =
        attempt === 0 && opts.port !== undefined && (await isPortFree(opts.port))
          ? opts.port
          : await freePort()
      const settings: Record<string, string> = {
        listen_addresses: '127.0.0.1',
        port: String(port),
        unix_socket_directories: socketDir,
        password_encryption: 'scram-sha-256',
        log_statement: 'all',
        logging_collector: 'off',
        log_connections: 'on',
        fsync: 'off',
        synchronous_commit: 'off',
        full_page_writes: 'off',
        max_connections: '40',
        shared_buffers: '16MB',
        ...opts.settings,
      }
      const args = ['-D', dataDir, ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])]
      // The server's stderr (its log, since logging_collector is off) goes to logFile, which we own.
      const proc = startProcess(join(bin, 'postgres'), args, {
        ...serverUserOptions(root),
        logFile,
        graceMs: 5000,
        ownerDir: root,
      })
      server = proc
      try {
        const query = makeQuery(port, superuserPassword)
        await waitFor(
          async () => {
            if (proc.child.exitCode !== null)
              throw new Error(`postgres exited with code ${proc.child.exitCode}`)
            await query('select 1')
            return true
          },
          { timeoutMs: opts.startTimeoutMs ?? 20_000, what: `PostgreSQL on port ${port}`, intervalMs: 50 },
        )
        const started = proc
        return {
          host: '127.0.0.1',
          port,
          superuser: SUPERUSER,
          superuserPassword,
          dataDir,
          logFile,
          query,
          readLog: () => readFileSync(logFile, 'utf8'),
          stop: async () => {
            // SIGTERM is PostgreSQL's "smart" shutdown, which waits for clients and would hang on a leaked
            // connection; SIGINT is "fast" (pg_ctl stop -m fast): disconnect clients, then stop.
            if (started.child.exitCode === null && started.child.signalCode === null) {
              const exited = new Promise<void>((resolve) => started.child.once('exit', () => resolve()))
              started.child.kill('SIGINT')
              const timer = setTimeout(() => started.child.kill('SIGKILL'), 5000)
              await exited
              clearTimeout(timer)
            }
            server = undefined
            rmSync(root, { recursive: true, force: true })
          },
        }
      } catch (err) {
        lastError = err
        await proc.stop()
        server = undefined
      }
    }
    throw new Error(`PostgreSQL did not start: ${String(lastError)}; see ${logFile}`)
  } catch (err) {
    await cleanUp()
    throw err
  }
}

async function isPortFree(port: number): Promise<boolean> {
  const { createServer } = await import('node:net')
  return new Promise((resolve) => {
    const srv = createServer()
    srv.once('error', () => resolve(false))
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)))
  })
}

function makeQuery(port: number, password: string): PostgresCluster['query'] {
  return async <R extends Record<string, unknown>>(
    sql: string,
    params?: readonly unknown[],
    database = 'postgres',
  ): Promise<R[]> => {
    const client = new Client({
      host: '127.0.0.1',
      port,
      user: SUPERUSER,
      password,
      database,
      connectionTimeoutMillis: 2000,
    })
    client.on('error', () => undefined)
    await client.connect()
    try {
      const res = await client.query<R>(sql, params === undefined ? undefined : [...params])
      return res.rows
    } finally {
      await client.end().catch(() => undefined)
    }
  }
}
