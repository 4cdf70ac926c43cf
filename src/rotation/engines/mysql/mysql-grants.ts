import { EngineError } from '../engine-error'
import { printedAccountForms, quoteAccount, type MysqlAccount } from './mysql-account'
import { assertNativeHash, nativeAuthClause, NATIVE_PLUGIN } from './mysql-password'

/**
 * Copying an account to its clone, exactly: pure functions over what the server prints for the source
 * account (`SHOW CREATE USER`, `SHOW GRANTS FOR`), returning the statements to run as the master.
 *
 * - The clone gets the source's host pattern, its account properties (REQUIRE, resource limits, password
 *   and lock options: everything SHOW CREATE USER prints after the authentication) and each grant line with
 *   the grantee replaced: privileges, column privileges, roles (with their ADMIN OPTION), PROXY, and the
 *   default role. Never more: `WITH GRANT OPTION` is kept only where the source has it (AWS's template
 *   issue #90 "fixed" a failing re-grant by adding it to every grant, which makes the clone stronger than
 *   the user). The master must hold every copied privilege WITH GRANT OPTION (and ADMIN OPTION on copied
 *   roles): that is what the server checks, and the strategy's documented privilege list says so.
 * - On MariaDB the clone sets its own default role (`SET DEFAULT ROLE r`, run logged in as the clone):
 *   setting another account's default role needs UPDATE on the whole `mysql` schema, which would make the
 *   master a superuser in all but name.
 * - The source's authentication string is never copied: the clone gets its own hash.
 * - Later rotations re-synchronise: the clone's grants are compared with the source's, and only the
 *   difference is revoked and granted, so grants added to the user since the last rotation reach the clone
 *   (AWS issue #38) and grants removed from it leave the clone.
 *
 * Lines this does not understand are refused (`invalid-input`) rather than guessed at: MySQL 8 partial
 * revokes (`REVOKE … FROM`), several authentication methods, a grantee that appears twice.
 */

interface Token {
  readonly text: string
  readonly start: number
  readonly end: number
}

/** Whitespace-separated tokens; quoted runs ('…', "…", `…`, with doubled or backslash-escaped quotes) stay whole. */
export function tokenize(sql: string): Token[] {
  const tokens: Token[] = []
  let i = 0
  while (i < sql.length) {
    while (i < sql.length && /\s/.test(sql[i] ?? '')) i++
    if (i >= sql.length) break
    const start = i
    while (i < sql.length && !/\s/.test(sql[i] ?? '')) {
      const ch = sql[i] ?? ''
      if (ch === "'" || ch === '"' || ch === '`') {
        i++
        while (i < sql.length) {
          if (sql[i] === '\\' && ch !== '`') i += 2
          else if (sql[i] === ch && sql[i + 1] === ch) i += 2
          else if (sql[i] === ch) break
          else i++
        }
        if (i >= sql.length)
          throw new EngineError('invalid-input', 'unterminated quoted text in server output')
      }
      i++
    }
    tokens.push({ text: sql.slice(start, i), start, end: i })
  }
  return tokens
}

const upper = (t: Token | undefined): string => t?.text.toUpperCase() ?? ''

function granteeIndex(tokens: Token[], account: MysqlAccount): number {
  const forms = printedAccountForms(account)
  const at = tokens.flatMap((t, i) => (forms.includes(t.text) ? [i] : []))
  const index = at[0]
  if (at.length !== 1 || index === undefined)
    throw new EngineError('invalid-input', 'grant line does not name the account exactly once')
  return index
}

/** One grant of the source, without its grantee: `head` ("GRANT SELECT ON `db`.*"), `keyword` TO/FOR. */
export interface GrantLine {
  readonly kind: 'privileges' | 'role' | 'default-role'
  readonly head: string
  readonly option: '' | 'WITH GRANT OPTION' | 'WITH ADMIN OPTION'
}

/** Parse one `SHOW GRANTS` row of `account`; refuses what it cannot copy faithfully. */
export function parseGrantLine(line: string, account: MysqlAccount): GrantLine {
  const tokens = tokenize(line)
  const g = granteeIndex(tokens, account)
  const before = upper(tokens[g - 1])
  const head = line.slice(0, tokens[g - 1]?.start ?? 0).trimEnd()
  const tail = tokens.slice(g + 1).map(upper)
  const withAt = tail.indexOf('WITH')
  const tailHas = (a: string, b: string): boolean =>
    withAt !== -1 && tail.slice(withAt).some((t, i, all) => t === a && all[i + 1] === b)
  if (upper(tokens[0]) === 'SET' && upper(tokens[1]) === 'DEFAULT' && before === 'FOR') {
    return { kind: 'default-role', head, option: '' }
  }
  if (upper(tokens[0]) !== 'GRANT' || before !== 'TO')
    throw new EngineError('invalid-input', 'grant line is neither GRANT … TO nor SET DEFAULT ROLE … FOR')
  const hasOn = tokens.slice(1, g - 1).some((t) => upper(t) === 'ON')
  if (!hasOn) return { kind: 'role', head, option: tailHas('ADMIN', 'OPTION') ? 'WITH ADMIN OPTION' : '' }
  return { kind: 'privileges', head, option: tailHas('GRANT', 'OPTION') ? 'WITH GRANT OPTION' : '' }
}

const keyOf = (g: GrantLine): string => `${g.head}\u0000${g.option}`

/**
 * The statement the master runs to give `grant` to `account`; undefined for USAGE without options (it gives
 * nothing) and for the default role, which MariaDB lets only the account itself set without UPDATE on the
 * whole `mysql` schema (`SET DEFAULT ROLE … FOR other` needs it; proven on 10.11): see selfStatement.
 */
export function grantStatement(grant: GrantLine, account: MysqlAccount): string | undefined {
  if (grant.kind === 'default-role') return undefined
  if (grant.kind === 'privileges' && /^GRANT\s+USAGE\s+ON\s/i.test(grant.head) && grant.option === '')
    return undefined
  return [grant.head, 'TO', quoteAccount(account), grant.option].filter((s) => s !== '').join(' ')
}

/** `SET DEFAULT ROLE <r>` (or `NONE`), for the account to run itself once its new password works. */
export function selfDefaultRoleStatement(grant: GrantLine | undefined): string {
  if (grant === undefined) return 'SET DEFAULT ROLE NONE'
  if (grant.kind !== 'default-role' || !/^SET\s+DEFAULT\s+ROLE\s+\S/i.test(grant.head))
    throw new EngineError('invalid-input', 'not a default role line')
  return grant.head
}

/** The statement that takes `grant` away from `account` (the exact inverse of grantStatement). */
export function revokeStatement(grant: GrantLine, account: MysqlAccount): string | undefined {
  const target = quoteAccount(account)
  switch (grant.kind) {
    case 'default-role':
      return undefined // the account resets its own default role (selfDefaultRoleStatement)
    case 'role':
      return `REVOKE ${grant.head.replace(/^GRANT\s+/i, '')} FROM ${target}`
    case 'privileges': {
      const m = /^GRANT\s+(.+?)\s+ON\s+(.+)$/is.exec(grant.head)
      if (m?.[1] === undefined || m[2] === undefined)
        throw new EngineError('invalid-input', 'privilege grant without ON')
      const usage = /^USAGE$/i.test(m[1])
      const privileges = [...(usage ? [] : [m[1]]), ...(grant.option === '' ? [] : ['GRANT OPTION'])]
      return privileges.length === 0 ? undefined : `REVOKE ${privileges.join(', ')} ON ${m[2]} FROM ${target}`
    }
    default: {
      const unreachable: never = grant.kind
      throw new EngineError('invalid-input', `unknown grant kind ${String(unreachable)}`)
    }
  }
}

export interface CreateUserLine {
  /** The source's mysql_native_password hash, or undefined for an account without a password. */
  readonly hash: string | undefined
  /** Everything after the authentication: REQUIRE, WITH limits, PASSWORD/ACCOUNT options, DEFAULT ROLE. */
  readonly properties: string
}

/**
 * Parse `SHOW CREATE USER` of `account`. Accepts the single-method native forms MariaDB and MySQL print
 * (`IDENTIFIED BY PASSWORD '<h>'`, `IDENTIFIED WITH 'mysql_native_password' AS '<h>'`,
 * `IDENTIFIED VIA mysql_native_password USING '<h>'`); anything else is an unsupported plugin.
 */
export function parseCreateUser(line: string, account: MysqlAccount): CreateUserLine {
  const tokens = tokenize(line)
  if (upper(tokens[0]) !== 'CREATE' || upper(tokens[1]) !== 'USER' || granteeIndex(tokens, account) !== 2)
    throw new EngineError(
      'invalid-input',
      'SHOW CREATE USER output does not start with CREATE USER <account>',
    )
  let next = 3
  let hash: string | undefined
  if (upper(tokens[3]) === 'IDENTIFIED') {
    const words = tokens.slice(4, 8).map((t) => t.text.replace(/^['`"]|['`"]$/g, ''))
    const by = words[0]?.toUpperCase() === 'BY' && words[1]?.toUpperCase() === 'PASSWORD'
    const via =
      ['WITH', 'VIA'].includes(words[0]?.toUpperCase() ?? '') &&
      words[1] === NATIVE_PLUGIN &&
      ['AS', 'USING'].includes(words[2]?.toUpperCase() ?? '')
    if (by) {
      hash = words[2]
      next = 7
    } else if (via) {
      hash = words[3]
      next = 8
    } else throw new EngineError('invalid-input', 'account does not use mysql_native_password alone')
    if (hash === undefined) throw new EngineError('invalid-input', 'authentication string missing')
    assertNativeHash(hash)
    if (upper(tokens[next]) === 'OR')
      throw new EngineError('invalid-input', 'account has several authentication methods')
  }
  const first = tokens[next]
  const properties = first === undefined ? '' : line.slice(first.start).trim()
  return { hash, properties }
}

/** MySQL prints DEFAULT ROLE in SHOW CREATE USER; ALTER USER takes it only in its own form. */
function withoutDefaultRole(properties: string): { rest: string; defaultRole: string | undefined } {
  const m =
    /\bDEFAULT ROLE\s+(.+?)(?=\s+(?:REQUIRE|WITH|PASSWORD|ACCOUNT|COMMENT|ATTRIBUTE|FAILED_LOGIN_ATTEMPTS|PASSWORD_LOCK_TIME)\b|$)/i.exec(
      properties,
    )
  if (m?.[1] === undefined) return { rest: properties, defaultRole: undefined }
  return {
    rest: `${properties.slice(0, m.index)}${properties.slice(m.index + m[0].length)}`
      .replace(/\s+/g, ' ')
      .trim(),
    defaultRole: m[1],
  }
}

export interface CloneInput {
  readonly source: MysqlAccount
  readonly clone: MysqlAccount
  /** SHOW CREATE USER of the source (one row). */
  readonly sourceCreateUser: string
  /** SHOW GRANTS FOR the source (every row). */
  readonly sourceGrants: readonly string[]
  /** The clone's new mysql_native_password hash. */
  readonly cloneHash: string
}

/** What to run: first every `asMaster` statement, then, logged in as the clone, every `asClone` one. */
export interface ClonePlan {
  readonly asMaster: string[]
  readonly asClone: string[]
}

const defaultRoleOf = (grants: readonly GrantLine[]): GrantLine | undefined =>
  grants.find((g) => g.kind === 'default-role')

/** First rotation: create the clone with its own password and exactly the source's properties and grants. */
export function planCloneCreation(input: CloneInput): ClonePlan {
  const { properties } = parseCreateUser(input.sourceCreateUser, input.source)
  const { rest, defaultRole } = withoutDefaultRole(properties)
  const create = `CREATE USER ${quoteAccount(input.clone)} ${nativeAuthClause(input.cloneHash)}${rest === '' ? '' : ` ${rest}`}`
  const want = input.sourceGrants.map((l) => parseGrantLine(l, input.source))
  const grants = want.flatMap((g) => grantStatement(g, input.clone) ?? [])
  const role = defaultRoleOf(want)
  return {
    asMaster: [create, ...grants, ...defaultRoleStatement(input.clone, defaultRole)],
    asClone: role === undefined ? [] : [selfDefaultRoleStatement(role)],
  }
}

export interface SyncInput extends CloneInput {
  /** SHOW GRANTS FOR the clone as it is now. */
  readonly cloneGrants: readonly string[]
}

/**
 * Later rotations: one ALTER USER sets the clone's new password and re-applies the source's properties;
 * then the clone's grants that the source no longer has are revoked and the missing ones granted.
 * Revokes come first, so a grant line whose options changed is taken away before it is given again.
 */
export function planCloneUpdate(input: SyncInput): ClonePlan {
  const { properties } = parseCreateUser(input.sourceCreateUser, input.source)
  const { rest, defaultRole } = withoutDefaultRole(properties)
  const alter = `ALTER USER ${quoteAccount(input.clone)} ${nativeAuthClause(input.cloneHash)}${rest === '' ? '' : ` ${rest}`}`
  const want = input.sourceGrants.map((l) => parseGrantLine(l, input.source))
  const have = input.cloneGrants.map((l) => parseGrantLine(l, input.clone))
  const wantKeys = new Set(want.map(keyOf))
  const haveKeys = new Set(have.map(keyOf))
  const revokes = have
    .filter((g) => !wantKeys.has(keyOf(g)))
    .flatMap((g) => revokeStatement(g, input.clone) ?? [])
  const grants = want
    .filter((g) => !haveKeys.has(keyOf(g)))
    .flatMap((g) => grantStatement(g, input.clone) ?? [])
  const wantRole = defaultRoleOf(want)
  const haveRole = defaultRoleOf(have)
  const roleChanged =
    (wantRole === undefined ? '' : keyOf(wantRole)) !== (haveRole === undefined ? '' : keyOf(haveRole))
  return {
    asMaster: [alter, ...revokes, ...grants, ...defaultRoleStatement(input.clone, defaultRole)],
    asClone: roleChanged ? [selfDefaultRoleStatement(wantRole)] : [],
  }
}

/** MySQL's default role (printed in SHOW CREATE USER), set by the master once the roles are granted. */
function defaultRoleStatement(account: MysqlAccount, defaultRole: string | undefined): string[] {
  return defaultRole === undefined ? [] : [`ALTER USER ${quoteAccount(account)} DEFAULT ROLE ${defaultRole}`]
}

/** True when the clone holds exactly the source's grants (for tests and for testSecret's check). */
export function sameGrants(
  source: MysqlAccount,
  sourceGrants: readonly string[],
  clone: MysqlAccount,
  cloneGrants: readonly string[],
): boolean {
  const a = sourceGrants.map((l) => keyOf(parseGrantLine(l, source))).sort()
  const b = cloneGrants.map((l) => keyOf(parseGrantLine(l, clone))).sort()
  return a.length === b.length && a.every((k, i) => k === b[i])
}
