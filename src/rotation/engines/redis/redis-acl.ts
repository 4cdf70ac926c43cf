import { createHash } from 'node:crypto'
import { ACL_USER_PATTERN } from '../../../contract/rotation-strategies'
import { EngineError } from '../engine-error'

export { ACL_USER_PATTERN }

/**
 * Redis ACL users, as pure functions over what `ACL GETUSER` / `ACL LIST` return. Redis 6+ lets a user hold
 * several passwords and takes each as its SHA-256 hash (`#<64 lower-case hex>` adds one, `!<hex>` removes
 * one), so the plain password never travels to the server when it is set: only its hash does. ACL SETUSER
 * applies its rules on top of the user's current ones, so adding or removing one hash leaves every other
 * rule (on/off, commands, keys, channels, selectors, the other passwords) exactly as it was. The rules that
 * would reset them (`reset`, `resetpass`, `nopass`, `>plain`) are never sent by these helpers.
 *
 * Hashes are not passwords, but an unsalted SHA-256 of a generated 32-character password is as hard to
 * reverse as the password is to guess; ACL LIST/GETUSER show them to anyone with `+acl`.
 */
export interface AclUser {
  readonly name: string
  /** `on`/`off`, `nopass`, `skip-sanitize-payload`… as GETUSER reports them. */
  readonly flags: readonly string[]
  /** The user's password hashes (lower-case hex), in the server's order. */
  readonly passwordHashes: readonly string[]
}

const HASH = /^[0-9a-f]{64}$/
/** Names this code will touch: no spaces or control characters (ACL LIST could not be replayed), ≤ 128. */

export function assertAclUser(name: string): void {
  if (!ACL_USER_PATTERN.test(name))
    throw new EngineError(
      'invalid-input',
      'Redis ACL user name must be 1–128 characters of [A-Za-z0-9_.:@+=-]',
    )
}

/** SHA-256 of the password's UTF-8 bytes, lower-case hex: what Redis stores and compares. */
export function redisPasswordHash(password: string): string {
  if (password.length === 0) throw new EngineError('invalid-input', 'password must not be empty')
  return createHash('sha256').update(password, 'utf8').digest('hex')
}

function assertHash(hash: string): void {
  if (!HASH.test(hash)) throw new EngineError('invalid-input', 'not a SHA-256 password hash')
}

/**
 * `ACL GETUSER` reply → AclUser. Accepts RESP2 (flat [key, value, …] array) and RESP3 (map/object) shapes;
 * null (no such user) → undefined.
 */
export function parseAclGetUser(name: string, reply: unknown): AclUser | undefined {
  if (reply === null || reply === undefined) return undefined
  const fields = new Map<string, unknown>()
  if (Array.isArray(reply)) {
    for (let i = 0; i + 1 < reply.length; i += 2) fields.set(String(reply[i]), reply[i + 1])
  } else if (reply instanceof Map) {
    for (const [k, v] of reply as Map<unknown, unknown>) fields.set(String(k), v)
  } else if (typeof reply === 'object') {
    for (const [k, v] of Object.entries(reply)) fields.set(k, v)
  } else throw new EngineError('invalid-input', 'unexpected ACL GETUSER reply')
  const strings = (v: unknown): string[] =>
    Array.isArray(v) ? v.map(String) : v instanceof Set ? [...v].map(String) : []
  const flags = strings(fields.get('flags'))
  const passwordHashes = strings(fields.get('passwords'))
  if (!passwordHashes.every((h) => HASH.test(h)))
    throw new EngineError('invalid-input', 'unexpected password entry in ACL GETUSER')
  return { name, flags, passwordHashes }
}

/** The ACL SETUSER arguments that add `hash` to `user`, or undefined when the user already has it. */
export function addPasswordArgs(user: AclUser, hash: string): string[] | undefined {
  assertAclUser(user.name)
  assertHash(hash)
  return user.passwordHashes.includes(hash) ? undefined : ['ACL', 'SETUSER', user.name, `#${hash}`]
}

/**
 * The ACL SETUSER arguments that remove every password of `user` except `keep`, or undefined when there is
 * nothing to remove. Removing a hash the user does not have is an error in Redis, so only present ones are
 * named: the call is idempotent. Refuses to leave the user without any password it had before.
 */
export function removeOtherPasswordsArgs(user: AclUser, keep: readonly string[]): string[] | undefined {
  assertAclUser(user.name)
  keep.forEach(assertHash)
  const remove = user.passwordHashes.filter((h) => !keep.includes(h))
  if (remove.length === 0) return undefined
  if (remove.length === user.passwordHashes.length)
    throw new EngineError('invalid-input', 'refusing to remove every password the user has')
  return ['ACL', 'SETUSER', user.name, ...remove.map((h) => `!${h}`)]
}

/** Split an `ACL LIST` line into its rules, keeping selectors `(…)` whole. */
export function splitAclRules(line: string): string[] {
  const rules: string[] = []
  let current = ''
  let depth = 0
  for (const ch of line) {
    if (ch === '(') depth++
    if (ch === ')') depth = Math.max(0, depth - 1)
    if (ch === ' ' && depth === 0) {
      if (current !== '') rules.push(current)
      current = ''
    } else current += ch
  }
  if (current !== '') rules.push(current)
  return rules
}

/**
 * Alternating users: the ACL SETUSER arguments that make `clone` the same as `source` (its `ACL LIST`
 * line) with exactly one password, `cloneHash`. `reset` first, so the clone ends with exactly the source's
 * rules whatever it had before (a rule removed from the user since the last rotation leaves the clone too).
 * `reset` also sets the `sanitize-payload` flag, which only restates Redis's default (a user without
 * `skip-sanitize-payload` has its RESTORE payloads checked when the server asks for it), so ACL LIST shows
 * that one flag more on the clone than on a user created without `reset`.
 * The source's password hashes are never copied; a source with `nopass` is refused.
 */
export function cloneUserArgs(
  sourceAclListLine: string,
  source: string,
  clone: string,
  cloneHash: string,
): string[] {
  assertAclUser(source)
  assertAclUser(clone)
  assertHash(cloneHash)
  const [keyword, name, ...rules] = splitAclRules(sourceAclListLine)
  if (keyword !== 'user' || name !== source)
    throw new EngineError('invalid-input', 'ACL LIST line is not for the source user')
  if (rules.includes('nopass')) throw new EngineError('invalid-input', 'source user has nopass')
  const kept = rules.filter((r) => !r.startsWith('#') && !r.startsWith('>') && r !== 'resetpass')
  return ['ACL', 'SETUSER', clone, 'reset', ...kept, 'resetpass', `#${cloneHash}`]
}
