import { quoteCatalogIdent, quoteIdent, quoteLiteral, type DbSession } from '../db-session'
import { parseSettingEntry, resetAllStatement, setSettingStatement } from '../pg-role-settings'
import { attempt, stepError, type StepScope } from '../rotation-errors'

/**
 * Makes `<user>_clone` interchangeable with `<user>` (postgres-alternating-users). The base user owns
 * everything; the clone is a member of it whose sessions start acting as it (`ALTER ROLE clone SET role TO
 * base`), so objects a clone session creates belong to the base user and every privilege check is the base
 * user's. What a session takes from its *login* role (attributes, per-role settings, memberships, connection
 * limit, expiry) is copied from the base user on every rotation, by the master, in the same transaction as
 * the password change; anything the clone owns or was granted directly is handed back to the base user.
 * Then the result is read back and compared: a difference the master could not remove fails the step.
 * Guarantees and limits: docs/ROTATION.md, "Alternating users are interchangeable".
 */
interface RoleRow extends Record<string, unknown> {
  readonly oid: number
  readonly rolname: string
  readonly rolsuper: boolean
  readonly rolinherit: boolean
  readonly rolcreaterole: boolean
  readonly rolcreatedb: boolean
  readonly rolreplication: boolean
  readonly rolbypassrls: boolean
  readonly rolconnlimit: number
  readonly rolvaliduntil: string | null
}

/** Role attributes copied as they are, with their ALTER ROLE keyword. LOGIN is always on (set with the password). */
const FLAG_ATTRIBUTES = [
  ['rolsuper', 'SUPERUSER'],
  ['rolinherit', 'INHERIT'],
  ['rolcreaterole', 'CREATEROLE'],
  ['rolcreatedb', 'CREATEDB'],
  ['rolreplication', 'REPLICATION'],
  ['rolbypassrls', 'BYPASSRLS'],
] as const

/** Settings per database: the key '' holds the settings for every database (setdatabase = 0). */
type SettingsByDatabase = ReadonlyMap<string, readonly string[]>

export interface CloneState {
  readonly role: RoleRow
  readonly settings: SettingsByDatabase
  /** The roles the clone is a member of, and whether it holds ADMIN OPTION there. */
  readonly memberOf: readonly { readonly name: string; readonly admin: boolean }[]
}

export interface CloneSyncResult {
  /** Statements run to bring the clone in line (0 when it already was). */
  readonly changes: number
  /** What the master could not undo and an operator should (log lines: names, never values). */
  readonly warnings: readonly string[]
}

const dbKey = (database: string | null): string => database ?? ''
const dbOf = (key: string): string | null => (key === '' ? null : key)

/** The ALTER ROLE statements that give the clone the base user's attributes, one per difference. */
export function attributeStatements(base: RoleRow, clone: RoleRow): { what: string; sql: string }[] {
  const q = quoteIdent(clone.rolname)
  const out: { what: string; sql: string }[] = []
  for (const [column, keyword] of FLAG_ATTRIBUTES) {
    if (base[column] !== clone[column]) {
      const attr = base[column] ? keyword : `NO${keyword}`
      out.push({ what: attr, sql: `ALTER ROLE ${q} ${attr}` })
    }
  }
  if (base.rolconnlimit !== clone.rolconnlimit)
    out.push({
      what: 'CONNECTION LIMIT',
      sql: `ALTER ROLE ${q} CONNECTION LIMIT ${String(Math.trunc(base.rolconnlimit))}`,
    })
  const expiry = (v: string | null): string => v ?? 'infinity' // no expiry and 'infinity' are the same
  if (expiry(base.rolvaliduntil) !== expiry(clone.rolvaliduntil))
    out.push({
      what: 'VALID UNTIL',
      sql: `ALTER ROLE ${q} VALID UNTIL ${quoteLiteral(expiry(base.rolvaliduntil))}`,
    })
  return out
}

/**
 * The settings the clone must have: the base user's, per database, plus `role=<base>` for every database
 * unless the base user itself has a `role` setting there (then the clone acts as that role too, as a base
 * session would).
 */
export function desiredCloneSettings(base: string, baseSettings: SettingsByDatabase): SettingsByDatabase {
  const out = new Map(baseSettings)
  const global = out.get('') ?? []
  if (!global.some((e) => e.toLowerCase().startsWith('role='))) out.set('', [...global, `role=${base}`])
  return out
}

function sameEntries(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  const x = [...(a ?? [])].sort()
  const y = [...(b ?? [])].sort()
  return x.length === y.length && x.every((e, i) => e === y[i])
}

/** Per database that differs: RESET ALL, then each desired entry (the transaction makes it one change). */
export function settingStatements(
  clone: string,
  desired: SettingsByDatabase,
  actual: SettingsByDatabase,
): { what: string; sql: string }[] {
  const q = quoteIdent(clone)
  const out: { what: string; sql: string }[] = []
  for (const key of [...new Set([...desired.keys(), ...actual.keys()])].sort()) {
    if (sameEntries(desired.get(key), actual.get(key))) continue
    const where = key === '' ? 'for every database' : `in database ${key}`
    out.push({ what: `settings ${where} (reset)`, sql: resetAllStatement(q, dbOf(key)) })
    for (const entry of desired.get(key) ?? []) {
      const name = parseSettingEntry(entry)?.name ?? '(unnamed)'
      out.push({ what: `setting ${name} ${where}`, sql: setSettingStatement(q, dbOf(key), entry) })
    }
  }
  return out
}

async function readRoles(s: DbSession, names: readonly string[]): Promise<Map<string, RoleRow>> {
  const rows = await s.query<RoleRow>(
    `SELECT oid::int AS oid, rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolreplication,
            rolbypassrls, rolconnlimit, rolvaliduntil::text AS rolvaliduntil
       FROM pg_catalog.pg_roles WHERE rolname = ANY($1::text[])`,
    [names],
  )
  return new Map(rows.map((r) => [r.rolname, r]))
}

async function readSettings(s: DbSession, oid: number): Promise<SettingsByDatabase> {
  const rows = await s.query<{ datname: string | null; setconfig: string[] | null }>(
    `SELECT d.datname, s.setconfig FROM pg_catalog.pg_db_role_setting s
       LEFT JOIN pg_catalog.pg_database d ON d.oid = s.setdatabase WHERE s.setrole = $1`,
    [oid],
  )
  const out = new Map<string, readonly string[]>()
  for (const r of rows) if ((r.setconfig?.length ?? 0) > 0) out.set(dbKey(r.datname), r.setconfig ?? [])
  return out
}

async function readCloneState(s: DbSession, clone: string): Promise<CloneState | undefined> {
  const role = (await readRoles(s, [clone])).get(clone)
  if (role === undefined) return undefined
  const memberOf = await s.query<{ name: string; admin: boolean }>(
    `SELECT r.rolname AS name, m.admin_option AS admin FROM pg_catalog.pg_auth_members m
       JOIN pg_catalog.pg_roles r ON r.oid = m.roleid WHERE m.member = $1`,
    [role.oid],
  )
  return { role, settings: await readSettings(s, role.oid), memberOf }
}

/** Membership statements: exactly `base`, without ADMIN OPTION. */
export function membershipStatements(
  base: string,
  clone: string,
  memberOf: CloneState['memberOf'],
): { what: string; sql: string }[] {
  const qc = quoteIdent(clone)
  const out: { what: string; sql: string }[] = []
  for (const m of memberOf) {
    if (m.name !== base)
      out.push({ what: 'revoking another membership', sql: `REVOKE ${quoteCatalogIdent(m.name)} FROM ${qc}` })
  }
  const inBase = memberOf.find((m) => m.name === base)
  if (inBase === undefined) out.push({ what: `granting ${base}`, sql: `GRANT ${quoteIdent(base)} TO ${qc}` })
  else if (inBase.admin)
    out.push({ what: 'revoking ADMIN OPTION', sql: `REVOKE ADMIN OPTION FOR ${quoteIdent(base)} FROM ${qc}` })
  return out
}

const SHDEPEND_OF_ROLE = `FROM pg_catalog.pg_shdepend s LEFT JOIN pg_catalog.pg_database d ON d.oid = s.dbid
  WHERE s.refclassid = 'pg_catalog.pg_authid'::regclass AND s.refobjid = $1 AND s.deptype <> 'p'`

/**
 * Objects the clone owns and privileges granted to it, in this database and on shared objects, go to the
 * base user (REASSIGN OWNED, then DROP OWNED, which after the reassignment only revokes). Both need the
 * master to hold the clone's privileges, so the master is made a member for the duration if it is not one.
 * What the master cannot undo is reported, not hidden: objects in other databases (unreachable from here)
 * and privileges granted to the clone by a role the master cannot act for (REVOKE only revokes what the
 * revoker, or a role it has the privileges of, granted).
 */
async function reclaimOwnership(
  s: DbSession,
  names: { readonly base: string; readonly clone: string },
  oid: number,
  where: string,
): Promise<{ changes: number; warnings: string[] }> {
  const read = (): Promise<{ datname: string | null; here: boolean }[]> =>
    attempt(`reading what ${names.clone} owns or was granted ${where}`, () =>
      s.query(
        `SELECT DISTINCT d.datname, (s.dbid = 0 OR d.datname = current_database()) AS here ${SHDEPEND_OF_ROLE}`,
        [oid],
      ),
    )
  const deps = await read()
  const warnings: string[] = []
  const otherDatabases = deps.flatMap((d) => (d.here || d.datname === null ? [] : [d.datname])).sort()
  if (otherDatabases.length > 0)
    warnings.push(
      `${names.clone} still owns objects or holds privileges in other databases (${otherDatabases.join(', ')}), which this connection cannot reach; run REASSIGN OWNED BY ${names.clone} TO ${names.base} and DROP OWNED BY ${names.clone} in each`,
    )
  if (!deps.some((d) => d.here)) return { changes: 0, warnings }
  const qc = quoteIdent(names.clone)
  const run = (what: string, sql: string): Promise<unknown> => attempt(`${what} ${where}`, () => s.query(sql))
  const held = await attempt(`checking whether the master holds ${names.clone}'s privileges ${where}`, () =>
    s.query<{ held: boolean }>(`SELECT pg_catalog.pg_has_role($1, 'USAGE') AS held`, [names.clone]),
  )
  const borrow = held[0]?.held !== true
  if (borrow)
    await run(
      'making the master a member of the clone (to reassign its objects)',
      `GRANT ${qc} TO CURRENT_USER`,
    )
  await run(
    'reassigning what the clone owns to the base user',
    `REASSIGN OWNED BY ${qc} TO ${quoteIdent(names.base)}`,
  )
  await run('revoking privileges granted to the clone itself', `DROP OWNED BY ${qc}`)
  if (borrow) await run('ending the membership of the master in the clone', `REVOKE ${qc} FROM CURRENT_USER`)
  if ((await read()).some((d) => d.here))
    warnings.push(
      `${names.clone} still holds privileges ${where.replace(/^on /, 'on objects of ')} (or on databases or tablespaces) granted by a role the master cannot act for; revoke them as their grantor`,
    )
  return { changes: borrow ? 4 : 2, warnings }
}

/** What still differs between the clone and the base user after a sync (names only, never setting values). */
export function remainingDifferences(
  base: RoleRow,
  baseSettings: SettingsByDatabase,
  clone: CloneState,
): string[] {
  const out = attributeStatements(base, clone.role).map((a) => `attribute ${a.what}`)
  const desired = desiredCloneSettings(base.rolname, baseSettings)
  for (const key of new Set([...desired.keys(), ...clone.settings.keys()])) {
    if (!sameEntries(desired.get(key), clone.settings.get(key))) {
      const names = (e: readonly string[] | undefined): string[] =>
        (e ?? []).map((x) => x.split('=')[0] ?? '')
      const a = desired.get(key)
      const b = clone.settings.get(key)
      const differing = [...new Set([...names(a), ...names(b)])].filter(
        (n) =>
          !sameEntries(
            (a ?? []).filter((e) => e.startsWith(`${n}=`)),
            (b ?? []).filter((e) => e.startsWith(`${n}=`)),
          ),
      )
      out.push(`setting ${differing.join(', ')} ${key === '' ? 'for every database' : `in database ${key}`}`)
    }
  }
  if (membershipStatements(base.rolname, clone.role.rolname, clone.memberOf).length > 0)
    out.push('memberships')
  return out
}

/**
 * Bring `clone` in line with `base`, inside the caller's transaction, as the master.
 * @param where "on host:port/db", for the operation names in errors
 * @throws RotationStepError naming what could not be made equal (e.g. a SUPERUSER clone and a non-superuser master)
 */
export async function syncClone(
  s: DbSession,
  names: { readonly base: string; readonly clone: string },
  where: string,
  scope: StepScope,
): Promise<CloneSyncResult> {
  const read = <T>(what: string, fn: () => Promise<T>): Promise<T> => attempt(`reading ${what} ${where}`, fn)
  const base = (await read('the base role', () => readRoles(s, [names.base]))).get(names.base)
  if (base === undefined) throw stepError(scope, `the role ${names.base} does not exist ${where}`)
  const baseSettings = await read('the settings of the base role', () => readSettings(s, base.oid))
  const clone = await read('the clone role', () => readCloneState(s, names.clone))
  if (clone === undefined) throw stepError(scope, `the role ${names.clone} does not exist ${where}`)
  const statements = [
    ...membershipStatements(base.rolname, clone.role.rolname, clone.memberOf),
    ...attributeStatements(base, clone.role),
    ...settingStatements(
      clone.role.rolname,
      desiredCloneSettings(base.rolname, baseSettings),
      clone.settings,
    ),
  ]
  for (const st of statements)
    await attempt(`giving ${names.clone} the base user's ${st.what} ${where}`, () => s.query(st.sql))
  const owned = await reclaimOwnership(s, names, clone.role.oid, where)
  const after = await read('the clone role', () => readCloneState(s, names.clone))
  const left = after === undefined ? ['the role is gone'] : remainingDifferences(base, baseSettings, after)
  if (left.length > 0)
    throw stepError(
      scope,
      `${names.clone} still differs from ${names.base} ${where} after syncing (${left.join('; ')}): the master cannot change that; fix it as a superuser`,
    )
  return { changes: statements.length + owned.changes, warnings: owned.warnings }
}
