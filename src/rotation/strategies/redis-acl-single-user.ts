import { addPasswordArgs, redisPasswordHash, removeOtherPasswordsArgs } from '../engines'
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
 * Redis ACL single user (master secret): the user holds two passwords from setSecret on, the current one
 * and the pending one, so there is no gap at all: AWSCURRENT keeps working through the whole rotation and,
 * after finishSecret, as AWSPREVIOUS until the next rotation's setSecret. One atomic command by the master,
 * `ACL SETUSER <user> !<every other hash> #<pending hash>`, removes the passwords older than AWSCURRENT
 * and adds the pending one; every other rule of the user (on/off, commands, keys, channels, selectors)
 * stays exactly as it was. Only present hashes are removed, so a retry sends nothing once it is done.
 */
export const redisAclSingleUserStrategy: RotationStrategy = {
  kind: 'redis-acl-single-user',
  updatesExternalSystem: true,
  async generate(current, ctx) {
    rd(current.value, 'current')
    return { password: await generatePassword(ctx) }
  },
  checkPending(pending, current, ctx) {
    const p = rd(pending.value, 'pending')
    const c = rd(current.value, 'current')
    if (p.username !== c.username)
      throw stepError(ctx.scope, 'refusing a pending value for a different user than the current one')
    checkSameRedisSystem(p, c, ctx)
    checkOnlyChanged(pending, current, ['password'], ctx)
  },
  // The user already holds the pending hash: the one command that adds it has run (it is atomic).
  accepts: (pending, ctx) => {
    const p = rd(pending, 'pending')
    return asRedisMaster(p, ctx, async (s, where) =>
      (await existingUser(s, p.username, where, ctx)).passwordHashes.includes(redisPasswordHash(p.password)),
    )
  },
  async apply(pending, current, ctx) {
    const p = rd(pending, 'pending')
    const c = rd(current, 'current')
    const pendingHash = redisPasswordHash(p.password)
    const currentHash = redisPasswordHash(c.password)
    await asRedisMaster(p, ctx, async (s, where) => {
      const user = await existingUser(s, p.username, where, ctx)
      if (!user.passwordHashes.includes(currentHash))
        throw stepError(
          ctx.scope,
          `AWSCURRENT's password is not one of the passwords of ${p.username} ${where}: it was changed outside rotation; add it back (ACL SETUSER ${p.username} #<its SHA-256>) and retry`,
        )
      const remove = await engineCall(`planning the password change of ${p.username}`, () =>
        removeOtherPasswordsArgs(user, [currentHash, pendingHash]),
      )
      const add = addPasswordArgs(user, pendingHash)
      const rules = [...(remove?.slice(3) ?? []), ...(add?.slice(3) ?? [])]
      if (rules.length > 0)
        await setUser(s, p.username, rules, `adding the pending password to ${p.username}`, where)
    })
  },
  verify: (pending, ctx) => verifyRedisLogin(redisCredentials(rd(pending, 'pending')), ctx),
}
