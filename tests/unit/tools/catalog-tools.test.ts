import { spawnSync } from 'node:child_process'
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCatalogCommand } from '../../../scripts/catalog'

/**
 * `npm run catalog -- explain|report|diff` on a fixture service file: the decisions and the rule that made
 * them, the exit codes (0 allow / 1 deny / 2 bad input; diff: 0 unchanged / 1 changed), the three report
 * formats, and a diff against a real git revision.
 */
const FIXTURE = 'tests/fixtures/catalog/serverless.yml'
const ACCOUNT = '111111111111'
const ROLE = (n: string) => `arn:aws:iam::${ACCOUNT}:role/${n}`
const run = (...args: string[]) => runCatalogCommand([...args, '--stage', 'dev', '--config', FIXTURE])
const explain = (principal: string, name: string) => run('explain', '--principal', principal, '--name', name)

describe('npm run catalog -- explain', () => {
  it('allows with exit 0 and names the rule and the secret a brokered name maps to', () => {
    const r = explain(ROLE('payments-api'), 'teams/payments/new-key')
    expect(r.code).toBe(0)
    expect(r.stdout).toContain(`allow: ${ROLE('payments-api')} may read teams/payments/new-key`)
    expect(r.stdout).toContain(
      `decided by rules[0] "payments-team": allow teams/payments/* for ${ROLE('payments-*')}`,
    )
    expect(r.stdout).toContain('secret: payments/new-key')
    expect(r.stdout).toContain('carries the tag secret-broker=dev')
  })

  it('denies with exit 1 and names the deny that overrode the allow', () => {
    const r = explain(ROLE('payments-batch'), 'teams/payments/psp-token')
    expect(r.code).toBe(1)
    expect(r.stdout).toContain(`deny: ${ROLE('payments-batch')} may not read teams/payments/psp-token`)
    expect(r.stdout).toContain('decided by rules[1] "no-psp-for-batch": deny teams/payments/psp-* for')
  })

  it('says "no rule matched" for a caller no rule names, and explains a name nobody can read', () => {
    const nobody = explain(ROLE('stranger'), 'orders/db')
    expect(nobody.code).toBe(1)
    expect(nobody.stdout).toContain('no rule matched (deny by default)')
    const master = explain(ROLE('auditor'), 'orders/db-master')
    expect(master.code).toBe(1)
    expect(master.stdout).toContain('declared but not brokered')
    expect(explain(ROLE('auditor'), 'elsewhere/x').stdout).toContain(
      'neither declared nor under a brokered prefix',
    )
  })

  it('normalises an assumed-role session as the broker does, and names the readers shorthand', () => {
    const r = explain(`arn:aws:sts::${ACCOUNT}:assumed-role/orders-service/task-9`, 'orders/db')
    expect(r.code).toBe(0)
    expect(r.stdout).toContain(`principal normalised to ${ROLE('orders-service')}`)
    expect(r.stdout).toContain('decided by secrets "orders/db" readers')
  })

  it.each([
    [
      'a principal that is not an ARN',
      ['explain', '--principal', 'orders-service', '--name', 'orders/db', '--stage', 'dev'],
    ],
    [
      'a name outside the grammar',
      ['explain', '--principal', ROLE('x'), '--name', 'a/../b', '--stage', 'dev'],
    ],
    ['a missing flag', ['explain', '--principal', ROLE('x'), '--stage', 'dev']],
    ['an unknown stage', ['explain', '--principal', ROLE('x'), '--name', 'a', '--stage', 'staging']],
    [
      'an unknown option',
      ['explain', '--principal', ROLE('x'), '--name', 'a', '--stage', 'dev', '--verbose'],
    ],
    ['an unknown command', ['grant', '--stage', 'dev']],
  ])('exits 2 for %s, saying why', (_what, args) => {
    const r = runCatalogCommand([...args, '--config', FIXTURE])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/usage:/)
    expect(r.stdout).toBe('')
  })

  it('exits 2 when the declarations do not plan, with the problem', () => {
    const dir = mkdtempSync(join(tmpdir(), 'catalog-bad-'))
    try {
      const file = join(dir, 'serverless.yml')
      writeFileSync(
        file,
        readFileSync(FIXTURE, 'utf8').replace('allow: [teams/payments/*]', 'allow: [teams/*/payments]'),
      )
      const r = runCatalogCommand([
        'explain',
        '--stage',
        'dev',
        '--config',
        file,
        '--principal',
        ROLE('a'),
        '--name',
        'a',
      ])
      expect(r.code).toBe(2)
      expect(r.stderr).toContain(
        'rules[0] "payments-team": allow pattern "teams/*/payments" has a "*" that is not its last character',
      )
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('the npm run catalog process', () => {
  it('exits with the decision, in a few seconds, with no AWS credentials in its environment', () => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')))
    const started = Date.now()
    const r = spawnSync(
      process.execPath,
      [
        join(process.cwd(), 'node_modules', 'tsx', 'dist', 'cli.mjs'),
        'scripts/catalog.ts',
        'explain',
        '--stage',
        'dev',
        '--config',
        FIXTURE,
        '--principal',
        ROLE('payments-batch'),
        '--name',
        'teams/payments/psp-token',
      ],
      { encoding: 'utf8', env },
    )
    expect(r.status).toBe(1)
    expect(r.stdout).toContain('deny:')
    expect(Date.now() - started).toBeLessThan(15_000)
  }, 30_000)
})

describe('npm run catalog -- report', () => {
  it('renders the access matrix as markdown: by principal, by secret, by prefix', () => {
    const r = run('report')
    expect(r.code).toBe(0)
    expect(r.stdout).toContain(
      `| \`${ROLE('auditor')}\` | \`orders/db\`, \`teams/payments/ledger-key\` | \`teams/payments/ledger-key\`, \`teams/search/ledger-key\` |`,
    )
    expect(r.stdout).toContain(
      `| \`${ROLE('payments-batch')}\` | \`teams/payments/ledger-key\` | \`teams/payments/*\` |`,
    )
    expect(r.stdout).toContain(
      `| \`teams/payments/psp-token\` | \`payments/psp-token\` | \`${ROLE('payments-*')}\` |`,
    )
    expect(r.stdout).toContain('| `teams/search/*` | `search/` | — |')
    expect(r.stdout).not.toContain('db-master')
  })

  it('renders one CSV row per principal and name or pattern, with the secret behind it', () => {
    const rows = run('report', '--format', 'csv').stdout.trim().split('\n')
    expect(rows[0]).toBe('principal,access,name,secret')
    expect(rows).toContain(`${ROLE('auditor')},name,orders/db,secret-broker/dev/orders/db`)
    expect(rows).toContain(`${ROLE('search-indexer')},pattern,teams/search/*,search/*`)
    expect(rows).not.toContain(`${ROLE('payments-batch')},name,teams/payments/psp-token,payments/psp-token`)
  })

  it('renders JSON that a review tool can read back', () => {
    const report = JSON.parse(run('report', '--format', 'json').stdout) as {
      principals: { principal: string; names: string[] }[]
      secrets: { name: string; readers: string[] }[]
    }
    expect(report.principals.find((p) => p.principal === ROLE('orders-service'))?.names).toEqual([
      'orders/db',
    ])
    expect(report.secrets.find((s) => s.name === 'orders/db')?.readers).toEqual([
      ROLE('auditor'),
      ROLE('orders-service'),
    ])
  })

  it('refuses an unknown format with exit 2', () => {
    expect(run('report', '--format', 'xlsx').code).toBe(2)
  })
})

describe('npm run catalog -- diff', () => {
  let dir: string
  let file: string
  const git = (...args: string[]) => {
    const r = spawnSync('git', args, { cwd: dir, encoding: 'utf8' })
    if (r.status !== 0) throw new Error(r.stderr)
    return r.stdout.trim()
  }

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'catalog-diff-'))
    file = join(dir, 'serverless.yml')
    copyFileSync(FIXTURE, file)
    git('init', '-q')
    git('add', 'serverless.yml')
    git('-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-qm', 'base')
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  const diff = (against = 'HEAD') =>
    runCatalogCommand(['diff', '--stage', 'dev', '--config', file, '--against', against])

  it('exits 0 and says so when access did not change', () => {
    const r = diff()
    expect(r.code).toBe(0)
    expect(r.stdout).toBe('stage dev: no change in access between HEAD and the working tree\n')
  })

  it('lists access granted and removed, and secrets remapped, and exits 1', () => {
    writeFileSync(
      file,
      readFileSync(file, 'utf8')
        .replace(
          'principals: [arn:aws:iam::111111111111:role/auditor]',
          `principals: [${ROLE('auditor')}, ${ROLE('sre')}]`,
        )
        .replace(
          'readers: [arn:aws:iam::111111111111:role/orders-service]',
          'readers: []\n        brokered: true',
        )
        .replace('prefix: search/', 'prefix: search-v2/'),
    )
    const r = diff()
    expect(r.code).toBe(1)
    const lines = r.stdout.trim().split('\n')
    expect(lines[0]).toMatch(/^stage dev, HEAD → working tree: \d+ granted, 1 removed, 1 remapped$/)
    expect(lines).toContain(`+ ${ROLE('sre')}  orders/db`)
    expect(lines).toContain(`+ ${ROLE('sre')}  teams/search/ledger-key  (pattern in a brokered prefix)`)
    expect(lines).toContain(`- ${ROLE('orders-service')}  orders/db`)
    expect(lines).toContain('~ teams/search/*: search/* → search-v2/*')
  })

  it('exits 2 for a revision git does not know', () => {
    const r = diff('no-such-revision')
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('git cannot show')
  })
})
