import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { parseArgs } from 'node:util'
import { createBrokerClient, type BrokerClientOptions } from './broker-client'
import { BrokerClientError, NetworkError, NotFoundError } from './client-errors'
import type { BrokerCredentials, FetchLike } from './signed-transport'

/**
 * `npx secret-broker get <name> | whoami | list`: the consumer client from a shell. The endpoint comes from
 * --endpoint or SECRET_BROKER_ENDPOINT (credentials then from the standard AWS chain), or else from the
 * .broker/local.json that `npm start` writes (credentials then from its demo consumers). `get` prints the
 * value on stdout: that is what the user asked for. Errors go to stderr, never with a value in them.
 */
export const HELP = `Usage: secret-broker <command> [options]

Commands:
  get <name>      print a secret's value (JSON; a plain string as is)
  whoami          print the caller's identity as the broker sees it
  list            print the names this caller may read, one per line

Options:
  --field <key>       with get: print one field of a JSON secret (a string as is)
  --consumer <name>   use this demo consumer's keys from .broker/local.json (default: the first)
  --endpoint <url>    the broker's base URL (default: $SECRET_BROKER_ENDPOINT, else .broker/local.json)
  --region <region>   the SigV4 region (default: $AWS_REGION, $AWS_DEFAULT_REGION, the endpoint's host,
                      or .broker/local.json)
  -h, --help          show this help

With SECRET_BROKER_ENDPOINT set, requests are signed with the standard AWS credential chain
(AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, SSO, instance or task roles). Without it, the
local stack started by \`npm start\` is used, signed as one of its demo consumers.

Exit status: 0 on success, 1 when the broker or the network refused, 2 on a usage error.`

export const LOCAL_STATE_FILE = join('.broker', 'local.json')

function existing(file: string): string | undefined {
  return existsSync(file) ? file : undefined
}

export interface CliIo {
  readonly stdout: (text: string) => void
  readonly stderr: (text: string) => void
  readonly env: Readonly<Record<string, string | undefined>>
  readonly cwd: string
  /** For tests: the fetch the client uses. */
  readonly fetch?: FetchLike
}

export class UsageError extends Error {
  override readonly name = 'UsageError'
}

interface LocalState {
  readonly endpoint: string
  readonly region: string
  readonly consumers: readonly {
    readonly name: string
    readonly accessKeyId: string
    readonly secretAccessKey: string
    /** Role consumers: temporary credentials, valid only with their session token. */
    readonly sessionToken?: string
  }[]
}

export interface CliTarget {
  readonly endpoint: string
  readonly region: string
  /** Undefined: the standard AWS credential chain. */
  readonly credentials: BrokerCredentials | undefined
  readonly source: 'environment' | 'local-state'
}

/** Where to send requests and as whom, from the flags, the environment and .broker/local.json. */
export function resolveCliTarget(
  flags: {
    readonly endpoint?: string | undefined
    readonly region?: string | undefined
    readonly consumer?: string | undefined
  },
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
): CliTarget {
  const endpoint = nonEmpty(flags.endpoint) ?? nonEmpty(env['SECRET_BROKER_ENDPOINT'])
  if (endpoint !== undefined && flags.consumer === undefined) {
    const region =
      nonEmpty(flags.region) ??
      nonEmpty(env['AWS_REGION']) ??
      nonEmpty(env['AWS_DEFAULT_REGION']) ??
      regionOfApiGatewayHost(endpoint)
    if (region === undefined) throw new UsageError('No region: set AWS_REGION or pass --region.')
    return { endpoint, region, credentials: undefined, source: 'environment' }
  }
  // SECRET_BROKER_STATE_DIR: a stack started with another --state-dir (npm start honours it too).
  const stateDir = nonEmpty(env['SECRET_BROKER_STATE_DIR'])
  const file = stateDir === undefined ? findUp(cwd, LOCAL_STATE_FILE) : existing(join(stateDir, 'local.json'))
  if (file === undefined) {
    throw new UsageError(
      endpoint === undefined
        ? `No endpoint: set SECRET_BROKER_ENDPOINT (and AWS_REGION), or run \`npm start\`, which writes ${LOCAL_STATE_FILE}.`
        : `--consumer needs ${LOCAL_STATE_FILE}, which \`npm start\` writes.`,
    )
  }
  const state = readLocalState(file)
  const consumer =
    flags.consumer === undefined ? state.consumers[0] : state.consumers.find((c) => c.name === flags.consumer)
  if (consumer === undefined) {
    const known = state.consumers.map((c) => c.name).join(', ')
    throw new UsageError(
      flags.consumer === undefined
        ? `${file} lists no consumers.`
        : `No consumer "${flags.consumer}" in ${file} (known: ${known === '' ? 'none' : known}).`,
    )
  }
  return {
    endpoint: endpoint ?? state.endpoint,
    region: nonEmpty(flags.region) ?? state.region,
    credentials: {
      accessKeyId: consumer.accessKeyId,
      secretAccessKey: consumer.secretAccessKey,
      ...(consumer.sessionToken === undefined ? {} : { sessionToken: consumer.sessionToken }),
    },
    source: 'local-state',
  }
}

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
    const expectedArgs = command === 'get' ? 1 : 0
    if (!['get', 'whoami', 'list'].includes(command)) throw new UsageError(`Unknown command "${command}".`)
    if (rest.length !== expectedArgs)
      throw new UsageError(
        command === 'get' ? 'get needs exactly one secret name.' : `${command} takes no arguments.`,
      )
    if (values.field !== undefined && command !== 'get') throw new UsageError('--field only goes with get.')

    target = resolveCliTarget(values, io.env, io.cwd)
    const options: BrokerClientOptions = {
      endpoint: target.endpoint,
      region: target.region,
      ...(target.credentials === undefined ? {} : { credentials: target.credentials }),
      ...(io.fetch === undefined ? {} : { fetch: io.fetch }),
    }
    const client = createBrokerClient(options)
    switch (command) {
      case 'whoami':
        io.stdout(`${JSON.stringify(await client.whoami(), null, 2)}\n`)
        return 0
      case 'list':
        io.stdout((await client.listSecrets()).map((n) => `${n}\n`).join(''))
        return 0
      default: {
        const name = rest[0] as string
        const value = await client.getSecret(name)
        const field = values.field
        if (field === undefined) {
          io.stdout(`${render(value)}\n`)
          return 0
        }
        if (
          typeof value !== 'object' ||
          value === null ||
          Array.isArray(value) ||
          !Object.hasOwn(value, field)
        ) {
          io.stderr(`secret-broker: the secret "${name}" has no field "${field}".\n`)
          return 1
        }
        io.stdout(`${render((value as Record<string, unknown>)[field])}\n`)
        return 0
      }
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
  })
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
    let hint = ''
    if (err instanceof NotFoundError) {
      hint =
        '\n  (the secret does not exist or this caller may not read it; `secret-broker list` shows what it may read)'
    } else if (err instanceof NetworkError && target?.source === 'local-state') {
      hint = `\n  (${target.endpoint} is from ${LOCAL_STATE_FILE}: is \`npm start\` still running?)`
    }
    io.stderr(`secret-broker: ${err.message}${hint}\n`)
    return 1
  }
  // Configuration and credential-chain errors ("Could not load credentials from any providers").
  io.stderr(`secret-broker: ${err instanceof Error ? err.message : String(err)}\n`)
  return 1
}

function render(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value, null, 2)
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === '' ? undefined : v.trim()
}

/** `abc.execute-api.eu-west-1.amazonaws.com` → eu-west-1. */
function regionOfApiGatewayHost(endpoint: string): string | undefined {
  try {
    return /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/.exec(new URL(endpoint).hostname)?.[1]
  } catch {
    return undefined
  }
}

function findUp(start: string, relative: string): string | undefined {
  for (let dir = start; ; dir = dirname(dir)) {
    const candidate = join(dir, relative)
    if (existsSync(candidate)) return candidate
    if (dirname(dir) === dir) return undefined
  }
}

function readLocalState(file: string): LocalState {
  let raw: unknown
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'))
  } catch {
    throw new UsageError(`${file} is not readable JSON; restart \`npm start\` to rewrite it.`)
  }
  const o = raw as Partial<LocalState> | null
  if (
    o === null ||
    typeof o !== 'object' ||
    typeof o.endpoint !== 'string' ||
    typeof o.region !== 'string' ||
    !Array.isArray(o.consumers) ||
    !(o.consumers as unknown[]).every((c) => {
      const r = (typeof c === 'object' && c !== null ? c : {}) as Record<string, unknown>
      return (
        typeof r['name'] === 'string' &&
        typeof r['accessKeyId'] === 'string' &&
        typeof r['secretAccessKey'] === 'string' &&
        (r['sessionToken'] === undefined || typeof r['sessionToken'] === 'string')
      )
    })
  ) {
    throw new UsageError(`${file} does not look like the file \`npm start\` writes.`)
  }
  return o as LocalState
}
