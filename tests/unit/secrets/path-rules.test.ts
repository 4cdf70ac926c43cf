import {
  describeRule,
  findCatalogProblems,
  findCatalogWarnings,
  loadCatalog,
  translateUpstreamError,
  UpstreamPermanentError,
  type RuntimeCatalogDocument,
} from '../../../src/lib/secrets'
import { decideAccess } from '../../../src/lib/secrets/access-policy'
import { SecretNotFoundError, UpstreamRefusedError } from '../../../src/lib/errors'
import { ACCOUNT, ORDERS, ORDERS_DB_ARN } from '../../support/builders'

const ROLE = (n: string) => `arn:aws:iam::${ACCOUNT}:role/${n}`
const ORDERS_TEAM = ROLE('orders-*')
const AUDITOR = ROLE('auditor')

/** A stage in miniature: a declared secret, a brokered prefix with two declared names, and path rules. */
function aRulesDocument(extra: Partial<RuntimeCatalogDocument> = {}): RuntimeCatalogDocument {
  return {
    secrets: [
      { name: 'orders/db', secretId: ORDERS_DB_ARN, readers: [ORDERS] },
      { name: 'teams/orders/api-key' },
      { name: 'teams/orders/eu/db' },
      { name: 'teams/payments/key' },
    ],
    prefixes: [
      { pattern: 'teams/orders/*', secretPrefix: 'orders/', requireTag: { key: 'broker', value: 'yes' } },
      { pattern: 'teams/payments/*', secretPrefix: 'payments/' },
    ],
    rules: [
      { id: 'orders-team', principals: [ORDERS_TEAM], allow: ['teams/orders/*'] },
      { id: 'no-eu', principals: [ROLE('orders-batch')], deny: ['teams/orders/eu/*'] },
      { id: 'audit', principals: [AUDITOR], allow: ['teams/+/key', 'orders/*'] },
    ],
    ...extra,
  }
}

describe('decideAccess with path rules', () => {
  const catalog = loadCatalog(aRulesDocument(), ACCOUNT)

  it('allows a role of a family on a name under its prefix, naming the rule that decided', () => {
    // Act
    const decision = decideAccess(catalog, ROLE('orders-api'), 'teams/orders/eu/db')
    // Assert
    expect(decision).toMatchObject({
      allow: true,
      entry: { secretId: 'orders/eu/db', brokeredBy: 'teams/orders/*' },
    })
    if (decision.allow) expect(describeRule(catalog.document, decision.rule)).toBe('rules[0] "orders-team"')
  })

  it('lets a deny override the family allow, and says which rule refused', () => {
    const decision = decideAccess(catalog, ROLE('orders-batch'), 'teams/orders/eu/db')
    expect(decision).toMatchObject({ allow: false, reason: 'denied-by-rule' })
    if (!decision.allow && decision.reason === 'denied-by-rule')
      expect(describeRule(catalog.document, decision.rule)).toBe('rules[1] "no-eu"')
    expect(decideAccess(catalog, ROLE('orders-batch'), 'teams/orders/api-key').allow).toBe(true)
  })

  it('keeps the readers shorthand an exact allow, named after its secret', () => {
    const decision = decideAccess(catalog, ORDERS, 'orders/db')
    expect(decision.allow).toBe(true)
    if (decision.allow)
      expect(describeRule(catalog.document, decision.rule)).toBe('secrets "orders/db" readers')
  })

  it('refuses what no rule allows, a name outside every prefix, and a family lookalike', () => {
    expect(decideAccess(catalog, ROLE('orders-api'), 'teams/payments/key')).toEqual({
      allow: false,
      reason: 'caller-not-allowed',
    })
    expect(decideAccess(catalog, ROLE('orders-api'), 'teams/ordersx/db')).toEqual({
      allow: false,
      reason: 'unknown-name',
    })
    expect(decideAccess(catalog, ROLE('ordersadmin'), 'teams/orders/api-key').allow).toBe(false)
    expect(decideAccess(catalog, `arn:aws:iam::${ACCOUNT}:user/orders-x`, 'teams/orders/api-key').allow).toBe(
      false,
    )
  })

  it('matches "+" as exactly one segment', () => {
    expect(decideAccess(catalog, AUDITOR, 'teams/payments/key').allow).toBe(true)
    expect(decideAccess(catalog, AUDITOR, 'teams/orders/key').allow).toBe(true)
    expect(decideAccess(catalog, AUDITOR, 'teams/orders/eu/key').allow).toBe(false)
  })

  it('refuses dot segments and other names outside the grammar before any prefix is consulted', () => {
    for (const name of [
      'teams/orders/../payments/key',
      'teams/orders//db',
      'teams/orders/*',
      'teams/orders/%2e%2e/x',
    ])
      expect(decideAccess(catalog, ROLE('orders-api'), name)).toEqual({
        allow: false,
        reason: 'invalid-name',
      })
  })
})

describe('GET /secrets listing', () => {
  const catalog = loadCatalog(aRulesDocument(), ACCOUNT)

  it('lists declared names with patterns expanded, and the caller’s patterns inside brokered prefixes', () => {
    expect(catalog.namesReadableBy(ROLE('orders-api'))).toEqual([
      'teams/orders/api-key',
      'teams/orders/eu/db',
    ])
    expect(catalog.patternsReadableBy(ROLE('orders-api'))).toEqual(['teams/orders/*'])
    expect(catalog.namesReadableBy(AUDITOR)).toEqual(['orders/db', 'teams/payments/key'])
    expect(catalog.patternsReadableBy(AUDITOR)).toEqual(['teams/orders/key', 'teams/payments/key'])
  })

  it('drops what a deny refuses, and lists nothing for a stranger', () => {
    expect(catalog.namesReadableBy(ROLE('orders-batch'))).toEqual(['teams/orders/api-key'])
    expect(catalog.namesReadableBy(ROLE('stranger'))).toEqual([])
    expect(catalog.patternsReadableBy(ROLE('stranger'))).toEqual([])
  })
})

describe('a secret under a brokered prefix that the broker may not read', () => {
  it('answers the same 404 as a name the caller may not read; a declared secret still answers 502', () => {
    const catalog = loadCatalog(aRulesDocument(), ACCOUNT)
    const refused = () => new UpstreamPermanentError('access-denied')
    expect(translateUpstreamError(refused(), catalog.lookup('teams/orders/not-opted-in'))).toBeInstanceOf(
      SecretNotFoundError,
    )
    expect(translateUpstreamError(refused(), catalog.lookup('orders/db'))).toBeInstanceOf(
      UpstreamRefusedError,
    )
    expect(
      translateUpstreamError(new UpstreamPermanentError('not-found'), catalog.lookup('teams/orders/gone')),
    ).toBeInstanceOf(SecretNotFoundError)
  })
})

describe('findCatalogProblems', () => {
  const problems = (extra: Partial<RuntimeCatalogDocument>) =>
    findCatalogProblems(aRulesDocument(extra), ACCOUNT)

  it('finds none in a sound document', () => {
    expect(problems({})).toEqual([])
  })

  it.each([
    [
      'a "*" that is not last',
      { principals: [AUDITOR], allow: ['teams/*/db'] },
      'rules[3] "r": allow pattern "teams/*/db" has a "*" that is not its last character',
    ],
    ['an empty pattern', { principals: [AUDITOR], deny: [''] }, 'rules[3] "r": deny pattern "" is empty'],
    ['a dot segment', { principals: [AUDITOR], allow: ['teams/../x'] }, 'has a "." or ".." segment'],
    [
      'a principal of another account',
      { principals: ['arn:aws:iam::999999999999:role/x'], allow: ['orders/*'] },
      'is in another account (999999999999)',
    ],
    [
      'a principal that is not a role or user ARN',
      { principals: ['orders-service'], allow: ['orders/*'] },
      'must be an IAM user or role ARN',
    ],
    [
      'a wildcard on a user',
      { principals: [`arn:aws:iam::${ACCOUNT}:user/ops-*`], allow: ['orders/*'] },
      'not a role-name wildcard',
    ],
    [
      'a wildcard without a separator',
      { principals: [ROLE('orders*')], allow: ['orders/*'] },
      'not a role-name wildcard',
    ],
    [
      'a wildcard on one character',
      { principals: [ROLE('o-*')], allow: ['orders/*'] },
      'not a role-name wildcard',
    ],
    [
      'both allow and deny',
      { principals: [AUDITOR], allow: ['a'], deny: ['b'] },
      'declare exactly one of allow or deny',
    ],
    ['an empty principal', { principals: [''], allow: ['orders/*'] }, 'must be an IAM user or role ARN'],
    ['no principal', { principals: [], allow: ['a'] }, 'principals is empty'],
  ])('names the rule for %s', (_what, rule, message) => {
    const found = problems({ rules: [...(aRulesDocument().rules ?? []), { id: 'r', ...rule }] })
    expect(found).toHaveLength(1)
    expect(found[0]).toContain('rules[3] "r"')
    expect(found[0]).toContain(message)
  })

  it.each([
    [
      'nested logical prefixes',
      { pattern: 'teams/orders/eu/*', secretPrefix: 'orders-eu/' },
      'overlaps the brokered prefix teams/orders/*',
    ],
    [
      'overlapping Secrets Manager prefixes',
      { pattern: 'legacy/*', secretPrefix: 'orders/old/' },
      'Secrets Manager prefix orders/old/ overlaps orders/',
    ],
    [
      "the broker's own secrets",
      { pattern: 'mine/*', secretPrefix: 'secret-broker/' },
      "covers the broker's own secrets",
    ],
    [
      'a prefix that is not whole segments',
      { pattern: 'mine/*', secretPrefix: 'mine' },
      'must be whole Secrets Manager name segments ending in "/"',
    ],
    [
      'a pattern that is not literal segments',
      { pattern: 'mine/+/*', secretPrefix: 'mine/' },
      'must be literal segments followed by "/*"',
    ],
  ])('names the prefix for %s', (_what, prefix, message) => {
    const found = problems({ prefixes: [...(aRulesDocument().prefixes ?? []), prefix] })
    expect(found).toHaveLength(1)
    expect(found[0]).toContain(`secrets "${prefix.pattern}"`)
    expect(found[0]).toContain(message)
  })

  it('refuses a declared secret of its own under a prefix, and a bare name outside every prefix', () => {
    const found = problems({
      secrets: [{ name: 'teams/orders/db', secretId: ORDERS_DB_ARN }, { name: 'nowhere/db' }],
    })
    expect(found).toEqual([
      'secrets "teams/orders/db": lies under a brokered prefix, so it cannot also be a secret of its own (remove arn/username, or rename it)',
      'secrets "nowhere/db": declare arn (an existing secret) or username (a secret this stack creates), or declare a brokered prefix that covers it',
    ])
  })
})

describe('findCatalogWarnings', () => {
  it('warns once about an allow a deny makes dead, naming both rules', () => {
    const doc = aRulesDocument({
      rules: [
        {
          id: 'reads',
          principals: [ROLE('orders-batch')],
          allow: ['teams/orders/eu/db', 'teams/orders/api-key'],
        },
        { id: 'no-eu', principals: [ROLE('orders-*')], deny: ['teams/orders/eu/*'] },
      ],
    })
    expect(findCatalogWarnings(doc)).toEqual([
      'rules[0] "reads": allow teams/orders/eu/db is dead: rules[1] "no-eu" denies it to every principal it names',
    ])
  })

  it('warns about a pattern that matches nothing declared and no brokered prefix', () => {
    const doc = aRulesDocument({
      rules: [{ id: 'typo', principals: [AUDITOR], allow: ['team/orders/*', 'teams/orders/x/+'] }],
    })
    expect(findCatalogWarnings(doc)).toEqual([
      'rules[0] "typo": pattern team/orders/* matches no declared name and no brokered prefix',
    ])
  })
})
