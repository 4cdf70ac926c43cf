import fc from 'fast-check'
import { setSettingStatement, splitGucList } from '../../../src/rotation/pg-role-settings'
import {
  attributeStatements,
  desiredCloneSettings,
  membershipStatements,
  remainingDifferences,
  settingStatements,
} from '../../../src/rotation/strategies/pg-clone-sync'

describe('splitGucList (pg_dump SplitGUCList)', () => {
  it.each([
    ['"$user", public', ['$user', 'public']],
    ['"$user", public, "weird""name"', ['$user', 'public', 'weird"name']],
    ['  a ,b,  "C d"  ', ['a', 'b', 'C d']],
    ['""', ['']],
    ['', []],
  ])('splits %j', (raw, elements) => {
    expect(splitGucList(raw)).toEqual(elements)
  })

  it.each(['"unterminated', 'a,,b', 'a b', 'a,'])('refuses the malformed list %j', (raw) => {
    expect(splitGucList(raw)).toBeUndefined()
  })

  it('inverts the server’s quoting of list elements (quote_identifier, joined with ", ")', () => {
    const quote = (e: string): string => (/^[a-z_][a-z0-9_$]*$/.test(e) ? e : `"${e.replaceAll('"', '""')}"`)
    fc.assert(
      fc.property(
        fc.array(fc.string({ minLength: 1, maxLength: 10 }), { minLength: 1, maxLength: 5 }),
        (els) => {
          expect(splitGucList(els.map(quote).join(', '))).toEqual(els)
        },
      ),
    )
  })
})

describe('setSettingStatement (pg_dump makeAlterConfigCommand)', () => {
  it('gives each element of a quoted list as its own literal', () => {
    expect(setSettingStatement('"c"', null, 'search_path="$user", public, "it\'s"')).toBe(
      `ALTER ROLE "c" SET "search_path" TO '$user', 'public', 'it''s'`,
    )
  })

  it('gives any other value as one literal, in a database when asked', () => {
    expect(setSettingStatement('"c"', 'my db', 'application_name=a\\b')).toBe(
      `ALTER ROLE "c" IN DATABASE "my db" SET "application_name" TO  E'a\\\\b'`,
    )
  })

  it('refuses an entry without a name', () => {
    expect(() => setSettingStatement('"c"', null, '=x')).toThrow('a stored role setting has no name')
  })
})

const role = (over: Record<string, unknown> = {}) => ({
  oid: 1,
  rolname: 'app',
  rolsuper: false,
  rolinherit: true,
  rolcreaterole: false,
  rolcreatedb: false,
  rolreplication: false,
  rolbypassrls: false,
  rolconnlimit: -1,
  rolvaliduntil: null,
  ...over,
})

describe('the clone sync plan', () => {
  it('changes only the attributes that differ, each in its own statement', () => {
    const base = role({ rolcreatedb: true, rolconnlimit: 5 })
    const clone = role({ rolname: 'app_clone', rolcreaterole: true, rolvaliduntil: 'infinity' })
    expect(attributeStatements(base, clone).map((s) => s.sql)).toEqual([
      'ALTER ROLE "app_clone" NOCREATEROLE',
      'ALTER ROLE "app_clone" CREATEDB',
      'ALTER ROLE "app_clone" CONNECTION LIMIT 5',
    ])
  })

  it('treats no expiry and infinity as the same, and copies a real expiry', () => {
    const clone = role({ rolname: 'app_clone', rolvaliduntil: 'infinity' })
    expect(attributeStatements(role(), clone)).toEqual([])
    expect(attributeStatements(role({ rolvaliduntil: '2099-01-01 00:00:00+00' }), clone)).toEqual([
      { what: 'VALID UNTIL', sql: `ALTER ROLE "app_clone" VALID UNTIL '2099-01-01 00:00:00+00'` },
    ])
  })

  it('makes the clone act as the base user, unless the base user itself acts as another role', () => {
    expect(desiredCloneSettings('app', new Map([['', ['work_mem=8MB']]])).get('')).toEqual([
      'work_mem=8MB',
      'role=app',
    ])
    expect(desiredCloneSettings('app', new Map([['', ['role=owner']]])).get('')).toEqual(['role=owner'])
    expect(desiredCloneSettings('app', new Map([['db1', ['role=x']]])).get('')).toEqual(['role=app'])
  })

  it('rewrites the settings of each database that differs, and only those', () => {
    const desired = new Map([
      ['', ['role=app']],
      ['db1', ['work_mem=8MB']],
    ])
    const actual = new Map([
      ['', ['role=app']],
      ['db2', ['lock_timeout=1s']],
    ])
    expect(settingStatements('app_clone', desired, actual).map((s) => s.sql)).toEqual([
      'ALTER ROLE "app_clone" IN DATABASE "db1" RESET ALL',
      `ALTER ROLE "app_clone" IN DATABASE "db1" SET "work_mem" TO '8MB'`,
      'ALTER ROLE "app_clone" IN DATABASE "db2" RESET ALL',
    ])
  })

  it('keeps exactly one membership, the base user, without ADMIN OPTION', () => {
    expect(
      membershipStatements('app', 'app_clone', [
        { name: 'other group', admin: false },
        { name: 'app', admin: true },
      ]).map((s) => s.sql),
    ).toEqual(['REVOKE "other group" FROM "app_clone"', 'REVOKE ADMIN OPTION FOR "app" FROM "app_clone"'])
    expect(membershipStatements('app', 'app_clone', []).map((s) => s.sql)).toEqual([
      'GRANT "app" TO "app_clone"',
    ])
  })

  it('names what still differs after a sync, never a setting value', () => {
    const left = remainingDifferences(role(), new Map([['', ['search_path=secretish']]]), {
      role: role({ rolname: 'app_clone', rolsuper: true }),
      settings: new Map([['', ['role=app', 'search_path=other', 'log_statement=none']]]),
      memberOf: [{ name: 'app', admin: false }],
    })
    expect(left).toEqual(['attribute NOSUPERUSER', 'setting search_path, log_statement for every database'])
    expect(left.join()).not.toContain('secretish')
  })
})
