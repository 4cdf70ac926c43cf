import { cloneUserArgs, redisPasswordHash } from '../engines'
import { stepError } from '../rotation-errors'
import {
  asRedisMaster,
  checkSameRedisSystem,
  existingUser,
  rd,
  redisCredentials,
  setUser,
  verifyRedisLogin,
} from './redis-common'
import { checkOnlyChanged, engineCall, generatePassword } from './strategy-common'
import type { RotationStrategy } from './rotation-strategy'

/**
 * Redis ACL alternating users (master secret): `<user>` and `<user>_clone` take turns, so AWSCURRENT's
 * user is never touched and keeps working through the next rotation. Each setSecret is one atomic command
 * by the master:
 * - pending is the clone: `ACL SETUSER <user>_clone reset <the user's rules> resetpass #<hash>` creates it,
 *   or brings it back to exactly the user's rules (commands, keys, channels, selectors) with one password;
 * - pending is the user: `ACL SETUSER <user> resetpass #<hash>`, leaving its other rules as they are (its
 *   old password belonged to the version before AWSPREVIOUS).
 * The user is the source of truth for the rules: change them on the user; the clone follows each time it
 * becomes the pending user.
 */
export const REDIS_CLONE_SUFFIX = '_clone'

export function redisBaseUser(user: string): string {
  return user.endsWith(REDIS_CLONE_SUFFIX) ? user.slice(0, -REDIS_CLONE_SUFFIX.length) : user
}

export const redisAclAlternatingUsersStrategy: RotationStrategy = {
  kind: 'redis-acl-alternating-users',
  updatesExternalSystem: true,
  async generate(current, ctx) {
    const c = rd(current.value, 'current')
    const base = redisBaseUser(c.username)
    const next = c.username === base ? `${base}${REDIS_CLONE_SUFFIX}` : base
    // The value parser checks the name's alphabet and length; a clone name too long is refused here.
    rd({ ...c, username: next }, 'next')
    return { username: next, password: await generatePassword(ctx) }
  },
  checkPending(pending, current, ctx) {
    const p = rd(pending.value, 'pending')
    const c = rd(current.value, 'current')
    const base = redisBaseUser(c.username)
    if (p.username !== (c.username === base ? `${base}${REDIS_CLONE_SUFFIX}` : base))
      throw stepError(
        ctx.scope,
        'refusing a pending value whose user is not the alternate of the current user',
      )
    checkSameRedisSystem(p, c, ctx)
    checkOnlyChanged(pending, current, ['password', 'username'], ctx)
  },
  // The pending user holds exactly the pending password: the one command that sets it has run.
  accepts: (pending, ctx) => {
    const p = rd(pending, 'pending')
    const hash = redisPasswordHash(p.password)
    return asRedisMaster(p, ctx, async (s, where) => {
      const user = await engineCall(`reading the ACL user ${p.username} ${where}`, () =>
        s.aclGetUser(p.username),
      )
      return user?.passwordHashes.length === 1 && user.passwordHashes[0] === hash
    })
  },
  async apply(pending, _current, ctx) {
    const p = rd(pending, 'pending')
    const hash = redisPasswordHash(p.password)
    const base = redisBaseUser(p.username)
    await asRedisMaster(p, ctx, async (s, where) => {
      await existingUser(s, base, where, ctx)
      if (p.username === base) {
        await setUser(s, base, ['resetpass', `#${hash}`], `setting the password of ${base}`, where)
        return
      }
      const line = await engineCall(`reading the rules of ${base} ${where}`, () => s.aclListLine(base))
      if (line === undefined) throw stepError(ctx.scope, `there is no ACL user ${base} ${where}`)
      const args = await engineCall(`copying the rules of ${base} to ${p.username}`, () =>
        cloneUserArgs(line, base, p.username, hash),
      )
      await setUser(
        s,
        p.username,
        args.slice(3),
        `creating or resetting ${p.username} as a copy of ${base}`,
        where,
      )
    })
  },
  verify: (pending, ctx) => verifyRedisLogin(redisCredentials(rd(pending, 'pending')), ctx),
}
