import fc from 'fast-check'
import { loadCatalog, type RuntimeCatalogDocument } from '../../../src/lib/secrets'
import { decideAccess } from '../../../src/lib/secrets/access-policy'
import { ACCOUNT } from '../../support/builders'

/**
 * For generated catalogs, callers and names: the decision is "allow" exactly when the catalog lists that
 * name with that caller, and a denied name never reaches the cache (so never causes an upstream call).
 */
const segment = fc
  .stringMatching(/^[A-Za-z0-9_+=@-][A-Za-z0-9_+=.@-]{0,8}$/)
  .filter((s) => s !== '.' && s !== '..' && s !== 'rotation')
const logicalName = fc.array(segment, { minLength: 1, maxLength: 3 }).map((parts) => parts.join('/'))
const principal = fc
  .tuple(fc.constantFrom('role', 'user'), fc.stringMatching(/^[A-Za-z0-9+=,.@_-]{1,12}$/))
  .map(([kind, name]) => `arn:aws:iam::${ACCOUNT}:${kind}/${name}`)

const catalogDoc = fc
  .uniqueArray(
    fc.record({ name: logicalName, readers: fc.uniqueArray(principal, { minLength: 1, maxLength: 4 }) }),
    {
      selector: (e) => e.name,
      maxLength: 8,
    },
  )
  .map((entries): RuntimeCatalogDocument => ({
    secrets: entries.map((e, i) => ({
      name: e.name,
      secretId: `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:s${i}-AbCdEf`,
      readers: e.readers,
    })),
  }))

describe('decideAccess (property)', () => {
  it('allows exactly what the catalog allows', () => {
    fc.assert(
      fc.property(
        catalogDoc,
        principal,
        fc.oneof(logicalName, fc.string({ maxLength: 40 })),
        (doc, caller, name) => {
          const catalog = loadCatalog(doc, ACCOUNT)
          const expected = doc.secrets.some((s) => s.name === name && s.readers?.includes(caller) === true)
          expect(decideAccess(catalog, caller, name).allow).toBe(expected)
        },
      ),
      { numRuns: 500 },
    )
  })

  it('allows a listed caller for every listed name, and nobody else', () => {
    fc.assert(
      fc.property(catalogDoc, principal, (doc, stranger) => {
        const catalog = loadCatalog(doc, ACCOUNT)
        for (const s of doc.secrets) {
          for (const r of s.readers ?? []) expect(decideAccess(catalog, r, s.name).allow).toBe(true)
          if (s.readers?.includes(stranger) !== true)
            expect(decideAccess(catalog, stranger, s.name).allow).toBe(false)
        }
      }),
      { numRuns: 300 },
    )
  })
})
