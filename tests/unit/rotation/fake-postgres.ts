import type { ConnectAs, DbSession, PgCredentials } from '../../../src/rotation/db-session'
import { md5Verifier } from '../../../src/rotation/password-verifier'
import { deriveScramKeys, parseScramVerifier } from '../../../src/rotation/scram'

export class FakeAuthError extends Error {
  override readonly name = 'FakeAuthError'
  readonly code = '28P01'
}
export class FakeConnectionRefused extends Error {
  override readonly name = 'FakeConnectionRefused'
  readonly code = 'ECONNREFUSED'
}
export class FakeDatabaseError extends Error {
  override readonly name = 'DatabaseError'
  constructor(readonly code: string) {
    super(`fake database error ${code}`)
  }
}

export interface FakeRole {
  oid: number
  password?: string
  verifier?: string
  createRole: boolean
  createDb: boolean
  memberOf: string[]
  /** Per-role settings, keyed by database ('' = every database), as `name=value` entries. */
  settings: Map<string, string[]>
}

/**
 * A fake PostgreSQL server for unit tests: roles with a plain password, a SCRAM or an md5 verifier (checked
 * as the server does), memberships, per-role settings, the catalog reads the strategies make, and a log of
 * every statement. `down` refuses connections. Real behaviour is proven against a real cluster in
 * tests/integration/rotation; this fake only has to be faithful to what the unit tests look at.
 */
export class FakePostgres {
  readonly roles = new Map<string, FakeRole>()
  readonly statements: { user: string; sql: string; params: readonly unknown[] }[] = []
  readonly logins: { user: string; ok: boolean }[] = []
  down = false
  host = 'db.internal'
  port = 5432
  passwordEncryption = 'scram-sha-256'
  /** Called after each statement; throw from it to simulate a connection dropped after the change. */
  afterStatement: (sql: string) => void = () => undefined
  private nextOid = 16_384

  addRole(name: string, password: string, opts: { createRole?: boolean } = {}): this {
    this.roles.set(name, this.newRole({ password, createRole: opts.createRole ?? false }))
    return this
  }

  private newRole(over: Partial<FakeRole>): FakeRole {
    return {
      oid: this.nextOid++,
      createRole: false,
      createDb: false,
      memberOf: [],
      settings: new Map(),
      ...over,
    }
  }

  accepts(name: string, password: string): boolean {
    const role = this.roles.get(name)
    if (role === undefined) return false
    if (role.verifier?.startsWith('md5') === true) return role.verifier === md5Verifier(password, name)
    if (role.verifier !== undefined) {
      const keys = parseScramVerifier(role.verifier)
      if (keys === undefined) return false
      return deriveScramKeys(password, keys.salt, keys.iterations).storedKey.equals(keys.storedKey)
    }
    return role.password === password
  }

  /** The role a session of `name` acts as: its global `role` setting, else itself. */
  actingRole(name: string): string {
    const entry = this.roles
      .get(name)
      ?.settings.get('')
      ?.find((e) => e.startsWith('role='))
    return entry === undefined ? name : entry.slice('role='.length)
  }

  readonly connectAs: ConnectAs = (creds: PgCredentials) => {
    if (this.down || creds.host !== this.host || creds.port !== this.port)
      return Promise.reject(new FakeConnectionRefused('connect ECONNREFUSED'))
    const ok = this.accepts(creds.username, creds.password)
    this.logins.push({ user: creds.username, ok })
    if (!ok) return Promise.reject(new FakeAuthError('password authentication failed'))
    const user = creds.username
    const session: DbSession = {
      query: <R extends Record<string, unknown>>(
        sql: string,
        params: readonly unknown[] = [],
      ): Promise<R[]> => {
        this.statements.push({ user, sql, params })
        const rows = this.execute(user, sql, params) as R[]
        this.afterStatement(sql)
        return Promise.resolve(rows)
      },
      close: () => Promise.resolve(),
    }
    return Promise.resolve(session)
  }

  private requireCreateRole(user: string): void {
    if (this.roles.get(user)?.createRole !== true) throw new FakeDatabaseError('42501')
  }

  role(name: string | undefined): FakeRole {
    const role = this.roles.get(name ?? '')
    if (role === undefined) throw new FakeDatabaseError('42704')
    return role
  }

  private execute(user: string, sql: string, params: readonly unknown[]): Record<string, unknown>[] {
    let m: RegExpExecArray | null
    if ((m = /^ALTER ROLE "(\w+)" (?:WITH LOGIN )?PASSWORD '([^']+)'$/.exec(sql)) !== null) {
      const role = this.role(m[1])
      if (m[1] !== user) this.requireCreateRole(user)
      delete role.password
      role.verifier = m[2] ?? ''
      return []
    }
    if ((m = /^CREATE ROLE "(\w+)" WITH LOGIN PASSWORD '([^']+)'$/.exec(sql)) !== null) {
      this.requireCreateRole(user)
      this.roles.set(m[1] ?? '', this.newRole({ verifier: m[2] ?? '' }))
      return []
    }
    if ((m = /^GRANT "(\w+)" TO "(\w+)"$/.exec(sql)) !== null) {
      const member = this.role(m[2])
      if (!member.memberOf.includes(m[1] ?? '')) member.memberOf.push(m[1] ?? '')
      return []
    }
    if ((m = /^REVOKE "(\w+)" FROM "(\w+)"$/.exec(sql)) !== null) {
      const member = this.role(m[2])
      member.memberOf = member.memberOf.filter((r) => r !== m?.[1])
      return []
    }
    if ((m = /^ALTER ROLE "(\w+)" (NO)?CREATEDB$/.exec(sql)) !== null) {
      this.requireCreateRole(user)
      this.role(m[1]).createDb = m[2] === undefined
      return []
    }
    if ((m = /^ALTER ROLE "(\w+)" RESET ALL$/.exec(sql)) !== null) {
      this.role(m[1]).settings.delete('')
      return []
    }
    if ((m = /^ALTER ROLE "(\w+)" SET "(\w+)" TO '([^']*)'$/.exec(sql)) !== null) {
      const settings = this.role(m[1]).settings
      settings.set('', [...(settings.get('') ?? []), `${m[2] ?? ''}=${m[3] ?? ''}`])
      return []
    }
    if (sql === 'SHOW password_encryption') return [{ password_encryption: this.passwordEncryption }]
    if (sql.startsWith('SELECT oid::int AS oid, rolname')) {
      return (params[0] as string[]).flatMap((name) => {
        const r = this.roles.get(name)
        return r === undefined
          ? []
          : [
              {
                oid: r.oid,
                rolname: name,
                rolsuper: false,
                rolinherit: true,
                rolcreaterole: r.createRole,
                rolcreatedb: r.createDb,
                rolreplication: false,
                rolbypassrls: false,
                rolconnlimit: -1,
                rolvaliduntil: null,
              },
            ]
      })
    }
    const byOid = (oid: unknown): [string, FakeRole] | undefined =>
      [...this.roles].find(([, r]) => r.oid === oid)
    if (sql.startsWith('SELECT d.datname, s.setconfig FROM pg_catalog.pg_db_role_setting')) {
      const settings = byOid(params[0])?.[1].settings ?? new Map<string, string[]>()
      return [...settings].map(([db, setconfig]) => ({ datname: db === '' ? null : db, setconfig }))
    }
    if (sql.startsWith('SELECT r.rolname AS name, m.admin_option AS admin'))
      return (byOid(params[0])?.[1].memberOf ?? []).map((name) => ({ name, admin: false }))
    if (sql.startsWith('SELECT DISTINCT d.datname')) return [] // the fake's roles own nothing
    if (sql.startsWith('SELECT 1 AS found FROM pg_catalog.pg_roles'))
      return this.roles.has(String(params[0])) ? [{ found: 1 }] : []
    if (sql.startsWith('SELECT session_user AS session_name')) {
      return [
        {
          session_name: user,
          acting_name: this.actingRole(user),
          expected_acting: this.actingRole(String(params[0])),
        },
      ]
    }
    if (sql === 'SELECT 1' || sql === 'BEGIN' || sql === 'COMMIT' || sql === 'ROLLBACK') return []
    throw new Error(`fake postgres: unexpected statement ${sql.slice(0, 30)}`)
  }
}
