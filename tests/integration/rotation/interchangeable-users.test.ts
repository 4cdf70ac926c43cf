import { rotateLikeSecretsManager, type LocalRotationReport } from '../../../scripts/lib/local-rotation'
import {
  aTarget,
  canLogIn,
  createPgSecret,
  holderOf,
  makeHandler,
  stagesOf,
  startRotationEnv,
  valueAt,
  withLogin,
  type PgSecretValue,
  type RotationEnv,
} from '../../../scripts/lib/rotation-env'

jest.setTimeout(60_000)

/**
 * postgres-alternating-users promises that either user may be AWSCURRENT at any time, so a session of one
 * must be indistinguishable to the application from a session of the other (docs/ROTATION.md, "Alternating
 * users are interchangeable"). Each test drives real rotations against moto and a real PostgreSQL and then
 * works as the application would: as whichever user is current.
 */
describe('alternating users are interchangeable for the application (real PostgreSQL)', () => {
  let env: RotationEnv
  let master: Awaited<ReturnType<typeof createPgSecret>>
  beforeAll(async () => {
    env = await startRotationEnv()
    master = await createPgSecret(env, { username: 'rotation_admin', createRole: true })
    await env.pg.query('CREATE DATABASE other_db')
  })
  afterAll(async () => {
    await env?.stop()
  })

  /** A base user as an application has it: may connect, may create tables in the public schema. */
  async function anAppSecret(opts: { username?: string; name?: string } = {}) {
    const secret = await createPgSecret(env, opts)
    const user = secret.value.username
    await env.pg.query(`GRANT "${user}" TO rotation_admin WITH ADMIN OPTION`)
    await env.pg.query(`GRANT CREATE ON SCHEMA public TO "${user}"`, [], 'app')
    const run = makeHandler(env, [
      aTarget(secret.name, { strategy: 'postgres-alternating-users', masterSecretId: master.name }),
    ])
    const rotate = async (): Promise<LocalRotationReport> => {
      const report = await rotateLikeSecretsManager({
        endpoint: env.moto.endpoint,
        secretId: secret.name,
        runStep: run,
      })
      if (!report.ok) throw new Error(`rotation failed: ${JSON.stringify(report.attempts.at(-1))}`)
      return report
    }
    const current = async (): Promise<PgSecretValue> => (await valueAt(env, secret.arn, 'AWSCURRENT'))!
    const asCurrent = async (...sql: string[]): Promise<Record<string, unknown>[][]> =>
      withLogin(await current(), async (c) => {
        const out: Record<string, unknown>[][] = []
        for (const statement of sql) out.push((await c.query(statement)).rows as Record<string, unknown>[])
        return out
      })
    return { secret, user, clone: `${user}_clone`, rotate, current, asCurrent }
  }

  const ownerOf = async (table: string): Promise<string | undefined> =>
    (
      await env.pg.query<{ owner: string }>(
        'SELECT tableowner AS owner FROM pg_tables WHERE tablename = $1',
        [table],
        'app',
      )
    )[0]?.owner

  /** A role's attributes and settings, as a session of it would start with them. */
  async function roleProfile(name: string) {
    const [role] = await env.pg.query(
      `SELECT rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolreplication, rolbypassrls,
              rolconnlimit, coalesce(rolvaliduntil, 'infinity')::text AS rolvaliduntil
         FROM pg_roles WHERE rolname = $1`,
      [name],
    )
    const settings = await env.pg.query<{ datname: string | null; setconfig: string[] }>(
      `SELECT d.datname, s.setconfig FROM pg_db_role_setting s LEFT JOIN pg_database d ON d.oid = s.setdatabase
        WHERE s.setrole = $1::regrole ORDER BY 1`,
      [`"${name}"`],
    )
    const memberOf = await env.pg.query<{ rolname: string; admin_option: boolean }>(
      `SELECT r.rolname, m.admin_option FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid
        WHERE m.member = $1::regrole ORDER BY 1`,
      [`"${name}"`],
    )
    return { role, settings: settings.map((s) => [s.datname, [...s.setconfig].sort()]), memberOf }
  }

  it('the issue input: a table the clone created is readable by the base user after the next rotation', async () => {
    // Arrange: demo/reporting-db, rotated once, so demo_reporter_clone is current
    const app = await anAppSecret({ username: 'demo_reporter', name: 'demo/reporting-db' })
    await app.rotate()
    expect((await app.current()).username).toBe('demo_reporter_clone')
    await app.asCurrent('CREATE TABLE t1 (id int)', 'INSERT INTO t1 VALUES (1)')
    // Act: rotate again, so demo_reporter is current
    await app.rotate()
    // Assert
    expect((await app.current()).username).toBe('demo_reporter')
    const [count] = await app.asCurrent('SELECT count(*)::int AS n FROM t1')
    expect(count).toEqual([{ n: 1 }])
    expect(await ownerOf('t1')).toBe('demo_reporter')
  })

  it('objects created by either user can be written, altered and dropped by the other', async () => {
    // Arrange
    const app = await anAppSecret()
    await app.rotate() // clone current
    await app.asCurrent('CREATE TABLE by_clone (id int)', 'CREATE SEQUENCE by_clone_seq')
    await app.rotate() // base current
    // Act / Assert: the base user alters, writes and drops what the clone created, and creates its own
    await app.asCurrent(
      'ALTER TABLE by_clone ADD COLUMN note text',
      "INSERT INTO by_clone VALUES (nextval('by_clone_seq'), 'x')",
      'DROP SEQUENCE by_clone_seq CASCADE',
      'CREATE TABLE by_base (id int)',
    )
    await app.rotate() // clone current
    await app.asCurrent('ALTER TABLE by_base RENAME TO by_base_renamed', 'DROP TABLE by_clone')
    expect(await ownerOf('by_base_renamed')).toBe(app.user)
    expect(await ownerOf('by_clone')).toBeUndefined()
  })

  it('objects the base user created before the first rotation are fully usable by the clone', async () => {
    // Arrange: the application worked as the base user before rotation was switched on
    const app = await anAppSecret()
    await app.asCurrent(
      'CREATE TABLE early (id int PRIMARY KEY)',
      'CREATE FUNCTION early_count() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM early $$',
    )
    // Act
    await app.rotate()
    // Assert
    expect((await app.current()).username).toBe(app.clone)
    const [, , count] = await app.asCurrent(
      'INSERT INTO early VALUES (1)',
      'ALTER TABLE early ADD COLUMN n int',
      'SELECT early_count()::int AS n',
      'DROP FUNCTION early_count()',
      'DROP TABLE early',
    )
    expect(count).toEqual([{ n: 1 }])
  })

  it('stays interchangeable across many rotations: each current user reads and writes everything', async () => {
    // Arrange / Act: five rotations, and after each the current user creates a table and writes to all
    const app = await anAppSecret()
    const tables: string[] = []
    for (let i = 0; i < 5; i++) {
      await app.rotate()
      tables.push(`gen_${i}`)
      await app.asCurrent(
        `CREATE TABLE gen_${i} (n int)`,
        ...tables.map((t) => `INSERT INTO ${t} VALUES (${i})`),
      )
    }
    // Assert: every table is the base user's, and the current user reads every row
    for (const t of tables) expect(await ownerOf(t)).toBe(app.user)
    const counts = await app.asCurrent(...tables.map((t) => `SELECT count(*)::int AS n FROM ${t}`))
    expect(counts.map((r) => r[0]?.['n'])).toEqual([5, 4, 3, 2, 1])
  })

  it('a session of either user starts as the same role, with the same settings and privileges', async () => {
    // Arrange: per-role settings (a list setting with quoting, and one per database) and a privilege
    const app = await anAppSecret()
    await env.pg.query(`ALTER ROLE "${app.user}" SET search_path TO '$user', 'public', 'Mixed Case'`)
    await env.pg.query(`ALTER ROLE "${app.user}" IN DATABASE app SET work_mem TO '8MB'`)
    await env.pg.query(`ALTER ROLE "${app.user}" SET application_name TO 'it''s eu\\west'`)
    await env.pg.query('CREATE TABLE IF NOT EXISTS granted_only (n int)', [], 'app')
    await env.pg.query(`GRANT SELECT ON granted_only TO "${app.user}"`, [], 'app')
    const probe = [
      'SELECT session_user AS s, current_user AS c',
      'SHOW search_path',
      'SHOW work_mem',
      'SHOW application_name',
      "SELECT has_table_privilege('granted_only', 'SELECT') AS p",
    ]
    const baseView = await app.asCurrent(...probe)
    // Act
    await app.rotate()
    // Assert
    const cloneView = await app.asCurrent(...probe)
    expect(cloneView[0]).toEqual([{ s: app.clone, c: app.user }]) // session_user differs (a documented limit)
    expect(cloneView.slice(1)).toEqual(baseView.slice(1))
    expect(baseView[2]).toEqual([{ work_mem: '8MB' }])
    expect(baseView[3]).toEqual([{ application_name: "it's eu\\west" }])
    // RESET ROLE and DISCARD ALL (what poolers run between clients) keep the session acting as the base user
    const afterResets = await app.asCurrent(
      'RESET ROLE',
      'SELECT current_user AS c',
      'DISCARD ALL',
      'SELECT current_user AS c',
    )
    expect([afterResets[1], afterResets[3]]).toEqual([[{ c: app.user }], [{ c: app.user }]])
  })

  it('names a setting the master may not set, and copies it once the master may (GRANT SET ON PARAMETER)', async () => {
    // Arrange: an extension-style setting on the base user; PostgreSQL lets only a superuser, or a role
    // granted SET on that parameter, put it on another role
    const app = await anAppSecret()
    await env.pg.query(`ALTER ROLE "${app.user}" SET myapp.tenant TO 'eu'`)
    // Act
    const refused = await rotateLikeSecretsManager({
      endpoint: env.moto.endpoint,
      secretId: app.secret.name,
      runStep: makeHandler(env, [
        aTarget(app.secret.name, { strategy: 'postgres-alternating-users', masterSecretId: master.name }),
      ]),
    })
    await env.pg.query('GRANT SET ON PARAMETER myapp.tenant TO rotation_admin')
    const retried = await rotateLikeSecretsManager({
      endpoint: env.moto.endpoint,
      secretId: app.secret.name,
      runStep: makeHandler(env, [
        aTarget(app.secret.name, { strategy: 'postgres-alternating-users', masterSecretId: master.name }),
      ]),
      token: refused.token,
    })
    // Assert
    expect(refused.attempts.at(-1)?.error).toBe(
      `setSecret: giving ${app.clone} the base user's setting myapp.tenant for every database on 127.0.0.1:${env.pg.port}/app failed (DatabaseError 42501)`,
    )
    expect(retried.ok).toBe(true)
    const [tenant] = await app.asCurrent('SHOW myapp.tenant')
    expect(tenant).toEqual([{ 'myapp.tenant': 'eu' }])
  })

  it('creates the clone with exactly the base user’s attributes, never more', async () => {
    // Arrange: a base user with CREATEDB, a connection limit and an expiry, and a non-superuser master
    const app = await anAppSecret()
    await env.pg.query(
      `ALTER ROLE "${app.user}" CREATEDB CONNECTION LIMIT 7 VALID UNTIL '2099-01-01 00:00:00+00'`,
    )
    // Act
    await app.rotate()
    // Assert
    const base = await roleProfile(app.user)
    const clone = await roleProfile(app.clone)
    expect(clone.role).toEqual(base.role)
    expect(clone.role).toMatchObject({ rolsuper: false, rolcreaterole: false, rolbypassrls: false })
    expect(clone.memberOf).toEqual([{ rolname: app.user, admin_option: false }])
    expect(clone.settings).toEqual([[null, [`role=${app.user}`]]])
  })

  it('brings a clone whose attributes and memberships drifted back in line at the next rotation', async () => {
    // Arrange: after the first rotation a superuser gives the clone more than the base user has
    const app = await anAppSecret()
    await app.rotate()
    await env.pg.query('CREATE ROLE drift_group NOLOGIN')
    await env.pg.query(`ALTER ROLE "${app.clone}" CREATEDB CREATEROLE NOINHERIT CONNECTION LIMIT 3`)
    await env.pg.query(`GRANT drift_group TO "${app.clone}"`)
    await env.pg.query(`REVOKE "${app.user}" FROM "${app.clone}"`)
    await env.pg.query(`GRANT "${app.user}" TO "${app.clone}" WITH ADMIN OPTION`)
    // Act
    await app.rotate()
    // Assert
    const base = await roleProfile(app.user)
    const clone = await roleProfile(app.clone)
    expect(clone.role).toEqual(base.role)
    expect(clone.memberOf).toEqual([{ rolname: app.user, admin_option: false }])
  })

  it('brings the clone’s settings back in line, and copies settings the base user gained since', async () => {
    // Arrange: after the first rotation the clone's settings drift and the base user gains one
    const app = await anAppSecret()
    await app.rotate()
    await env.pg.query(`ALTER ROLE "${app.clone}" SET work_mem TO '64MB'`)
    await env.pg.query(`ALTER ROLE "${app.clone}" RESET role`)
    await env.pg.query(`ALTER ROLE "${app.clone}" IN DATABASE other_db SET statement_timeout TO '1s'`)
    await env.pg.query(`ALTER ROLE "${app.user}" SET search_path TO 'public'`)
    await env.pg.query(`ALTER ROLE "${app.user}" IN DATABASE other_db SET lock_timeout TO '2s'`)
    // Act
    await app.rotate()
    // Assert
    const base = await roleProfile(app.user)
    const clone = await roleProfile(app.clone)
    expect(clone.settings).toEqual([
      ['other_db', ['lock_timeout=2s']],
      [null, [`role=${app.user}`, 'search_path=public'].sort()],
    ])
    expect(base.settings).toEqual([
      ['other_db', ['lock_timeout=2s']],
      [null, ['search_path=public']],
    ])
  })

  it('hands what the clone came to own, and privileges granted to it, back to the base user', async () => {
    // Arrange: a clone session that stopped acting as the base user created a table; the application
    // (as the base user) granted the clone a privilege directly
    const app = await anAppSecret()
    await app.rotate()
    await app.asCurrent(
      'SET ROLE NONE',
      'CREATE TABLE clone_owned (n int)',
      'RESET ROLE',
      'CREATE TABLE direct_grant (n int)',
      `GRANT SELECT ON direct_grant TO "${app.clone}"`,
    )
    expect(await ownerOf('clone_owned')).toBe(app.clone)
    // Act
    await app.rotate()
    // Assert
    expect(await ownerOf('clone_owned')).toBe(app.user)
    const acl = await env.pg.query<{ relacl: string | null }>(
      "SELECT relacl::text FROM pg_class WHERE relname = 'direct_grant'",
      [],
      'app',
    )
    expect(acl[0]?.relacl).toMatch(new RegExp(`^\\{${app.user}=`)) // the owner's own entry only
    expect(acl[0]?.relacl).not.toContain(app.clone)
    // and the base user, now current, uses the table the clone had created
    await app.asCurrent('INSERT INTO clone_owned VALUES (1)', 'DROP TABLE clone_owned')
  })

  it('warns about what the master cannot undo: objects in another database, grants by other roles', async () => {
    // Arrange: the clone owns a table in another database, and a superuser granted it a privilege here
    const app = await anAppSecret()
    await app.rotate()
    await env.pg.query(`CREATE TABLE elsewhere_${app.user} (n int)`, [], 'other_db')
    await env.pg.query(`ALTER TABLE elsewhere_${app.user} OWNER TO "${app.clone}"`, [], 'other_db')
    await env.pg.query(`CREATE TABLE superuser_table_${app.user} (n int)`, [], 'app')
    await env.pg.query(`GRANT SELECT ON superuser_table_${app.user} TO "${app.clone}"`, [], 'app')
    const before = env.log.lines.length
    // Act
    const report = await app.rotate()
    // Assert: the rotation completes; each thing left is named in a warning
    expect(report.ok).toBe(true)
    const warnings = env.log.lines
      .slice(before)
      .filter((l) => l.level === 'WARN')
      .map((l) => l.message)
    expect(warnings).toEqual([
      `setSecret: ${app.clone} still owns objects or holds privileges in other databases (other_db), which this connection cannot reach; run REASSIGN OWNED BY ${app.clone} TO ${app.user} and DROP OWNED BY ${app.clone} in each`,
      `setSecret: ${app.clone} still holds privileges on objects of 127.0.0.1:${env.pg.port}/app (or on databases or tablespaces) granted by a role the master cannot act for; revoke them as their grantor`,
    ])
    await env.pg.query(`DROP TABLE elsewhere_${app.user}`, [], 'other_db')
    await env.pg.query(`DROP TABLE superuser_table_${app.user}`, [], 'app')
  })

  it('fails setSecret, naming the attribute, when the master cannot take SUPERUSER away from the clone', async () => {
    // Arrange: a superuser made the clone a superuser; the master (CREATEROLE only) cannot undo that
    const app = await anAppSecret()
    await app.rotate()
    const cloneValue = await app.current()
    await env.pg.query(`ALTER ROLE "${app.clone}" SUPERUSER`)
    // Act
    const report = await rotateLikeSecretsManager({
      endpoint: env.moto.endpoint,
      secretId: app.secret.name,
      runStep: makeHandler(env, [
        aTarget(app.secret.name, { strategy: 'postgres-alternating-users', masterSecretId: master.name }),
      ]),
    })
    // Assert: the step names the operation, the database and the code; nothing changed; current works
    expect(report).toMatchObject({ ok: false, failedStep: 'setSecret' })
    expect(report.attempts.at(-1)?.error).toBe(
      `setSecret: giving ${app.clone} the base user's NOSUPERUSER on 127.0.0.1:${env.pg.port}/app failed (DatabaseError 42501)`,
    )
    expect(holderOf(await stagesOf(env, app.secret.arn), 'AWSCURRENT')).toEqual([report.oldVersionId])
    expect(await canLogIn(cloneValue)).toBe(true)
    expect(JSON.stringify(env.log.lines)).not.toContain(env.canary)
    await env.pg.query(`ALTER ROLE "${app.clone}" NOSUPERUSER`)
  })
})
