import { stepError } from '../rotation-errors'
import type { SecretValue } from '../secret-value'
import type { RotationStrategy } from './rotation-strategy'

/**
 * A new random password and nothing else to update (API keys, the seed's example). Every other field is
 * carried over, and setSecret refuses a pending value whose other fields differ from the current ones.
 */
export const randomPasswordStrategy: RotationStrategy = {
  kind: 'random',
  updatesExternalSystem: false,
  async generate(current, ctx) {
    const password = await ctx.passwords.generate({
      length: ctx.target.passwordLength,
      excludeCharacters: ctx.target.excludeCharacters,
    })
    return { ...current, password }
  },
  checkPending(pending, current, ctx) {
    const rest = (v: SecretValue): string =>
      JSON.stringify(
        Object.entries(v)
          .filter(([k]) => k !== 'password')
          .sort(([a], [b]) => (a < b ? -1 : 1)),
      )
    if (rest(pending) !== rest(current))
      throw stepError(
        ctx.scope,
        'the pending value differs from the current one in fields other than the password',
      )
  },
  accepts: () => Promise.resolve(true), // no external system: nothing to set
  apply: () => Promise.resolve(),
  verify: () => Promise.resolve(),
}
