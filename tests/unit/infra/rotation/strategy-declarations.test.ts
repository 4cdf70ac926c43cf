import { buildResources, planStack, rotationDocument, rotationEnvironment } from '../../../../infra/stack'
import { loadStageDeclarations } from '../../../../infra/stage-declarations'

/**
 * Packaging of the MySQL/MariaDB, Redis ACL and IAM access key strategies: a stage declaring each kind
 * plans (masters passed to the rotation function, an access key secret's fields created empty), the
 * rotation role gets exactly the access-key actions on the declared users, and declarations that could
 * never rotate are refused with a message naming the field.
 */
const READER = 'arn:aws:iam::123456789012:user/demo-orders'

function plan(secrets: Record<string, unknown>, stage: 'local' | 'dev' = 'local') {
  if (stage === 'local')
    return planStack(
      loadStageDeclarations('local', undefined, { SECRET_BROKER_LOCAL_PARAMS: JSON.stringify({ secrets }) }),
    )
  const decl = loadStageDeclarations('dev')
  return planStack({ ...decl, params: { ...decl.params, secrets: secrets as never } })
}

/** One secret of each new kind, with their masters. */
const EVERY_KIND = {
  'shop/mysql': {
    username: 'shop_app',
    fields: { engine: 'mysql', host: 'shop-db.internal', port: 3306, dbname: 'shop' },
    rotation: { strategy: 'mysql-single-user' },
    readers: [READER],
  },
  'shop/mysql-reporting': {
    username: 'shop_reporter',
    fields: { engine: 'mysql', host: 'shop-db.internal', dbname: 'shop' },
    rotation: { strategy: 'mysql-alternating-users', masterSecret: 'shop/mysql-master' },
    readers: [READER],
  },
  'shop/mysql-master': { username: 'rotation_admin', fields: { host: 'shop-db.internal' }, readers: [] },
  'shop/cache': {
    username: 'shop-cache',
    fields: { engine: 'redis', host: 'cache.internal', port: 6379 },
    rotation: { strategy: 'redis-acl-single-user', masterSecret: 'shop/cache-master' },
    readers: [READER],
  },
  'shop/cache-sessions': {
    username: 'sessions',
    fields: { engine: 'redis', host: 'cache.internal' },
    rotation: { strategy: 'redis-acl-alternating-users', masterSecret: 'shop/cache-master' },
    readers: [READER],
  },
  'shop/cache-master': { username: 'rotation-master', readers: [] },
  'shop/deployer-key': {
    username: 'shop-deployer',
    rotation: { strategy: 'iam-access-key' },
    readers: [READER],
  },
}

describe('planStack: the MySQL, Redis ACL and IAM access key strategies', () => {
  it('plans a stage declaring each kind, passing each master to the rotation function', () => {
    const p = plan(EVERY_KIND)
    const targets = rotationDocument(p, (m) => m.awsName).targets
    expect(targets.map((t) => [t.strategy, t.masterSecretId])).toEqual([
      ['mysql-single-user', undefined],
      ['mysql-alternating-users', 'secret-broker/local/shop/mysql-master'],
      ['redis-acl-single-user', 'secret-broker/local/shop/cache-master'],
      ['redis-acl-alternating-users', 'secret-broker/local/shop/cache-master'],
      ['iam-access-key', undefined],
    ])
  })

  it('creates an access key secret with its fields empty, for the first rotation to fill', () => {
    const key = plan(EVERY_KIND).managed.find((m) => m.logicalName === 'shop/deployer-key')
    expect(key?.fields).toEqual({ userName: 'shop-deployer', accessKeyId: '', secretAccessKey: '' })
  })

  it("gives the rotation role exactly the four access-key actions, on the declared users' ARNs only", () => {
    const role = buildResources(plan(EVERY_KIND)).Resources['RotationFunctionRole'] as {
      Properties: { Policies: { PolicyDocument: { Statement: { Action: string[]; Resource: unknown }[] } }[] }
    }
    const statements = role.Properties.Policies.flatMap((p) => p.PolicyDocument.Statement)
    const iam = statements.filter((s) => s.Action.some((a) => a.startsWith('iam:')))
    expect(iam).toEqual([
      {
        Effect: 'Allow',
        Action: ['iam:ListAccessKeys', 'iam:CreateAccessKey', 'iam:UpdateAccessKey', 'iam:DeleteAccessKey'],
        Resource: [
          { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:user/shop-deployer' },
          { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:user/*/shop-deployer' },
        ],
      },
    ])
  })

  it('grants no IAM action to a stage without an access key secret', () => {
    const role = JSON.stringify(
      buildResources(plan({ 'a/b': EVERY_KIND['shop/mysql'] })).Resources['RotationFunctionRole'],
    )
    expect(role).not.toMatch(/"iam:[A-Z]/)
  })

  it("names Amazon's CA bundle for verify-full to a MySQL server, as for PostgreSQL (RDS's roots)", () => {
    const inDev = (s: object) => ({ ...s, readers: ['arn:aws:iam::111111111111:role/shop'] })
    const env = rotationEnvironment(plan({ 'a/b': inDev(EVERY_KIND['shop/mysql']) }, 'dev'))
    expect(env['NODE_EXTRA_CA_CERTS']).toBe('/var/runtime/ca-cert.pem')
    const iamOnly = rotationEnvironment(plan({ 'a/b': inDev(EVERY_KIND['shop/deployer-key']) }, 'dev'))
    expect(iamOnly['NODE_EXTRA_CA_CERTS']).toBeUndefined()
  })

  it.each([
    [
      'a MySQL secret without a host',
      { 'a/db': { ...EVERY_KIND['shop/mysql'], fields: { engine: 'mysql' } } },
      'secrets "a/db": a MySQL strategy needs fields.host',
    ],
    [
      'a Redis ACL secret without a master',
      { 'a/c': { ...EVERY_KIND['shop/cache'], rotation: { strategy: 'redis-acl-single-user' } } },
      'secrets "a/c": redis-acl-single-user needs rotation.masterSecret',
    ],
    [
      'a master on a strategy that has none',
      {
        'a/k': {
          ...EVERY_KIND['shop/deployer-key'],
          rotation: { strategy: 'iam-access-key', masterSecret: 'm' },
        },
        m: { username: 'm', readers: [] },
      },
      'secrets "a/k": masterSecret only applies to postgres-alternating-users, mysql-alternating-users, redis-acl-single-user, redis-acl-alternating-users, not iam-access-key',
    ],
    [
      'a MySQL alternating user with no room for _clone',
      {
        'a/db': { ...EVERY_KIND['shop/mysql-reporting'], username: 'u'.repeat(27) },
        'shop/mysql-master': EVERY_KIND['shop/mysql-master'],
      },
      'secrets "a/db": username is longer than 26 characters, so its alternate <username>_clone would exceed',
    ],
    [
      'a MySQL user name MySQL cannot have',
      { 'a/db': { ...EVERY_KIND['shop/mysql'], username: 'u'.repeat(33) } },
      'secrets "a/db": username is not a user name mysql-single-user can rotate',
    ],
    [
      'an access key secret that sets its own key fields',
      { 'a/k': { ...EVERY_KIND['shop/deployer-key'], fields: { accessKeyId: 'AKIA' } } },
      'secrets "a/k": fields.accessKeyId is set by iam-access-key itself',
    ],
    [
      'a PostgreSQL user name with a hyphen (allowed for IAM and Redis, not here)',
      {
        'a/pg': {
          username: 'orders-app',
          fields: { host: 'h', port: 5432, dbname: 'd' },
          rotation: { strategy: 'postgres-single-user' },
          readers: [READER],
        },
      },
      'secrets "a/pg": username is not a user name postgres-single-user can rotate',
    ],
    [
      'a Redis port that is not a port',
      {
        'a/c': { ...EVERY_KIND['shop/cache'], fields: { host: 'h', port: 70_000 } },
        'shop/cache-master': EVERY_KIND['shop/cache-master'],
      },
      'secrets "a/c": fields.port must be a port number (1–65535)',
    ],
  ])('refuses %s, naming the field', (_what, secrets, message) => {
    expect(() => plan(secrets)).toThrow(message)
  })
})
