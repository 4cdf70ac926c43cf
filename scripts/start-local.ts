import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { REPO_ROOT } from '../infra/stage-declarations'
import { startLocalStack, type LocalStack } from './lib/local-stack'
import { MotoNotInstalledError } from './lib/moto'
import { findPostgresBinDir, POSTGRES_INSTALL_HINT } from './lib/postgres'
import { quietToolEnv } from './lib/tool-env'

/**
 * `npm start`: the broker's local stage on an embedded AWS emulator, until Ctrl-C.
 *   npm start -- [--endpoint http://127.0.0.1:4566] [--port 3000]
 * Writes .broker/local.json (endpoint, region, demo consumers' credentials) and prints a ready-to-paste request.
 */
const HELP = `Usage: npm start -- [--endpoint <moto url>] [--port <http port>] [--no-postgres]
  --endpoint     use an already running AWS emulator (moto_server) instead of starting one
  --port         serve the API on this port (default: 3000 when free, else any free port)
  --no-postgres  do not start the local demo PostgreSQL (rotation of the demo database secrets then fails)`

async function main(): Promise<void> {
  quietToolEnv()
  const { values } = parseArgs({
    options: {
      endpoint: { type: 'string' },
      port: { type: 'string' },
      'no-postgres': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  })
  if (values.help === true) {
    process.stdout.write(`${HELP}\n`)
    return
  }
  const stateDir = join(REPO_ROOT, '.broker')
  mkdirSync(stateDir, { recursive: true })
  const port = values.port === undefined ? await preferredPort(3000) : Number(values.port)
  if (!Number.isInteger(port) || port <= 0 || port > 65535)
    throw new UsageError(`--port must be a TCP port number`)
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
  try {
    stack = await startLocalStack({
      stateDir,
      httpPort: port,
      rotation: true,
      watch: true,
      postgres: withPostgres,
      demoEngines: true,
      ...(values.endpoint === undefined ? {} : { motoEndpoint: values.endpoint }),
    })
  } catch (err) {
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
  process.stdout.write(
    [
      '',
      `secret-broker (stage local) is serving ${stack.apiUrl}`,
      `  emulator:  ${stack.motoEndpoint}`,
      `  consumers: ${stack.consumers.map((c) => `${c.name} (${c.principalArn})`).join(', ')}`,
      `  keys, endpoint and region: ${localJson}`,
      `  audit log: ${stack.auditFile}    API log: ${stack.offlineLog}`,
      stack.postgres === undefined
        ? '  demo PostgreSQL: not started'
        : `  demo PostgreSQL: ${stack.postgres.host}:${stack.postgres.port} (database demo; its roles' passwords are the demo secrets')`,
      ...demoEngineLines(stack),
      '',
      `Try it (signed as ${demo?.name ?? 'a demo consumer'} with curl's built-in SigV4):`,
      `  curl --aws-sigv4 "aws:amz:${stack.region}:execute-api" --user "$(node -p "const c=require('./.broker/local.json').consumers[0];c.accessKeyId+':'+c.secretAccessKey")" ${stack.apiUrl}/secrets/${readable[0] ?? 'demo/db'}`,
      '',
      'Rotate a secret the way Secrets Manager does, then read the new version at once:',
      '  npm run rotate -- demo/db',
      '  npm run rotate -- demo/mysql-db    (also demo/cache, demo/deployer-key: MariaDB, Redis ACL, IAM access key)',
      `  curl -H 'Cache-Control: no-cache' --aws-sigv4 … ${stack.apiUrl}/secrets/demo/db`,
      'Who read what:  npm run audit -- --secret demo/db',
      '',
      'Ctrl-C stops everything this command started.',
      '',
    ].join('\n'),
  )
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
  process.stdout.write('\nStopping…\n')
  await stack.stop()
}

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

async function preferredPort(port: number): Promise<number> {
  const { createServer } = await import('node:net')
  const { freePort } = await import('./lib/ports')
  const free = await new Promise<boolean>((resolve) => {
    const srv = createServer()
    srv.once('error', () => {
      resolve(false)
    })
    srv.listen(port, '127.0.0.1', () =>
      srv.close(() => {
        resolve(true)
      }),
    )
  })
  return free ? port : freePort()
}

main().catch((err: unknown) => {
  if (err instanceof UsageError) process.stderr.write(`${err.message}\n`)
  else process.stderr.write(`npm start failed: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
