import { createHash, randomBytes } from 'node:crypto'
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  type WriteStream,
} from 'node:fs'
import { connect, type Socket } from 'node:net'
import { join } from 'node:path'
import { createClient } from '@redis/client'
import { freePort, waitFor } from './ports'
import { fileSource, scanSourcesFor, type LogHit, type LogSource } from './log-scan'
import { findOnPath, makeTempDir, startProcess, type Started } from './processes'
import { chownAll, runningAsRoot, serverSpawnOptions, systemUserIds } from './system-user'
import { makeTestCertificates, type TestCertificates } from './test-certs'

/**
 * A private Redis server for the integration tests: `redis-server` from Debian's package with a config file
 * of our own (the machine's /etc/redis is never read), on 127.0.0.1 and a free port, no persistence, ACLs on:
 * the `default` user is switched off with no password and no commands, and an admin user logs in with a
 * random password given to the server only as its SHA-256 hash. Only the process started here is ever
 * stopped, by its PID.
 *
 * What the server "saw", for the tests that prove a password never reached it:
 * - MONITOR, captured by the harness from start to stop into a file. Redis keeps admin commands
 *   (ACL SETUSER, CONFIG…) out of MONITOR altogether and shows AUTH/HELLO arguments as "(redacted)", so
 *   MONITOR proves little for ACL changes; it is scanned anyway.
 * - SLOWLOG, with `slowlog-log-slower-than 0` so every command is kept: Redis 7 keeps ACL SETUSER there but
 *   with every argument "(redacted)".
 * - ACL LOG: failed logins and denied commands (user name, client info; never the password tried).
 * - the server log at `verbose`: connections, never commands.
 * The wire itself is the real proof: put `startTcpCapture` (tcp-capture.ts) between client and server.
 *
 * Cost: start ~50 ms, stop ~20 ms.
 */
export interface RedisServer {
  readonly host: '127.0.0.1'
  readonly port: number
  /** The TLS port when started with `tls: true` (the plain port stays open for the harness). */
  readonly tlsPort: number | undefined
  readonly tls: TestCertificates | undefined
  readonly adminUser: string
  readonly adminPassword: string
  readonly version: string
  readonly logFile: string
  readonly monitorFile: string
  /** One command as the admin user (RESP2 replies: strings, numbers, arrays, null). */
  command(args: readonly string[]): Promise<unknown>
  /** MONITOR capture, server log, and the current SLOWLOG and ACL LOG as text. */
  logSources(): Promise<LogSource[]>
  /** Where `secret` appears in those sources (text, hex, base64); empty when nowhere. */
  scanLogsFor(secret: string): Promise<LogHit[]>
  stop(): Promise<void>
}

export interface RedisOptions {
  /** Also listen with TLS on `tlsPort`, with a throw-away CA (`tls.caPem`) and a certificate for localhost. */
  readonly tls?: boolean
  readonly startTimeoutMs?: number
  /** Extra config lines (`name value`). */
  readonly config?: readonly string[]
}

export const REDIS_INSTALL_HINT =
  'redis-server was not found on PATH (or in /usr/bin).\n' +
  'The Redis ACL rotation tests need it: apt-get install redis-server'

const ADMIN_USER = 'broker_test_admin'
const sha256Hex = (s: string): string => createHash('sha256').update(s).digest('hex')

/** RESP encoding of one command, so the MONITOR connection needs no client library. */
const resp = (args: readonly string[]): string =>
  `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`

/** A raw MONITOR connection whose every byte goes to `file`; resolves once MONITOR answered +OK. */
async function startMonitor(
  port: number,
  password: string,
  file: string,
): Promise<{ stop(): Promise<void> }> {
  const out: WriteStream = createWriteStream(file, { flags: 'a' })
  const socket: Socket = connect(port, '127.0.0.1')
  socket.on('error', () => undefined)
  let seen = ''
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('MONITOR did not start')), 5000)
    socket.on('data', (d: Buffer) => {
      out.write(d)
      if (seen.length < 64) {
        seen += d.toString()
        if (/^\+OK\r\n\+OK\r\n/.test(seen)) {
          clearTimeout(timer)
          resolve()
        } else if (seen.startsWith('-')) {
          clearTimeout(timer)
          reject(new Error('MONITOR was refused'))
        }
      }
    })
    socket.once('connect', () => socket.write(resp(['AUTH', ADMIN_USER, password]) + resp(['MONITOR'])))
  })
  return {
    stop: async () => {
      socket.destroy()
      await new Promise<void>((resolve) => out.end(() => resolve()))
    },
  }
}

/** redis-server from Debian's package (PATH, /usr/bin, /usr/local/bin); throws REDIS_INSTALL_HINT when absent. */
export function redisServerBinary(): string {
  const bin = findOnPath('redis-server', ['/usr/bin', '/usr/local/bin'])
  if (bin === undefined) throw new Error(REDIS_INSTALL_HINT)
  return bin
}

/** redis.conf: loopback, no persistence, every command in SLOWLOG, ACLs with the default user off. */
function redisConfig(p: {
  root: string
  port: number
  tlsPort: number | undefined
  tls: TestCertificates | undefined
  logFile: string
  adminPassword: string
  extra: readonly string[] | undefined
}): string {
  const tlsConfig =
    p.tls === undefined || p.tlsPort === undefined
      ? []
      : [
          `tls-port ${p.tlsPort}`,
          `tls-cert-file ${p.tls.certFile}`,
          `tls-key-file ${p.tls.keyFile}`,
          `tls-ca-cert-file ${p.tls.caFile}`,
          'tls-auth-clients no',
        ]
  return [
    'bind 127.0.0.1',
    `port ${p.port}`,
    'protected-mode yes',
    'daemonize no',
    `dir ${p.root}`,
    `logfile ${p.logFile}`,
    'loglevel verbose',
    'save ""',
    'appendonly no',
    'slowlog-log-slower-than 0',
    'slowlog-max-len 10000',
    'acllog-max-len 1000',
    'user default off resetpass nocommands resetkeys resetchannels',
    `user ${ADMIN_USER} on #${sha256Hex(p.adminPassword)} ~* &* +@all`,
    ...tlsConfig,
    ...(p.extra ?? []),
    '',
  ].join('\n')
}

/** The handle a test holds: connection facts, admin commands, the scan of what the server recorded, stop. */
function serverHandle(p: {
  port: number
  tlsPort: number | undefined
  tls: TestCertificates | undefined
  adminPassword: string
  version: string
  logFile: string
  monitorFile: string
  command: (args: readonly string[]) => Promise<unknown>
  stop: () => Promise<void>
}): RedisServer {
  const logSources = async (): Promise<LogSource[]> => {
    const slowlog = await p.command(['SLOWLOG', 'GET', '-1'])
    const aclLog = await p.command(['ACL', 'LOG'])
    return [
      fileSource('MONITOR', p.monitorFile),
      fileSource('server log', p.logFile),
      { name: 'SLOWLOG', bytes: Buffer.from(JSON.stringify(slowlog)) },
      { name: 'ACL LOG', bytes: Buffer.from(JSON.stringify(aclLog)) },
    ]
  }
  return {
    host: '127.0.0.1',
    port: p.port,
    tlsPort: p.tlsPort,
    tls: p.tls,
    adminUser: ADMIN_USER,
    adminPassword: p.adminPassword,
    version: p.version,
    logFile: p.logFile,
    monitorFile: p.monitorFile,
    command: p.command,
    logSources,
    scanLogsFor: async (secret) => {
      // MONITOR lines arrive asynchronously: wait until a marker sent now has come through.
      const marker = `log-settle-${randomBytes(8).toString('hex')}`
      await p.command(['ECHO', marker])
      await waitFor(() => Promise.resolve(readFileSync(p.monitorFile, 'utf8').includes(marker)), {
        timeoutMs: 5000,
        what: 'the MONITOR capture to settle',
        intervalMs: 10,
      })
      return scanSourcesFor(secret, await logSources())
    },
    stop: p.stop,
  }
}

/**
 * Start a fresh server. Always pair with `stop()`, in `afterAll` or a `finally`.
 * @example const redis = await startRedis(); try { await redis.command(['PING']) } finally { await redis.stop() }
 */
export async function startRedis(opts: RedisOptions = {}): Promise<RedisServer> {
  const bin = redisServerBinary()
  const user = runningAsRoot() ? systemUserIds('redis', 'redis-server') : undefined
  const root = makeTempDir('broker-redis')
  const logFile = join(root, 'redis.log')
  const monitorFile = join(root, 'monitor.txt')
  const confFile = join(root, 'redis.conf')
  const adminPassword = `rds-${randomBytes(18).toString('base64url')}`
  writeFileSync(logFile, '')
  writeFileSync(monitorFile, '')
  chownAll([root, logFile], user)
  let tls: TestCertificates | undefined
  if (opts.tls === true) {
    const dir = join(root, 'tls')
    mkdirSync(dir)
    tls = makeTestCertificates(dir)
    chownAll([dir, tls.caFile, tls.certFile, tls.keyFile], user)
  }

  let lastError: unknown
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort()
    const tlsPort = tls === undefined ? undefined : await freePort()
    const config = redisConfig({ root, port, tlsPort, tls, logFile, adminPassword, extra: opts.config })
    writeFileSync(confFile, config, { mode: 0o600 })
    chownAll([confFile], user)
    const proc: Started = startProcess(bin, [confFile], {
      ...serverSpawnOptions(root, user, 'redis'),
      logFile: join(root, 'stdout.log'),
      ownerDir: root,
    })
    const admin = createClient({
      socket: { host: '127.0.0.1', port, connectTimeout: 2000, reconnectStrategy: false },
      username: ADMIN_USER,
      password: adminPassword,
      RESP: 2,
    })
    admin.on('error', () => undefined)
    try {
      await waitFor(
        async () => {
          if (!admin.isOpen) await admin.connect()
          return (await admin.ping()) === 'PONG'
        },
        {
          timeoutMs: opts.startTimeoutMs ?? 10_000,
          what: `redis-server on port ${port}`,
          intervalMs: 25,
          abortIf: () =>
            proc.child.exitCode === null ? undefined : `redis-server exited with code ${proc.child.exitCode}`,
        },
      )
      const monitor = await startMonitor(port, adminPassword, monitorFile)
      const info = await admin.sendCommand<string>(['INFO', 'server'])
      const version = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown'
      const command = (args: readonly string[]): Promise<unknown> => admin.sendCommand([...args])
      const stop = async (): Promise<void> => {
        await monitor.stop()
        admin.destroy()
        await proc.stop()
        rmSync(root, { recursive: true, force: true })
      }
      return serverHandle({ port, tlsPort, tls, adminPassword, version, logFile, monitorFile, command, stop })
    } catch (err) {
      lastError = err
      admin.destroy()
      await proc.stop()
    }
  }
  const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-2000) : ''
  rmSync(root, { recursive: true, force: true })
  throw new Error(`redis-server did not start: ${String(lastError)}\n${tail}`)
}
