import type { AclUser, RedisCredentials, RedisSession } from '../engines'
import { parseEngineMaster, parseRedisSecret, sameServer, type RedisSecret } from '../engine-values'
import { stepError } from '../rotation-errors'
import {
  engineCall,
  isLoginRefused,
  masterLogin,
  masterSecretIdOf,
  onServer,
  requireEngine,
  withSession,
} from './strategy-common'
import type { RotationContext } from './rotation-strategy'

/**
 * What the Redis ACL strategies share. Every change is made by a master login (a Redis user cannot change
 * its own password without ACL rights, which would let it change its own permissions too), with the
 * password given as its SHA-256 hash (`#<hex>`), in one ACL SETUSER command: atomic, so a retry finds
 * either nothing done or everything done. The pending user's password logs in only in testSecret (AUTH,
 * over TLS in deployed stages).
 */
export function rd(value: unknown, what: string): RedisSecret {
  return parseRedisSecret(value, what)
}

export function redisCredentials(s: RedisSecret): RedisCredentials {
  return { username: s.username, password: s.password, host: s.host, port: s.port }
}

function connectRedis(purpose: string, creds: RedisCredentials, ctx: RotationContext): Promise<RedisSession> {
  const connect = requireEngine(ctx, 'redis')
  return engineCall(`logging in as ${creds.username} ${onServer(creds)} (${purpose})`, () => connect(creds))
}

/** Run `fn` in a session of the target's master secret, on the rotated secret's server. */
export async function asRedisMaster<T>(
  p: RedisSecret,
  ctx: RotationContext,
  fn: (s: RedisSession, where: string) => Promise<T>,
): Promise<T> {
  const masterId = masterSecretIdOf(ctx)
  const master = masterLogin(
    masterId,
    parseEngineMaster(await ctx.readMasterSecret(masterId), masterId, 'Redis'),
    p,
    ctx,
  )
  const session = await connectRedis(`as the master of ${masterId}`, master, ctx)
  return withSession(session, (s) => fn(s, onServer(master)))
}

/** The ACL user, read by the master; a missing user is refused (rotation changes users, never creates them). */
export async function existingUser(
  s: RedisSession,
  name: string,
  where: string,
  ctx: RotationContext,
): Promise<AclUser> {
  const user = await engineCall(`reading the ACL user ${name} ${where}`, () => s.aclGetUser(name))
  if (user === undefined)
    throw stepError(
      ctx.scope,
      `there is no ACL user ${name} ${where}; rotation changes users, never creates them`,
    )
  if (user.flags.includes('nopass'))
    throw stepError(
      ctx.scope,
      `the ACL user ${name} ${where} has nopass (any password logs in): give it a password first`,
    )
  return user
}

/** testSecret: the pending user logs in (AUTH) with the pending password. */
export async function verifyRedisLogin(creds: RedisCredentials, ctx: RotationContext): Promise<void> {
  const session = await connectRedis('testing the pending credentials', creds, ctx).catch((err: unknown) => {
    if (isLoginRefused(err))
      throw stepError(
        ctx.scope,
        `the pending credentials of ${creds.username} do not log in ${onServer(creds)}`,
      )
    throw err
  })
  await session.close()
}

export function checkSameRedisSystem(pending: RedisSecret, current: RedisSecret, ctx: RotationContext): void {
  if (!sameServer(pending, current))
    throw stepError(ctx.scope, 'refusing a pending value whose host or port differs from the current one')
}

/** One ACL SETUSER for `name` with `rules`, run by the master; the failure names what it did, never a rule. */
export async function setUser(
  s: RedisSession,
  name: string,
  rules: readonly string[],
  what: string,
  where: string,
): Promise<void> {
  await engineCall(`${what} ${where}`, () => s.command(['ACL', 'SETUSER', name, ...rules]))
}
