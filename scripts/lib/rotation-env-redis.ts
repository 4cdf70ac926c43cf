import { randomBytes } from 'node:crypto'
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager'
import { scanSourcesFor, type LogHit } from './log-scan'
import { startRedis, type RedisServer } from './redis'
import { startRotationBase, type RotationBase } from './rotation-env'
import { startTcpCapture, type TcpCapture } from './tcp-capture'
import {
  createRedisConnector,
  redisPasswordHash,
  type EngineClients,
  type RedisConnectAs,
  type RedisSession,
} from '../../src/rotation'

/**
 * A rotation suite against Redis: the base (moto), one private redis-server with ACLs (scripts/lib/redis.ts)
 * and a recording relay in front of it for the master's sessions. Redis keeps ACL SETUSER out of MONITOR
 * and redacts it in SLOWLOG, so its own records cannot show a leaked password; the bytes the master sends
 * can. (The pending user's own AUTH in testSecret carries its password by design, as every login does: that
 * is why only the master's sessions go through the relay.)
 */
export interface RedisRotationEnv extends RotationBase {
  readonly redis: RedisServer
  readonly masterWire: TcpCapture
  /** The connector the rotation uses here: TLS off (loopback), short timeouts. */
  readonly connect: RedisConnectAs
}

export async function startRedisRotationEnv(): Promise<RedisRotationEnv> {
  const base = await startRotationBase(() => startRedis())
  const redis = base.alongside as RedisServer
  try {
    const masterWire = await startTcpCapture({ host: '127.0.0.1', port: redis.port })
    return {
      ...base,
      redis,
      masterWire,
      connect: createRedisConnector({ tlsMode: 'disable', connectTimeoutMs: 2000, commandTimeoutMs: 2000 }),
      stop: async () => {
        await masterWire.stop()
        await base.stop()
      },
    }
  } catch (err) {
    await base.stop()
    throw err
  }
}

export interface RedisSecretValue {
  readonly engine: 'redis'
  readonly username: string
  readonly password: string
  readonly host: string
  readonly port: number
}

/** The rules the test users get: their own keys, read and write commands, no admin commands. */
export const APP_RULES = ['~app:*', '&app:*', '+@read', '+@write', '+@connection', '-flushall']

let seq = 0

/** An ACL user (password given as its hash) and a secret in moto holding its credentials. */
export async function createRedisSecret(
  env: RedisRotationEnv,
  opts: { username?: string; name?: string } = {},
): Promise<{ name: string; arn: string; value: RedisSecretValue }> {
  seq++
  const username = opts.username ?? `app${seq}-${randomBytes(3).toString('hex')}`
  const password = `${env.canary}-${randomBytes(9).toString('base64url')}`
  await env.redis.command(['ACL', 'SETUSER', username, 'on', `#${redisPasswordHash(password)}`, ...APP_RULES])
  const value: RedisSecretValue = {
    engine: 'redis',
    username,
    password,
    host: '127.0.0.1',
    port: env.redis.port,
  }
  const name = opts.name ?? `secret-broker/test/redis/${username}`
  const out = await env.sm.send(new CreateSecretCommand({ Name: name, SecretString: JSON.stringify(value) }))
  return { name, arn: out.ARN ?? name, value }
}

/**
 * The master of both Redis strategies, with exactly what they need: `-@all +acl|getuser +acl|setuser
 * +acl|list`. `weak`: without `+acl|setuser` (the "wrong master").
 */
export async function createRedisMaster(
  env: RedisRotationEnv,
  opts: { username: string; weak?: boolean },
): Promise<{ name: string; arn: string; value: { username: string; password: string } }> {
  // Without the canary: the master's own AUTH goes through the recording relay, which is scanned for it.
  const password = `master-${randomBytes(12).toString('base64url')}`
  await env.redis.command([
    'ACL',
    'SETUSER',
    opts.username,
    'on',
    `#${redisPasswordHash(password)}`,
    '-@all',
    '+acl|getuser',
    '+acl|list',
    ...(opts.weak === true ? [] : ['+acl|setuser']),
  ])
  const value = { username: opts.username, password }
  const name = `secret-broker/test/redis-master/${opts.username}`
  const out = await env.sm.send(new CreateSecretCommand({ Name: name, SecretString: JSON.stringify(value) }))
  return { name, arn: out.ARN ?? name, value }
}

/** Do these credentials log in? (AUTH with the same client library.) */
export async function redisLogsIn(env: RedisRotationEnv, value: RedisSecretValue): Promise<boolean> {
  let session: RedisSession
  try {
    session = await env.connect(value)
  } catch (err) {
    if ((err as { kind?: string }).kind === 'authentication-failed') return false
    throw err
  }
  await session.close()
  return true
}

/**
 * The engines for makeHandler: sessions of `masters` go through the recording relay; `down` sends every
 * login to a closed port.
 */
export function redisEngines(
  env: RedisRotationEnv,
  masters: readonly string[],
  faults?: { down?: boolean; closedPort: number },
): Partial<EngineClients> {
  const connect: RedisConnectAs = (creds) =>
    env.connect(
      faults?.down === true
        ? { ...creds, port: faults.closedPort }
        : masters.includes(creds.username)
          ? { ...creds, port: env.masterWire.port }
          : creds,
    )
  return { redis: connect, sleep: () => Promise.resolve() }
}

/**
 * Where `secret` shows in what Redis recorded (MONITOR, SLOWLOG, ACL LOG, its log) and in the bytes the
 * master sent; empty when nowhere.
 */
export async function scanRedisFor(env: RedisRotationEnv, secret: string): Promise<LogHit[]> {
  return [
    ...(await env.redis.scanLogsFor(secret)),
    ...scanSourcesFor(secret, [{ name: "the master's wire", bytes: env.masterWire.clientBytes() }]),
  ]
}
