import {
  buildResources,
  compiledDocuments,
  invalidationEnvironment,
  planStack,
  templateLimitProblems,
} from '../../../infra/stack'
import { httpSecretStatements } from '../../../infra/iam'
import { policyChars } from '../../../infra/template-limits'
import { loadStageDeclarations } from '../../../infra/stage-declarations'
import { loadCatalog } from '../../../src/lib/secrets'
import { decideAccess } from '../../../src/lib/secrets/access-policy'

/**
 * A stage's rules and brokered prefixes, from serverless.yml-shaped declarations to the compiled catalog,
 * the HTTP role's grants and the template limits; one clear message per problem, naming the rule.
 */
const ACCOUNT = '123456789012'
const ORDERS_USER = `arn:aws:iam::${ACCOUNT}:user/demo-orders`
const ROLE = (n: string) => `arn:aws:iam::${ACCOUNT}:role/${n}`
const LOCAL_CONSUMERS = [{ name: 'demo-orders', principalArn: ORDERS_USER }]

function declarations(params: Record<string, unknown>) {
  return loadStageDeclarations('local', undefined, {
    SECRET_BROKER_LOCAL_PARAMS: JSON.stringify({ localConsumers: LOCAL_CONSUMERS, ...params }),
  })
}
const plan = (params: Record<string, unknown>) => planStack(declarations(params))
const problemsOf = (params: Record<string, unknown>): string[] => {
  try {
    plan(params)
    return []
  } catch (err) {
    return (err as Error).message.split('\n- ').slice(1)
  }
}

const TEAMS = {
  'orders/db': { username: 'orders_app', readers: [ORDERS_USER] },
  'orders/db-master': { username: 'orders_admin', readers: [] },
  'teams/payments/*': { prefix: 'payments/', requireTag: { key: 'secret-broker', value: 'local' } },
  'teams/payments/ledger-key': {},
  'teams/search/*': { prefix: 'search/', readers: [ROLE('search-indexer')] },
}

describe('stage declarations with rules and brokered prefixes', () => {
  it('compiles names under a prefix into it, keeps today’s readers as they are, and decides with the rules', () => {
    // Arrange
    const p = plan({
      secrets: TEAMS,
      rules: [{ id: 'payments', principals: [ROLE('payments-*')], allow: ['teams/payments/*'] }],
    })
    // Act
    const catalog = loadCatalog(compiledDocuments(p).catalogJson, ACCOUNT, 'local')
    // Assert
    expect(catalog.document.prefixes?.[0]).toMatchObject({ pattern: 'teams/payments/*', names: 'ledger-key' })
    expect(decideAccess(catalog, ORDERS_USER, 'orders/db').allow).toBe(true)
    expect(decideAccess(catalog, ROLE('payments-api'), 'teams/payments/anything').allow).toBe(true)
    expect(decideAccess(catalog, ROLE('search-indexer'), 'teams/search/x/y').allow).toBe(true)
    expect(decideAccess(catalog, ROLE('payments-api'), 'orders/db-master')).toEqual({
      allow: false,
      reason: 'unknown-name',
    })
  })

  it('scopes the invalidation function to the brokered names and prefixes, in the bundle, not the environment', () => {
    const p = plan({ secrets: TEAMS })
    const scope = JSON.parse(compiledDocuments(p).invalidationJson) as {
      secretNames: string[]
      secretPrefixes: string[]
    }
    expect(scope.secretNames).toContain('secret-broker/local/orders/db')
    // A master only rotation reads is not brokered; a name declared under a prefix travels as its prefix.
    expect(scope.secretNames).not.toContain('secret-broker/local/orders/db-master')
    expect(scope.secretNames.some((n) => n.includes('ledger-key'))).toBe(false)
    expect(scope.secretPrefixes.sort()).toEqual(['payments/', 'search/'])
    expect(Object.keys(invalidationEnvironment(p))).not.toContain('BROKER_INVALIDATION_JSON')
  })

  it('keeps a master out of reach of every pattern unless it is declared brokered', () => {
    const rules = [{ principals: [ROLE('dba')], allow: ['orders/*'] }]
    const hidden = loadCatalog(compiledDocuments(plan({ secrets: TEAMS, rules })).catalogJson, ACCOUNT)
    expect(decideAccess(hidden, ROLE('dba'), 'orders/db-master').allow).toBe(false)
    const secrets = { ...TEAMS, 'orders/db-master': { username: 'orders_admin', brokered: true } }
    const shown = loadCatalog(compiledDocuments(plan({ secrets, rules })).catalogJson, ACCOUNT)
    expect(decideAccess(shown, ROLE('dba'), 'orders/db-master').allow).toBe(true)
  })

  it.each([
    [
      'a "*" that is not last',
      { rules: [{ id: 'bad', principals: [ROLE('x')], allow: ['teams/*/db'] }] },
      'rules[0] "bad": allow pattern "teams/*/db" has a "*" that is not its last character',
    ],
    [
      'an empty pattern',
      { rules: [{ principals: [ROLE('x')], deny: [''] }] },
      'rules[0]: deny pattern "" is empty',
    ],
    [
      'a principal of another account',
      { rules: [{ id: 'x', principals: ['arn:aws:iam::999999999999:role/x'], allow: ['orders/*'] }] },
      'rules[0] "x": principal "arn:aws:iam::999999999999:role/x" is in another account (999999999999); only 123456789012 principals may read',
    ],
    [
      'a principal that is not a role or user ARN',
      {
        rules: [{ id: 'x', principals: ['arn:aws:sts::123456789012:assumed-role/r/s'], allow: ['orders/*'] }],
      },
      'rules[0] "x": principal "arn:aws:sts::123456789012:assumed-role/r/s" must be an IAM user or role ARN such as arn:aws:iam::123456789012:role/orders-service',
    ],
    [
      'overlapping prefixes',
      { secrets: { ...TEAMS, 'legacy/*': { prefix: 'payments/old/' } } },
      'secrets "legacy/*": Secrets Manager prefix payments/old/ overlaps payments/ (brokered as teams/payments/*)',
    ],
    [
      "a prefix covering the broker's own secrets",
      { secrets: { ...TEAMS, 'mine/*': { prefix: 'secret-broker/local/' } } },
      'secrets "mine/*": prefix secret-broker/local/ covers the broker\'s own secrets (secret-broker/…); broker those by name',
    ],
    [
      'a prefix exposing a secret declared as not brokered',
      {
        secrets: {
          ...TEAMS,
          'legacy/master': { arn: `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:search/master-AbCdEf` },
        },
      },
      'secrets "teams/search/*": prefix search/ covers the secret of secrets "legacy/master", which is declared as not brokered; it would be readable as teams/search/master',
    ],
    [
      'a secret of its own under a logical prefix',
      { secrets: { ...TEAMS, 'teams/search/db': { username: 'search', readers: [ROLE('search-indexer')] } } },
      'secrets "teams/search/db": lies under a brokered prefix, so it cannot also be a secret of its own (remove arn/username, or rename it)',
    ],
    [
      'a bare name outside every prefix',
      { secrets: { ...TEAMS, 'nowhere/db': { readers: [ORDERS_USER] } } },
      'secrets "nowhere/db": declare arn (an existing secret) or username (a secret this stack creates), or declare a brokered prefix that covers it',
    ],
  ])('refuses %s with one message naming it', (_what, params, message) => {
    const problems = problemsOf({ secrets: TEAMS, ...params })
    expect(problems).toEqual([message])
  })

  it('refuses misplaced prefix fields with the schema’s message, naming the entry', () => {
    expect(problemsOf({ secrets: { 'a/*': { prefix: 'a/', username: 'x' } } })).toEqual([
      'params.local.secrets.a/*: declare one of arn (an existing secret), username (a secret this stack creates) or prefix',
    ])
    expect(problemsOf({ secrets: { 'a/b': { arn: 'x', requireTag: { key: 'k', value: 'v' } } } })).toEqual([
      'params.local.secrets.a/b: requireTag applies only to a brokered prefix',
    ])
    expect(
      problemsOf({ secrets: { 'a/*': { prefix: 'a/', requireTag: { key: 'aws:x', value: 'v' } } } }),
    ).toEqual(['params.local.secrets.a/*.requireTag.key: a tag key: 1–128 characters, not aws:…'])
  })

  it('warns, without refusing, about a dead allow and a pattern that matches nothing', () => {
    const p = plan({
      secrets: TEAMS,
      rules: [
        { id: 'read', principals: [ROLE('payments-batch')], allow: ['teams/payments/ledger-*'] },
        { id: 'no-ledger', principals: [ROLE('payments-*')], deny: ['teams/payments/ledger-*'] },
        { id: 'typo', principals: [ROLE('x')], allow: ['team/orders/*'] },
      ],
    })
    expect(p.warnings).toEqual([
      'rules[0] "read": allow teams/payments/ledger-* is dead: rules[1] "no-ledger" denies it to every principal it names',
      'rules[2] "typo": pattern team/orders/* matches no declared name and no brokered prefix',
    ])
  })
})

describe("the HTTP role's secret grants", () => {
  it('reads each brokered prefix by a prefix ARN, under the tag condition when the stage requires one', () => {
    const statements = httpSecretStatements(plan({ secrets: TEAMS }))
    const text = JSON.stringify(statements)
    expect(text).toContain('secret:payments/*')
    expect(text).toContain('secret:search/*')
    const tagged = statements.find((s) => JSON.stringify(s.Resource).includes('payments/*'))
    expect(tagged?.Condition).toEqual({
      StringEquals: { 'secretsmanager:ResourceTag/secret-broker': 'local' },
    })
    const untagged = statements.find((s) => JSON.stringify(s.Resource).includes('search/*'))
    expect(untagged?.Condition).toBeUndefined()
    // The stack's own secrets stay listed one by one while they fit; a master is not among them.
    expect(text).toContain('{"Ref":"SecretOrdersDb"}')
    expect(text).not.toContain('SecretOrdersDbMaster')
  })

  it("grants the stage's own name space instead of each ARN when the list would not fit the role's policy", () => {
    const many = Object.fromEntries(
      Array.from({ length: 120 }, (_, i) => [
        `svc-${i}/api-key-for-the-service`,
        { username: `u${i}`, readers: [ORDERS_USER] },
      ]),
    )
    const statements = httpSecretStatements(plan({ secrets: many }))
    const text = JSON.stringify(statements)
    expect(text).not.toContain('"Ref"')
    expect(text).toContain('secret:secret-broker/local/*')
    const { Resources } = buildResources(plan({ secrets: many }))
    const limits = templateLimitProblems(JSON.stringify({ Resources }), {
      region: 'us-east-1',
      accountId: ACCOUNT,
      secretNames: new Map(),
    })
    expect(limits.filter((l) => l.includes('HttpFunctionRole'))).toEqual([])
  })
})

describe('templateLimitProblems', () => {
  const ctx = {
    region: 'us-east-1',
    accountId: ACCOUNT,
    secretNames: new Map([['SecretA', 'secret-broker/dev/a']]),
  }

  it('names every limit a template breaks', () => {
    const resources: Record<string, unknown> = {}
    for (let i = 0; i < 501; i++) resources[`Topic${i}`] = { Type: 'AWS::SNS::Topic' }
    resources['Role'] = {
      Type: 'AWS::IAM::Role',
      Properties: {
        AssumeRolePolicyDocument: {},
        Policies: [
          {
            PolicyDocument: {
              Statement: Array.from({ length: 150 }, () => ({ Resource: { Ref: 'SecretA' } })),
            },
          },
        ],
      },
    }
    resources['Fn'] = {
      Type: 'AWS::Lambda::Function',
      Properties: { Environment: { Variables: { BROKER_CATALOG_JSON: '{}' } } },
    }
    const problems = templateLimitProblems(JSON.stringify({ Resources: resources }), ctx)
    expect(problems).toEqual([
      'the stack is 503 resources; the limit is 500',
      expect.stringMatching(/^Role's inline policies is \d+ characters; the limit is 10240$/),
      'Fn carries BROKER_CATALOG_JSON: the catalog and rotation documents belong in the bundle',
    ])
  })

  it('measures a policy with each secret ARN at its longest, as IAM counts it (no whitespace)', () => {
    const worst = 'arn:aws-us-gov:secretsmanager:us-east-1:123456789012:secret:secret-broker/dev/a-AbCdEf'
    expect(policyChars({ Resource: { Ref: 'SecretA' } }, {}, ctx)).toBe(
      JSON.stringify({ Resource: worst }).length,
    )
    expect(policyChars({ Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:x:${AWS::Region}' } }, {}, ctx)).toBe(
      JSON.stringify({ Resource: 'arn:aws-us-gov:x:us-east-1' }).length,
    )
  })
})
