import type { createClient as CreateClient, ErrorReply } from '@redis/client'
import { EngineError, safeCode, type EngineErrorKind } from '../engine-error'
import { isIpLiteral, type TlsMode } from '../tls-mode'
import { assertAclUser, parseAclGetUser, type AclUser } from './redis-acl'

/**
 * Redis access as a side effect: strategies call `connectAs(creds)` and get a `RedisSession`. The client is
 * `@redis/client`, the core of node-redis (the client Redis maintains; pure TypeScript, one small
 * dependency, promise API, TLS through node:tls), without the module packages of `redis` (search, JSON…)
 * that rotation does not need. ioredis would do as well; node-redis was picked because Redis itself keeps
 * it current and recommends it for new code.
 *
 * One connection per session, no reconnection (a dropped connection fails the step, which Secrets Manager
 * retries), a connect timeout and a per-command timeout. RESP2 is asked for, so any Redis ≥ 6 (and Valkey,
 * ElastiCache, MemoryDB endpoints) answers in the same shape. Errors leave as `EngineError` with the reply's
 * first word only: Redis echoes a rejected ACL rule in its error text, and a rule can hold a hash.
 */
export interface RedisCredentials {
  readonly username: string
  readonly password: string
  readonly host: string
  readonly port: number
}

export interface RedisSession {
  /** One command; `args[0]` is the command name. */
  command(args: readonly string[]): Promise<unknown>
  /** The user's flags and password hashes, or undefined when there is no such user. */
  aclGetUser(name: string): Promise<AclUser | undefined>
  /** The user's `ACL LIST` line (`user <name> <rules…>`), or undefined. */
  aclListLine(name: string): Promise<string | undefined>
  /** The user this session is logged in as (ACL WHOAMI). */
  whoami(): Promise<string>
  close(): Promise<void>
}

export type RedisConnectAs = (creds: RedisCredentials) => Promise<RedisSession>

export interface RedisConnectorOptions {
  readonly tlsMode: TlsMode
  readonly connectTimeoutMs: number
  readonly commandTimeoutMs: number
  /** Extra trusted CA certificates (PEM) for `verify-full`. */
  readonly ca?: string
}

/** node:tls options per mode; `verify-full` checks the chain and the host name (Node's default check). */
export function redisTlsOptions(
  mode: TlsMode,
  host: string,
  ca?: string,
): Record<string, unknown> | undefined {
  switch (mode) {
    case 'disable':
      return undefined
    case 'require':
      return { tls: true, rejectUnauthorized: false }
    case 'verify-full':
      return {
        tls: true,
        rejectUnauthorized: true,
        ...(isIpLiteral(host) ? {} : { servername: host }),
        ...(ca === undefined ? {} : { ca }),
      }
    default: {
      const unreachable: never = mode
      throw new EngineError('invalid-input', `unknown TLS mode ${String(unreachable)}`)
    }
  }
}

/**
 * @redis/client, loaded on first use (it is a large part of the rotation bundle, and only the Redis
 * strategies need it); its ErrorReply class is kept for the classification below.
 */
let errorReplyClass: (new (message: string) => ErrorReply) | undefined
async function loadRedisClient(): Promise<{ createClient: typeof CreateClient }> {
  const redis = await import('@redis/client')
  errorReplyClass = redis.ErrorReply
  return redis
}

/** A reply the server sent as an error (`-ERR …`), as opposed to a socket or client failure. */
function isErrorReply(err: unknown): err is ErrorReply {
  if (errorReplyClass !== undefined) return err instanceof errorReplyClass
  // Before the client was ever loaded (unit tests classify replies directly): by class name.
  return err instanceof Error && err.constructor.name === 'ErrorReply'
}

/** WRONGPASS/NOAUTH: these credentials do not log in. NOPERM: logged in, not allowed. */
export function classifyRedisError(err: unknown): { kind: EngineErrorKind; code: string | undefined } {
  if (isErrorReply(err)) {
    const code = safeCode(err.message.split(' ', 1)[0])
    if (code === 'WRONGPASS' || code === 'NOAUTH') return { kind: 'authentication-failed', code }
    if (code === 'NOPERM') return { kind: 'permission-denied', code }
    return { kind: 'server-error', code }
  }
  const raw = err !== null && typeof err === 'object' ? (err as { code?: unknown }).code : undefined
  const code = safeCode(raw) ?? safeCode(err instanceof Error ? err.name : undefined)
  return { kind: 'unavailable', code }
}

function engineError(what: string, err: unknown): EngineError {
  const { kind, code } = classifyRedisError(err)
  return new EngineError(kind, `Redis ${what} failed`, code)
}

export function createRedisConnector(opts: RedisConnectorOptions): RedisConnectAs {
  return async (creds) => {
    const tls = redisTlsOptions(opts.tlsMode, creds.host, opts.ca)
    const { createClient } = await loadRedisClient()
    const client = createClient({
      socket: {
        host: creds.host,
        port: creds.port,
        connectTimeout: opts.connectTimeoutMs,
        reconnectStrategy: false,
        ...tls,
      } as never, // the socket options union (TCP | TLS) does not narrow through a spread
      username: creds.username,
      password: creds.password,
      RESP: 2,
    })
    // Connection errors are reported through connect()/the pending command; without a listener they crash.
    client.on('error', () => undefined)
    try {
      await client.connect()
    } catch (err) {
      client.destroy()
      throw engineError('connect', err)
    }
    const command = async (args: readonly string[]): Promise<unknown> => {
      try {
        return await client.sendCommand([...args], { timeout: opts.commandTimeoutMs })
      } catch (err) {
        throw engineError('command', err)
      }
    }
    return {
      command,
      aclGetUser: async (name) => {
        assertAclUser(name)
        return parseAclGetUser(name, await command(['ACL', 'GETUSER', name]))
      },
      aclListLine: async (name) => {
        assertAclUser(name)
        const lines = await command(['ACL', 'LIST'])
        if (!Array.isArray(lines)) throw new EngineError('invalid-input', 'unexpected ACL LIST reply')
        return lines.map(String).find((l) => l.startsWith(`user ${name} `))
      },
      whoami: async () => String(await command(['ACL', 'WHOAMI'])),
      close: async () => {
        await client.close().catch(() => client.destroy())
      },
    }
  }
}
