import { EngineError } from '../../../src/rotation/engines/engine-error'
import {
  parseCreateUser,
  parseGrantLine,
  planCloneCreation,
  planCloneUpdate,
  sameGrants,
  tokenize,
} from '../../../src/rotation/engines/mysql/mysql-grants'

const OLD = '*39CACEB80E79DF178452F759A071DF7D29B2CB0A'
const NEW = '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19'
const app = { user: 'app', host: '10.%' }
const clone = { user: 'app_clone', host: '10.%' }

// Verbatim output of MariaDB 10.11 for an account with a role, a default role, db, column and global
// privileges (one WITH GRANT OPTION), REQUIRE SSL and a resource limit.
const MARIADB_GRANTS = [
  'GRANT `app_role` TO `app`@`10.%`',
  `GRANT PROCESS ON *.* TO \`app\`@\`10.%\` IDENTIFIED BY PASSWORD '${OLD}' REQUIRE SSL WITH GRANT OPTION MAX_QUERIES_PER_HOUR 100`,
  'GRANT SELECT, INSERT ON `app_db`.* TO `app`@`10.%`',
  'GRANT UPDATE (`b`) ON `app_db`.`t` TO `app`@`10.%`',
  'SET DEFAULT ROLE `app_role` FOR `app`@`10.%`',
]
const MARIADB_CREATE = `CREATE USER \`app\`@\`10.%\` IDENTIFIED BY PASSWORD '${OLD}' REQUIRE SSL WITH MAX_QUERIES_PER_HOUR 100`

describe('tokenize', () => {
  it('keeps quoted runs whole, with spaces, doubled and escaped quotes', () => {
    const tokens = tokenize(
      "GRANT SELECT ON `my db`.* TO 'a''b'@'%' REQUIRE SUBJECT 'C=x \\' WITH GRANT OPTION'",
    )
    expect(tokens.map((t) => t.text)).toEqual([
      'GRANT',
      'SELECT',
      'ON',
      '`my db`.*',
      'TO',
      "'a''b'@'%'",
      'REQUIRE',
      'SUBJECT',
      "'C=x \\' WITH GRANT OPTION'",
    ])
  })

  it('refuses unterminated quotes', () => {
    expect(() => tokenize("GRANT SELECT ON `db.* TO 'a'")).toThrow(EngineError)
  })
})

describe('parseGrantLine', () => {
  it('reads privileges, roles and the default role, dropping the authentication and limits', () => {
    expect(MARIADB_GRANTS.map((l) => parseGrantLine(l, app))).toEqual([
      { kind: 'role', head: 'GRANT `app_role`', option: '' },
      { kind: 'privileges', head: 'GRANT PROCESS ON *.*', option: 'WITH GRANT OPTION' },
      { kind: 'privileges', head: 'GRANT SELECT, INSERT ON `app_db`.*', option: '' },
      { kind: 'privileges', head: 'GRANT UPDATE (`b`) ON `app_db`.`t`', option: '' },
      { kind: 'default-role', head: 'SET DEFAULT ROLE `app_role`', option: '' },
    ])
  })

  it('does not take GRANT OPTION from inside a quoted REQUIRE string', () => {
    const line = "GRANT USAGE ON *.* TO `app`@`10.%` REQUIRE SUBJECT 'CN=x WITH GRANT OPTION'"
    expect(parseGrantLine(line, app).option).toBe('')
  })

  it('keeps a role grant WITH ADMIN OPTION', () => {
    expect(parseGrantLine('GRANT `r` TO `app`@`10.%` WITH ADMIN OPTION', app).option).toBe(
      'WITH ADMIN OPTION',
    )
  })

  it("reads MySQL 5.7's single-quoted grantee", () => {
    expect(parseGrantLine("GRANT SELECT ON `db`.* TO 'app'@'10.%'", app).head).toBe('GRANT SELECT ON `db`.*')
  })

  it('refuses a partial revoke, a line for another account, and a grantee named twice', () => {
    expect(() => parseGrantLine('REVOKE INSERT ON `mysql`.* FROM `app`@`10.%`', app)).toThrow(EngineError)
    expect(() => parseGrantLine('GRANT SELECT ON *.* TO `other`@`10.%`', app)).toThrow(EngineError)
    expect(() => parseGrantLine('GRANT `app`@`10.%` TO `app`@`10.%`', app)).toThrow(EngineError)
  })
})

describe('parseCreateUser', () => {
  it('reads the MariaDB forms', () => {
    expect(parseCreateUser(MARIADB_CREATE, app)).toEqual({
      hash: OLD,
      properties: 'REQUIRE SSL WITH MAX_QUERIES_PER_HOUR 100',
    })
    expect(
      parseCreateUser(
        `CREATE USER \`app\`@\`10.%\` IDENTIFIED VIA mysql_native_password USING '${OLD}'`,
        app,
      ),
    ).toEqual({
      hash: OLD,
      properties: '',
    })
    expect(parseCreateUser('CREATE USER `app`@`10.%`', app)).toEqual({ hash: undefined, properties: '' })
  })

  it("reads MySQL 8's form with its account options", () => {
    const line = `CREATE USER \`app\`@\`10.%\` IDENTIFIED WITH 'mysql_native_password' AS '${OLD}' DEFAULT ROLE \`r\`@\`%\` REQUIRE NONE PASSWORD EXPIRE DEFAULT ACCOUNT UNLOCK`
    expect(parseCreateUser(line, app)).toEqual({
      hash: OLD,
      properties: 'DEFAULT ROLE `r`@`%` REQUIRE NONE PASSWORD EXPIRE DEFAULT ACCOUNT UNLOCK',
    })
  })

  it('refuses other plugins and several methods', () => {
    for (const line of [
      "CREATE USER `app`@`10.%` IDENTIFIED VIA ed25519 USING 'abc'",
      "CREATE USER `app`@`10.%` IDENTIFIED WITH 'caching_sha2_password' AS '$A$005$xyz'",
      `CREATE USER \`app\`@\`10.%\` IDENTIFIED VIA mysql_native_password USING '${OLD}' OR unix_socket`,
      'CREATE USER `app`@`10.%` IDENTIFIED VIA unix_socket',
    ])
      expect(() => parseCreateUser(line, app)).toThrow(EngineError)
  })
})

describe('planCloneCreation', () => {
  it("creates the clone with its own hash, the user's properties and exactly its grants", () => {
    const plan = planCloneCreation({
      source: app,
      clone,
      sourceCreateUser: MARIADB_CREATE,
      sourceGrants: MARIADB_GRANTS,
      cloneHash: NEW,
    })
    expect(plan).toEqual({
      asMaster: [
        `CREATE USER 'app_clone'@'10.%' IDENTIFIED WITH mysql_native_password AS '${NEW}' REQUIRE SSL WITH MAX_QUERIES_PER_HOUR 100`,
        "GRANT `app_role` TO 'app_clone'@'10.%'",
        "GRANT PROCESS ON *.* TO 'app_clone'@'10.%' WITH GRANT OPTION",
        "GRANT SELECT, INSERT ON `app_db`.* TO 'app_clone'@'10.%'",
        "GRANT UPDATE (`b`) ON `app_db`.`t` TO 'app_clone'@'10.%'",
      ],
      asClone: ['SET DEFAULT ROLE `app_role`'],
    })
    expect(JSON.stringify(plan)).not.toContain(OLD)
  })

  it("sets MySQL's default role after the roles are granted", () => {
    const plan = planCloneCreation({
      source: app,
      clone,
      sourceCreateUser: `CREATE USER \`app\`@\`10.%\` IDENTIFIED WITH 'mysql_native_password' AS '${OLD}' DEFAULT ROLE \`r\`@\`%\` REQUIRE NONE`,
      sourceGrants: ['GRANT USAGE ON *.* TO `app`@`10.%`', 'GRANT `r`@`%` TO `app`@`10.%`'],
      cloneHash: NEW,
    })
    expect(plan).toEqual({
      asMaster: [
        `CREATE USER 'app_clone'@'10.%' IDENTIFIED WITH mysql_native_password AS '${NEW}' REQUIRE NONE`,
        "GRANT `r`@`%` TO 'app_clone'@'10.%'",
        "ALTER USER 'app_clone'@'10.%' DEFAULT ROLE `r`@`%`",
      ],
      asClone: [],
    })
  })
})

describe('planCloneUpdate', () => {
  const base = { source: app, clone, sourceCreateUser: MARIADB_CREATE, cloneHash: NEW }
  const cloneLines = (lines: string[]): string[] =>
    lines.map((l) => l.replaceAll('`app`@`10.%`', '`app_clone`@`10.%`'))

  it('only changes the password when the grants already match', () => {
    const plan = planCloneUpdate({
      ...base,
      sourceGrants: MARIADB_GRANTS,
      cloneGrants: cloneLines(MARIADB_GRANTS),
    })
    expect(plan).toEqual({
      asMaster: [
        `ALTER USER 'app_clone'@'10.%' IDENTIFIED WITH mysql_native_password AS '${NEW}' REQUIRE SSL WITH MAX_QUERIES_PER_HOUR 100`,
      ],
      asClone: [],
    })
    expect(sameGrants(app, MARIADB_GRANTS, clone, cloneLines(MARIADB_GRANTS))).toBe(true)
  })

  it('revokes what the user lost and grants what it gained, revokes first', () => {
    const sourceGrants = [
      'GRANT USAGE ON *.* TO `app`@`10.%`',
      'GRANT SELECT ON `app_db`.* TO `app`@`10.%`',
      'GRANT SELECT ON `other`.`t2` TO `app`@`10.%`',
    ]
    const cloneGrants = cloneLines([
      'GRANT PROCESS ON *.* TO `app`@`10.%` WITH GRANT OPTION',
      'GRANT SELECT, INSERT ON `app_db`.* TO `app`@`10.%`',
      'GRANT `app_role` TO `app`@`10.%`',
      'SET DEFAULT ROLE `app_role` FOR `app`@`10.%`',
    ])
    const plan = planCloneUpdate({ ...base, sourceGrants, cloneGrants })
    expect(plan.asMaster.slice(1)).toEqual([
      "REVOKE PROCESS, GRANT OPTION ON *.* FROM 'app_clone'@'10.%'",
      "REVOKE SELECT, INSERT ON `app_db`.* FROM 'app_clone'@'10.%'",
      "REVOKE `app_role` FROM 'app_clone'@'10.%'",
      "GRANT SELECT ON `app_db`.* TO 'app_clone'@'10.%'",
      "GRANT SELECT ON `other`.`t2` TO 'app_clone'@'10.%'",
    ])
    expect(plan.asClone).toEqual(['SET DEFAULT ROLE NONE'])
    expect(sameGrants(app, sourceGrants, clone, cloneGrants)).toBe(false)
  })
})
