import { loadCatalog } from '../../../src/lib/secrets'
import { decideAccess } from '../../../src/lib/secrets/access-policy'
import { ConfigError } from '../../../src/lib/errors'
import { ACCOUNT, BILLING, ORDERS, ORDERS_DB_ARN, aCatalogDocument } from '../../support/builders'

describe('loadCatalog', () => {
  it('loads a sound catalog and indexes names by reader', () => {
    // Arrange
    const doc = aCatalogDocument()
    // Act
    const catalog = loadCatalog(JSON.stringify(doc), ACCOUNT)
    // Assert
    expect(catalog.size).toBe(2)
    expect(catalog.lookup('orders/db')?.secretId).toBe(ORDERS_DB_ARN)
    expect(catalog.namesReadableBy(ORDERS)).toEqual(['billing/key', 'orders/db'])
    expect(catalog.namesReadableBy(BILLING)).toEqual(['billing/key'])
    expect(catalog.namesReadableBy('arn:aws:iam::123456789012:role/nobody')).toEqual([])
  })

  it.each([
    [
      'a duplicate name',
      {
        secrets: [
          ...aCatalogDocument().secrets,
          { name: 'orders/db', secretId: ORDERS_DB_ARN, readers: [ORDERS] },
        ],
      },
      /duplicate name/,
    ],
    [
      'a malformed principal',
      { secrets: [{ name: 'a', secretId: ORDERS_DB_ARN, readers: ['orders-service'] }] },
      /must be an IAM user or role ARN/,
    ],
    [
      'an assumed-role session as reader',
      {
        secrets: [
          { name: 'a', secretId: ORDERS_DB_ARN, readers: [`arn:aws:sts::${ACCOUNT}:assumed-role/r/s`] },
        ],
      },
      /IAM user or role/,
    ],
    [
      'a role with a path',
      { secrets: [{ name: 'a', secretId: ORDERS_DB_ARN, readers: [`arn:aws:iam::${ACCOUNT}:role/team/r`] }] },
      /without its path/,
    ],
    [
      'a reader from another account',
      { secrets: [{ name: 'a', secretId: ORDERS_DB_ARN, readers: ['arn:aws:iam::999999999999:role/x'] }] },
      /another account/,
    ],
    [
      'a secret in another account',
      {
        secrets: [
          {
            name: 'a',
            secretId: 'arn:aws:secretsmanager:us-east-1:999999999999:secret:x-AbCdEf',
            readers: [ORDERS],
          },
        ],
      },
      /belongs to account 999999999999/,
    ],
    [
      'a partial ARN as secret',
      {
        secrets: [
          {
            name: 'a',
            secretId: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:x',
            readers: [ORDERS],
          },
        ],
      },
      /full secret ARN/,
    ],
    [
      'a name with a dot segment',
      { secrets: [{ name: 'a/../b', secretId: ORDERS_DB_ARN, readers: [ORDERS] }] },
      /dot-segment/,
    ],
    [
      'a name ending in rotation',
      { secrets: [{ name: 'a/rotation', secretId: ORDERS_DB_ARN, readers: [ORDERS] }] },
      /reserved/,
    ],
    ['no readers', { secrets: [{ name: 'a', secretId: ORDERS_DB_ARN, readers: [] }] }, /readers is empty/],
    [
      'an unknown field',
      { secrets: [{ name: 'a', secretId: ORDERS_DB_ARN, readers: [ORDERS], public: true }] },
      /malformed/,
    ],
  ])('refuses %s with a ConfigError naming the problem', (_what, doc, message) => {
    // Act / Assert
    expect(() => loadCatalog(doc, ACCOUNT)).toThrow(ConfigError)
    expect(() => loadCatalog(doc, ACCOUNT)).toThrow(message)
  })

  it('refuses text that is not JSON without quoting it', () => {
    expect(() => loadCatalog('{"secrets": [hunter2', ACCOUNT)).toThrow(/^The catalog is not valid JSON$/)
  })
})

describe('decideAccess', () => {
  const catalog = loadCatalog(aCatalogDocument(), ACCOUNT)

  it('allows a listed reader on the exact name', () => {
    expect(decideAccess(catalog, ORDERS, 'orders/db')).toMatchObject({
      allow: true,
      entry: { secretId: ORDERS_DB_ARN },
    })
  })

  it('denies a caller missing from the allow list', () => {
    expect(decideAccess(catalog, BILLING, 'orders/db')).toEqual({
      allow: false,
      reason: 'caller-not-allowed',
    })
  })

  it('denies unknown names, prefixes and near-misses', () => {
    for (const name of ['orders', 'orders/db/', 'orders/db2', 'Orders/db', 'orders/DB']) {
      expect(decideAccess(catalog, ORDERS, name).allow).toBe(false)
    }
  })

  it('refuses names outside the grammar before looking them up', () => {
    for (const name of [
      '',
      'orders//db',
      './orders/db',
      'arn:aws:secretsmanager:us-east-1:123456789012:secret:orders/db',
      'orders%2Fdb',
      'ｏrders/db',
      'a\u0000b',
      'x'.repeat(257),
    ]) {
      expect(decideAccess(catalog, ORDERS, name)).toEqual({ allow: false, reason: 'invalid-name' })
    }
  })
})

describe('loadCatalog of a document the build checked (checkedAtBuild)', () => {
  const stamped = (doc: object, accountId = ACCOUNT): string =>
    JSON.stringify({ stage: 'dev', accountId, ...doc })

  it('answers exactly as the fully checked load does', () => {
    // Arrange
    const text = stamped(aCatalogDocument())
    // Act
    const trusted = loadCatalog(text, ACCOUNT, 'dev', { checkedAtBuild: true })
    const checked = loadCatalog(text, ACCOUNT, 'dev')
    // Assert
    for (const principal of [ORDERS, BILLING, 'arn:aws:iam::123456789012:role/nobody'])
      expect(trusted.namesReadableBy(principal)).toEqual(checked.namesReadableBy(principal))
    expect(trusted.lookup('orders/db')).toEqual(checked.lookup('orders/db'))
  })

  it('checks a document that names another account, or none, as if it were not vouched for', () => {
    // Arrange: a reader from another account, which the checks refuse.
    const bad = {
      secrets: [{ name: 'a', secretId: ORDERS_DB_ARN, readers: ['arn:aws:iam::999999999999:role/x'] }],
    }
    // Act + Assert
    expect(() => loadCatalog(stamped(bad, '999999999999'), ACCOUNT, 'dev', { checkedAtBuild: true })).toThrow(
      /another account/,
    )
    expect(() => loadCatalog(JSON.stringify(bad), ACCOUNT, 'dev', { checkedAtBuild: true })).toThrow(
      /another account/,
    )
  })

  it('still refuses text that is not JSON or not a document, an object source, and another stage', () => {
    expect(() => loadCatalog('{"secrets": [', ACCOUNT, 'dev', { checkedAtBuild: true })).toThrow(
      /not valid JSON/,
    )
    expect(() => loadCatalog('null', ACCOUNT, 'dev', { checkedAtBuild: true })).toThrow(ConfigError)
    expect(() =>
      loadCatalog({ secrets: [{ name: 'a', readers: ['orders-service'] }] }, ACCOUNT, 'dev', {
        checkedAtBuild: true,
      }),
    ).toThrow(ConfigError)
    expect(() => loadCatalog(stamped(aCatalogDocument()), ACCOUNT, 'prod', { checkedAtBuild: true })).toThrow(
      /compiled for stage dev, not prod/,
    )
  })
})
