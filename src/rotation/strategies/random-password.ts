import { stepError } from '../rotation-errors'
import { differingFields } from '../secret-document'
import { passwordOf } from '../secret-value'
import type { RotationStrategy } from './rotation-strategy'

/**
 * A new random password and nothing else to update (API keys). Every other field is carried over byte for
 * byte, and setSecret and finishSecret refuse a pending value that differs from the current one anywhere
 * but the password (compared losslessly: an integer above 2^53 is compared by its digits).
 */
export const randomPasswordStrategy: RotationStrategy = {
  kind: 'random',
  updatesExternalSystem: false,
  async generate(current, ctx) {
    passwordOf(current.value, 'current')
    const password = await ctx.passwords.generate({
      length: ctx.target.passwordLength,
      excludeCharacters: ctx.target.excludeCharacters,
    })
    return { password }
  },
  checkPending(pending, current, ctx) {
    passwordOf(pending.value, 'pending')
    const differing = differingFields(pending, current, ['password'])
    if (differing.length > 0)
      throw stepError(
        ctx.scope,
        `the pending value differs from the current one in fields other than the password (${differing.join(', ')})`,
      )
  },
  accepts: () => Promise.resolve(true), // no external system: nothing to set
  apply: () => Promise.resolve(),
  verify: () => Promise.resolve(),
}
