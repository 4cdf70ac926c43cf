import { parseArgs } from 'node:util'
import { parseTree } from 'jsonc-parser'
import { AGENT_DEFAULTS, startAgent } from './agent/agent-server'
import { readSsrfToken } from './agent/ssrf-token'
import { createBrokerClient, type BrokerClientOptions } from './broker-client'
import { LOCAL_STATE_FILE, resolveCliTarget, UsageError, type CliTarget } from './cli-target'
import {
  BrokerClientError,
  NetworkError,
  NotFoundError,
  UnauthenticatedError,
  WrongEndpointError,
} from './client-errors'
import type { FetchLike } from './signed-transport'

/**
 * `secret-broker get <name> | whoami | list | agent`: the consumer client from a shell, and the local agent
 * for programs in any language. `get` prints the value on stdout exactly as stored: that is what the user
 * asked for. Errors go to stderr, never with a value in them.
 */
export const HELP = `Usage: secret-broker <command> [options]

Commands:
  get <name>      print a secret's value exactly as stored (a string secret as is)
  whoami          print the caller's identity as the broker sees it
  list            print the names this caller may read, one per line
  agent           serve the AWS Secrets Manager Agent's HTTP API on 127.0.0.1 (see below)

Options:
  --field <key>          with get: print one top-level field of a JSON secret as stored (a string as is)
  --consumer <name>      use this demo consumer's keys from .broker/local.json (default: the first)
  --endpoint <url>       the broker's base URL (default: $SECRET_BROKER_ENDPOINT, else .broker/local.json)
  --region <region>      the SigV4 region (default: $AWS_REGION, $AWS_DEFAULT_REGION, the endpoint's host,
                         or .broker/local.json)
  --port <port>          with agent: the port on 127.0.0.1 (default ${AGENT_DEFAULTS.port}, 1024-65535)
  --ttl <seconds>        with agent: how long a value is served before it is revalidated with the broker
                         (If-None-Match; default ${AGENT_DEFAULTS.ttlSeconds}, 0-3600, 0 = every request)
  --max-connections <n>  with agent: connections served at once (default ${AGENT_DEFAULTS.maxConnections}, 1-1000)
  -h, --help             show this help

With SECRET_BROKER_ENDPOINT set, requests are signed with the standard AWS credential chain
(AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, SSO, instance or task roles). Without it, the
local stack started by \`npm start\` is used, signed as one of its demo consumers.

The agent answers GET /secretsmanager/get?secretId=<name> (and GET /v1/<name>) with Secrets Manager's
GetSecretValue JSON, as the Secrets Manager Agent and the Lambda extension do, for requests whose
X-Aws-Parameters-Secrets-Token (or X-Vault-Token) header holds the token from the first of AWS_TOKEN,
AWS_SESSION_TOKEN, AWS_CONTAINER_AUTHORIZATION_TOKEN that is set (file://<path> reads it from that file).
refreshNow=true revalidates at once (at most every 10 s per secret). GET /ping needs no token.

Exit status: 0 on success, 1 when the broker or the network refused, 2 on a usage error.`

export interface CliIo {
  readonly stdout: (text: string) => void
  readonly stderr: (text: string) => void
  readonly env: Readonly<Record<string, string | undefined>>
  readonly cwd: string
  /** For tests: the fetch the client uses. */
  readonly fetch?: FetchLike
  /** Resolves when a long-running command (agent) should stop: SIGINT or SIGTERM in the launcher. */
  readonly untilStopped?: () => Promise<void>
}

const COMMANDS = ['get', 'whoami', 'list', 'agent'] as const
type Command = (typeof COMMANDS)[number]

/** Runs one command and returns the exit status. Never calls process.exit (the launcher sets exitCode). */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let target: CliTarget | undefined
  try {
    const { values, positionals } = parseCliArgs(argv)
    if (values.help === true || positionals.length === 0) {
      ;(values.help === true ? io.stdout : io.stderr)(`${HELP}\n`)
      return values.help === true ? 0 : 2
    }
    const [command, ...rest] = positionals as [string, ...string[]]
    if (!(COMMANDS as readonly string[]).includes(command))
      throw new UsageError(`Unknown command "${command}".`)
    checkArguments(command as Command, rest, values)

    target = resolveCliTarget(values, io.env, io.cwd)
    if (command === 'agent') return await runAgent(values, target, io)
    const client = createBrokerClient(clientOptions(target, io))
    switch (command) {
      case 'whoami':
        io.stdout(`${JSON.stringify(await client.whoami(), null, 2)}\n`)
        return 0
      case 'list':
        io.stdout((await client.listSecrets()).map((n) => `${n}\n`).join(''))
        return 0
      default:
        return printSecret(await client.getSecretEntry(rest[0] as string), values.field, io)
    }
  } catch (err) {
    return reportError(err, io, target)
  }
}

/** The launcher's entry point (bin/secret-broker.cjs). */
export async function main(): Promise<void> {
  process.exitCode = await runCli(process.argv.slice(2), {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    env: process.env,
    cwd: process.cwd(),
    untilStopped: () =>
      new Promise((resolve) => {
        process.once('SIGINT', () => resolve())
        process.once('SIGTERM', () => resolve())
      }),
  })
}

function clientOptions(target: CliTarget, io: CliIo, extra: Partial<BrokerClientOptions> = {}) {
  return {
    endpoint: target.endpoint,
    region: target.region,
    ...(target.credentials === undefined ? {} : { credentials: target.credentials }),
    ...(io.fetch === undefined ? {} : { fetch: io.fetch }),
    ...extra,
  }
}

type Flags = ReturnType<typeof parseCliArgs>['values']

function checkArguments(command: Command, rest: readonly string[], values: Flags): void {
  const expectedArgs = command === 'get' ? 1 : 0
  if (rest.length !== expectedArgs)
    throw new UsageError(
      command === 'get' ? 'get needs exactly one secret name.' : `${command} takes no arguments.`,
    )
  if (values.field !== undefined && command !== 'get') throw new UsageError('--field only goes with get.')
  for (const flag of ['port', 'ttl', 'max-connections'] as const)
    if (values[flag] !== undefined && command !== 'agent')
      throw new UsageError(`--${flag} only goes with agent.`)
}

/** The whole value exactly as stored, or one top-level field: a string decoded, anything else as stored. */
function printSecret(
  secret: { secretString: string | undefined; value: unknown },
  field: string | undefined,
  io: CliIo,
): number {
  const text = secret.secretString ?? (secret.value as string) // a binary secret: its base64
  if (field === undefined) {
    io.stdout(`${text}\n`)
    return 0
  }
  const root = parseTree(text)
  const member =
    root?.type === 'object' ? root.children?.findLast((p) => p.children?.[0]?.value === field) : undefined
  const node = member?.children?.[1]
  if (node === undefined) {
    io.stderr(`secret-broker: the secret has no field "${field}".\n`)
    return 1
  }
  io.stdout(
    `${node.type === 'string' ? (node.value as string) : text.slice(node.offset, node.offset + node.length)}\n`,
  )
  return 0
}

async function runAgent(values: Flags, target: CliTarget, io: CliIo): Promise<number> {
  const port = intFlag('port', values.port, AGENT_DEFAULTS.port, 1024, 65535)
  const ttlSeconds = intFlag('ttl', values.ttl, AGENT_DEFAULTS.ttlSeconds, 0, 3600)
  const maxConnections = intFlag(
    'max-connections',
    values['max-connections'],
    AGENT_DEFAULTS.maxConnections,
    1,
    1000,
  )
  const token = readSsrfToken(io.env)
  const client = createBrokerClient(clientOptions(target, io, { ttlMs: ttlSeconds * 1000 }))
  const agent = await startAgent({
    client,
    token: token.token,
    port,
    maxConnections,
    log: (line) => io.stderr(`secret-broker agent: ${line}\n`),
  })
  io.stderr(
    `secret-broker agent: listening on ${agent.url} for ${target.endpoint} (token from ${token.source}, ttl ${ttlSeconds} s)\n`,
  )
  await (io.untilStopped ?? (() => new Promise<void>(() => undefined)))()
  await agent.close()
  return 0
}

function intFlag(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback
  const n = Number(raw)
  if (!/^\d+$/.test(raw) || n < min || n > max)
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}.`)
  return n
}

function parseCliArgs(argv: readonly string[]) {
  try {
    return parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        field: { type: 'string' },
        consumer: { type: 'string' },
        endpoint: { type: 'string' },
        region: { type: 'string' },
        port: { type: 'string' },
        ttl: { type: 'string' },
        'max-connections': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    })
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err))
  }
}

function reportError(err: unknown, io: CliIo, target: CliTarget | undefined): number {
  if (err instanceof UsageError) {
    io.stderr(`secret-broker: ${err.message}\nRun \`secret-broker --help\` for usage.\n`)
    return 2
  }
  if (err instanceof BrokerClientError) {
    // The message is built from the problem's title, status, detail and request id only.
    io.stderr(`secret-broker: ${err.message}${hintFor(err, target)}\n`)
    return 1
  }
  // Configuration and credential-chain errors ("Could not load credentials from any providers").
  io.stderr(`secret-broker: ${err instanceof Error ? err.message : String(err)}\n`)
  return 1
}

function hintFor(err: BrokerClientError, target: CliTarget | undefined): string {
  const from =
    target?.source === 'local-state'
      ? `it is the endpoint in ${LOCAL_STATE_FILE}`
      : 'it comes from --endpoint or SECRET_BROKER_ENDPOINT'
  if (err instanceof NotFoundError)
    return '\n  (the secret does not exist or this caller may not read it; `secret-broker list` shows what it may read)'
  if (err instanceof WrongEndpointError)
    return `\n  (${target?.endpoint ?? 'the endpoint'} is not the broker's base URL; ${from}. In AWS it is https://<api-id>.execute-api.<region>.amazonaws.com/<stage>)`
  if (err instanceof UnauthenticatedError)
    return '\n  (the broker refused the signature: check the credentials, the region and the host clock)'
  if (err instanceof NetworkError && target?.source === 'local-state')
    return `\n  (${target.endpoint} is from ${LOCAL_STATE_FILE}: is \`npm start\` still running?)`
  return ''
}
