import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { BrokerCredentials } from './signed-transport'

/**
 * Where the CLI (and the agent) send requests, and as whom: `--endpoint` or SECRET_BROKER_ENDPOINT with the
 * standard AWS credential chain (the host's credentials), or else the `.broker/local.json` that `npm start`
 * writes in the broker's repository, with one of its demo consumers' keys.
 */
export const LOCAL_STATE_FILE = join('.broker', 'local.json')

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

function existing(file: string): string | undefined {
  return existsSync(file) ? file : undefined
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
