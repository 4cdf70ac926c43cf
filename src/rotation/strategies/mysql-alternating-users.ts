import {
  accountExists,
  alterUserPasswordStatement,
  alternateUser,
  mysqlNativePasswordHash,
  planCloneCreation,
  planCloneUpdate,
  readCreateUser,
  readGrants,
  resolveAccount,
  sameGrants,
  type ClonePlan,
  type MysqlAccount,
  type MysqlSession,
} from '../engines'
import { parseEngineMaster, type MysqlSecret } from '../engine-values'
import { stepError } from '../rotation-errors'
import {
  checkNativeAccount,
  checkProvenServer,
  checkSameMysqlSystem,
  connectMysql,
  my,
  mysqlCanLogIn,
  mysqlCredentials,
  printAccount,
  verifyMysqlLogin,
} from './mysql-common'
import {
  checkOnlyChanged,
  engineCall,
  generatePassword,
  masterLogin,
  masterSecretIdOf,
  onServer,
  withSession,
} from './strategy-common'
import type { RotationContext, RotationStrategy } from './rotation-strategy'

/**
 * MySQL/MariaDB alternating users: a master login creates `<user>_clone` on the first rotation, with the
 * user's host pattern, account options and exactly its grants (engines/mysql/mysql-grants.ts), and then
 * alternates between the two, so the previous credentials keep working through the next rotation. The user
 * (the base) is the source of truth: each time the clone becomes the pending user it is brought back in
 * line with the base (grants it lost are revoked, grants it gained are given). Passwords are set as
 * `IDENTIFIED WITH mysql_native_password AS '<hash>'`, never in plain text.
 *
 * DDL is not transactional in MySQL, so the retry of an interrupted setSecret must converge: the clone's
 * statements are planned from what the server shows now (an existing clone gets the update plan), and
 * `accepts` reports the clone ready only when it logs in *and* holds exactly the base's grants.
 */
export const MYSQL_CLONE_SUFFIX = '_clone'

export function mysqlBaseUser(user: string): string {
  return user.endsWith(MYSQL_CLONE_SUFFIX) ? user.slice(0, -MYSQL_CLONE_SUFFIX.length) : user
}

async function asMaster<T>(
  p: MysqlSecret,
  ctx: RotationContext,
  fn: (s: MysqlSession, where: string) => Promise<T>,
): Promise<T> {
  const masterId = masterSecretIdOf(ctx)
  const master = masterLogin(
    masterId,
    parseEngineMaster(await ctx.readMasterSecret(masterId), masterId, 'MySQL'),
    p,
    ctx,
  )
  // No default database: the master needs none, and may have no privilege on the user's.
  const session = await connectMysql(`as the master of ${masterId}`, master, ctx)
  return withSession(session, (s) => fn(s, onServer(master)))
}

interface Accounts {
  readonly base: MysqlAccount
  readonly clone: MysqlAccount
}

async function accountsOf(s: MysqlSession, p: MysqlSecret, where: string): Promise<Accounts> {
  const baseUser = mysqlBaseUser(p.username)
  const base = await engineCall(`finding the account of ${baseUser} ${where}`, () =>
    resolveAccount(s, baseUser, p.accountHost),
  )
  return { base, clone: { user: `${baseUser}${MYSQL_CLONE_SUFFIX}`, host: base.host } }
}

/** Does the clone hold exactly the base's grants (its default role included)? */
async function cloneInLine(s: MysqlSession, a: Accounts, where: string): Promise<boolean> {
  const [baseGrants, cloneGrants] = await engineCall(
    `reading the grants of ${a.base.user} and ${a.clone.user} ${where}`,
    async () => [await readGrants(s, a.base), await readGrants(s, a.clone)],
  )
  return engineCall(`comparing the grants of ${a.base.user} and ${a.clone.user} ${where}`, () =>
    sameGrants(a.base, baseGrants, a.clone, cloneGrants),
  )
}

/** What a statement of a clone plan does, for the failure message (never the statement: it holds a hash). */
function describeStatement(sql: string, account: MysqlAccount): string {
  const verb = /^\s*(CREATE USER|ALTER USER|GRANT|REVOKE|SET DEFAULT ROLE)/i.exec(sql)?.[1]?.toUpperCase()
  const who = printAccount(account)
  switch (verb) {
    case 'CREATE USER':
      return `creating the user ${who}`
    case 'ALTER USER':
      return `setting the password and options of ${who}`
    case 'GRANT':
      return `copying a grant of the base user to ${who}`
    case 'REVOKE':
      return `revoking a grant the base user no longer has from ${who}`
    case 'SET DEFAULT ROLE':
      return `setting the default role of ${who}`
    case undefined:
    default:
      return `running a statement for ${who}`
  }
}

async function run(
  s: MysqlSession,
  statements: readonly string[],
  account: MysqlAccount,
  where: string,
): Promise<void> {
  for (const sql of statements)
    await engineCall(`${describeStatement(sql, account)} ${where}`, () => s.query(sql))
}

async function planClone(s: MysqlSession, a: Accounts, hash: string, where: string): Promise<ClonePlan> {
  const sourceCreateUser = await engineCall(`reading the account ${printAccount(a.base)} ${where}`, () =>
    readCreateUser(s, a.base),
  )
  const sourceGrants = await engineCall(`reading the grants of ${printAccount(a.base)} ${where}`, () =>
    readGrants(s, a.base),
  )
  const input = { source: a.base, clone: a.clone, sourceCreateUser, sourceGrants, cloneHash: hash }
  if (!(await engineCall(`looking up ${printAccount(a.clone)} ${where}`, () => accountExists(s, a.clone))))
    return engineCall(`planning the clone of ${printAccount(a.base)}`, () => planCloneCreation(input))
  const cloneGrants = await engineCall(`reading the grants of ${printAccount(a.clone)} ${where}`, () =>
    readGrants(s, a.clone),
  )
  return engineCall(`planning the update of ${printAccount(a.clone)}`, () =>
    planCloneUpdate({ ...input, cloneGrants }),
  )
}

export const mysqlAlternatingUsersStrategy: RotationStrategy = {
  kind: 'mysql-alternating-users',
  updatesExternalSystem: true,
  async generate(current, ctx) {
    const c = my(current.value, 'current')
    const next = await engineCall('naming the alternate user', () =>
      alternateUser(c.username, MYSQL_CLONE_SUFFIX),
    )
    return { username: next, password: await generatePassword(ctx) }
  },
  checkPending(pending, current, ctx) {
    const p = my(pending.value, 'pending')
    const c = my(current.value, 'current')
    const base = mysqlBaseUser(c.username)
    const expected = c.username === base ? `${base}${MYSQL_CLONE_SUFFIX}` : base
    if (p.username !== expected)
      throw stepError(
        ctx.scope,
        'refusing a pending value whose user is not the alternate of the current user',
      )
    checkSameMysqlSystem(p, c, ctx)
    checkOnlyChanged(pending, current, ['password', 'username'], ctx)
  },
  async accepts(pending, ctx) {
    const p = my(pending, 'pending')
    if (!(await mysqlCanLogIn(mysqlCredentials(p, false), ctx))) return false
    if (p.username === mysqlBaseUser(p.username)) return true
    // The clone logs in: its password is set, but an interrupted setSecret may have left grants to copy.
    return asMaster(p, ctx, async (s, where) => cloneInLine(s, await accountsOf(s, p, where), where))
  },
  async apply(pending, _current, ctx) {
    const p = my(pending, 'pending')
    const hash = mysqlNativePasswordHash(p.password)
    const self = await asMaster(p, ctx, async (s, where) => {
      await checkProvenServer(s, where, ctx)
      const a = await accountsOf(s, p, where)
      await checkNativeAccount(s, a.base, where)
      if (p.username === a.base.user) {
        await run(s, [alterUserPasswordStatement(a.base, hash)], a.base, where)
        return { statements: [], account: a.base }
      }
      const plan = await planClone(s, a, hash, where)
      await run(s, plan.asMaster, a.clone, where)
      return { statements: plan.asClone, account: a.clone }
    })
    if (self.statements.length === 0) return
    // MariaDB lets only the account itself set its default role without UPDATE on the whole mysql schema.
    const session = await connectMysql('to set its own default role', mysqlCredentials(p, false), ctx)
    await withSession(session, (s) => run(s, self.statements, self.account, onServer(p)))
  },
  async verify(pending, ctx) {
    const p = my(pending, 'pending')
    const base = mysqlBaseUser(p.username)
    await asMaster(p, ctx, async (s, where) => {
      const a = await accountsOf(s, p, where)
      await verifyMysqlLogin(mysqlCredentials(p), a.base.host, ctx)
      if (p.username !== base && !(await cloneInLine(s, a, where)))
        throw stepError(
          ctx.scope,
          `${printAccount(a.clone)} does not hold exactly the grants of ${printAccount(a.base)} ${where}`,
        )
    })
  },
}
