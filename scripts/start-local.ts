import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { REPO_ROOT } from '../infra/stage-declarations'
import { startLocalStack, type LocalStack } from './lib/local-stack'
import { MotoNotInstalledError } from './lib/moto'
import { findPostgresBinDir, POSTGRES_INSTALL_HINT } from './lib/postgres'
import { freePort } from './lib/ports'
import { candidateDirs, cleanLeftovers } from './lib/leftovers'
import { defaultStateDir } from './lib/local-state'
import { acquireStackLock, StackRunningError } from './lib/stack-lock'
import { quietToolEnv } from './lib/tool-env'

/**
 * `npm start`: the broker's local stage on an embedded AWS emulator, until Ctrl-C.
 *   npm start -- [--endpoint http://127.0.0.1:4566] [--port 3000]
 * Writes .broker/local.json (endpoint, region, demo consumers' credentials) and prints a ready-to-paste request.
 */
const HELP = `Usage: npm start -- [--endpoint <moto url>] [--port <http port>] [--no-postgres] [--state-dir <dir>]
  --endpoint     use an already running AWS emulator (moto_server) instead of starting one
  --port         serve the API on this port (default: 3000 when free, else any free port)
  --no-postgres  do not start the local demo PostgreSQL (rotation of the demo database secrets then fails)
  --state-dir    where local.json, the audit log and the logs go (default: .broker); one stack per state dir`

async function main(): Promise<void> {
  quietToolEnv()
  const { values } = parseArgs({
    options: {
      endpoint: { type: 'string' },
      port: { type: 'string' },
      'no-postgres': { type: 'boolean' },
      'state-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  })
  if (values.help === true) {
    process.stdout.write(`${HELP}\n`)
    return
  }
  const stateDir = resolve(values['state-dir'] ?? defaultStateDir())
  mkdirSync(stateDir, { recursive: true })
  // One stack per state directory: a second one would overwrite local.json under the first one's users.
  const lock = acquireStackLock(stateDir)
  // Whatever a stack that was killed (not stopped) left behind: its temp dirs and the servers it started.
  const leftovers = cleanLeftovers(candidateDirs(REPO_ROOT))
  if (leftovers.removedDirs.length > 0)
    process.stdout.write(
      `Cleaned up after a local stack that was killed: ${leftovers.removedDirs.length} folder(s), ${leftovers.stoppedPids.length} server(s).\n`,
    )
  const requested = values.port === undefined ? undefined : Number(values.port)
  if (requested !== undefined && (!Number.isInteger(requested) || requested <= 0 || requested > 65535))
    throw new UsageError(`--port must be a TCP port number`)
  if (requested !== undefined && !(await isPortFree(requested)))
    throw new UsageError(
      `--port ${requested}: the port is already in use (EADDRINUSE); choose another or leave --port out`,
    )
  const port = requested ?? ((await isPortFree(DEFAULT_PORT)) ? DEFAULT_PORT : await freePort())
  // Each run starts a fresh audit log; the previous run's records are kept beside it.
  const auditFile = join(stateDir, 'audit.jsonl')
  if (existsSync(auditFile)) renameSync(auditFile, join(stateDir, 'audit.previous.jsonl'))
  process.stdout.write('Starting the local stack (emulator, secrets, API)…\n')
  let withPostgres = values['no-postgres'] !== true
  if (withPostgres) {
    try {
      findPostgresBinDir()
    } catch {
      withPostgres = false
      process.stdout.write(
        `PostgreSQL server binaries not found: starting without the demo database.\n${POSTGRES_INSTALL_HINT}\n`,
      )
    }
  }
  let stack: LocalStack
  let stopRequested = false
  const early = (): void => {
    stopRequested = true
  }
  process.on('SIGINT', early)
  process.on('SIGTERM', early)
  try {
    stack = await startLocalStack({
      stateDir,
      httpPort: port,
      // Without --port, 3000 is a preference: if another program takes it before the API binds it (two
      // `npm start` at once), the stack serves on a free port and says so.
      httpPortFallback: requested === undefined,
      rotation: true,
      watch: true,
      postgres: withPostgres,
      demoEngines: true,
      ...(values.endpoint === undefined ? {} : { motoEndpoint: values.endpoint }),
    })
  } catch (err) {
    lock.release()
    if (err instanceof MotoNotInstalledError) throw new UsageError(err.message)
    throw err
  }
  const localJson = join(stateDir, 'local.json')
  writeFileSync(
    localJson,
    `${JSON.stringify(
      {
        endpoint: stack.apiUrl,
        region: stack.region,
        motoEndpoint: stack.motoEndpoint,
        auditFile: stack.auditFile,
        ...(stack.postgres === undefined
          ? {}
          : { postgres: { host: stack.postgres.host, port: stack.postgres.port } }),
        // Role consumers also carry their session (sessionToken, sessionName, expiration), as AssumeRole gives it.
        consumers: stack.consumers,
      },
      null,
      2,
    )}\n`,
    { mode: 0o600 },
  )
  const demo = stack.consumers[0]
  const readable =
    demo === undefined
      ? []
      : Object.entries(stack.plan.decl.params.secrets)
          .filter(([, s]) => s.readers.includes(demo.principalArn))
          .map(([n]) => n)
  const servedPort = Number(new URL(stack.apiUrl).port)
  const portNote =
    requested === undefined && servedPort !== DEFAULT_PORT
      ? `  (port ${DEFAULT_PORT} was busy, so port ${servedPort} was chosen: take the endpoint from local.json)`
      : undefined
  process.stdout.write(
    [
      '',
      `secret-broker (stage local) is serving ${stack.apiUrl}`,
      ...(portNote === undefined ? [] : [portNote]),
      `  emulator:  ${stack.motoEndpoint}`,
      `  consumers: ${stack.consumers.map((c) => `${c.name} (${c.principalArn})`).join(', ')}`,
      `  keys, endpoint and region: ${localJson}`,
      `  audit log: ${stack.auditFile} (this run only; the previous run's is audit.previous.jsonl)`,
      `  API log:   ${stack.offlineLog}`,
      `  invalidation: register ${stack.registerTable} in the emulator; Secrets Manager's label events are delivered`,
      `    to the invalidation function by a local watcher (log: ${stack.eventsLog})`,
      stack.postgres === undefined
        ? '  demo PostgreSQL: not started'
        : `  demo PostgreSQL: ${stack.postgres.host}:${stack.postgres.port} (database demo; its roles' passwords are the demo secrets')`,
      ...demoEngineLines(stack),
      '',
      `Try it (signed as ${demo?.name ?? 'a demo consumer'} with curl's built-in SigV4; the endpoint and keys come from local.json):`,
      `  EP=$(node -p "require('${localJson}').endpoint")`,
      `  KEYS=$(node -p "const c=require('${localJson}').consumers[0]; c.accessKeyId+':'+c.secretAccessKey")`,
      `  curl --aws-sigv4 "aws:amz:${stack.region}:execute-api" --user "$KEYS" "$EP/secrets/${readable[0] ?? 'demo/db'}"`,
      '',
      'Rotate a secret the way Secrets Manager does; a plain GET serves the new version within seconds',
      '(the invalidation register), and Cache-Control: no-cache at once:',
      '  npm run rotate -- demo/db',
      '  npm run rotate -- demo/mysql-db    (also demo/cache, demo/deployer-key: MariaDB, Redis ACL, IAM access key)',
      `  curl --aws-sigv4 "aws:amz:${stack.region}:execute-api" --user "$KEYS" "$EP/secrets/demo/db"`,
      'Who read what:  npm run audit -- --secret demo/db',
      '',
      'Ctrl-C stops everything this command started.',
      '',
    ].join('\n'),
  )
  // Stop on the first Ctrl-C (or SIGTERM); any signal arriving while stopping is acknowledged, not obeyed,
  // so the cleanup always completes (a double Ctrl-C used to leave the cluster and build folders behind).
  await new Promise<void>((done) => {
    if (stopRequested) done()
    process.on('SIGINT', done)
    process.on('SIGTERM', done)
  })
  process.off('SIGINT', early)
  process.off('SIGTERM', early)
  process.removeAllListeners('SIGINT')
  process.removeAllListeners('SIGTERM')
  const patience = (): void => {
    process.stdout.write('Still stopping; cleaning up what this stack started…\n')
  }
  process.on('SIGINT', patience)
  process.on('SIGTERM', patience)
  process.stdout.write('\nStopping…\n')
  await stack.stop()
  lock.release()
  process.stdout.write('Stopped.\n')
}

const DEFAULT_PORT = 3000
/** The demo MariaDB, Redis and IAM users (issue 15's strategies), or how to install what is missing. */
function demoEngineLines(stack: LocalStack): string[] {
  const e = stack.demoEngines
  if (e === undefined) return []
  return [
    ...(e.mariadb === undefined
      ? []
      : [`  demo MariaDB:    ${e.mariadb.host}:${e.mariadb.port} (demo/mysql-db, demo/mysql-master)`]),
    ...(e.redis === undefined
      ? []
      : [`  demo Redis:      ${e.redis.host}:${e.redis.port} (demo/cache, demo/cache-master)`]),
    '  demo IAM user:   demo-deployer in the emulator (demo/deployer-key)',
    ...e.skipped.map((line) => `  not started: ${line}`),
  ]
}

class UsageError extends Error {}

async function isPortFree(port: number): Promise<boolean> {
  const { createServer } = await import('node:net')
  return new Promise<boolean>((done) => {
    const srv = createServer()
    srv.once('error', () => {
      done(false)
    })
    srv.listen(port, '127.0.0.1', () =>
      srv.close(() => {
        done(true)
      }),
    )
  })
}

main().catch((err: unknown) => {
  if (err instanceof UsageError || err instanceof StackRunningError) process.stderr.write(`${err.message}\n`)
  else process.stderr.write(`npm start failed: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
