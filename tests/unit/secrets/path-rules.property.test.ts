import fc from 'fast-check'
import { checkSecretName } from '../../../src/contract/secret-name'
import { loadCatalog, type RuntimeCatalogDocument } from '../../../src/lib/secrets'
import { decideAccess } from '../../../src/lib/secrets/access-policy'
import { isValidName, nameProblem } from '../../../src/lib/secrets/catalog-document'
import {
  intersectWithPrefix,
  matchesName,
  parseNamePattern,
  patternCovers,
} from '../../../src/lib/secrets/name-pattern'
import { ACCOUNT } from '../../support/builders'

/**
 * The path rules against a reference implementation small enough to check by eye: a pattern is a regular
 * expression (`+` → one segment, a final `*` → anything), and a decision is "some deny matches → deny; else
 * some allow matches → allow; else deny", over every rule, shorthand included. The real catalog indexes
 * rules by principal and patterns by shape; it must agree with the reference on every generated case.
 */
const SEGMENTS = ['a', 'b', 'ab', 'b-c', 'x+y', '..z', 'rotation2']
const segment = fc.constantFrom(...SEGMENTS)
const name = fc.array(segment, { minLength: 1, maxLength: 4 }).map((s) => s.join('/'))
const anyName = fc.oneof(
  { weight: 5, arbitrary: name },
  fc.constantFrom(
    'a//b',
    'a/../b',
    './a',
    '',
    'a/b/',
    'arn:aws:x',
    'a*',
    `a/${'b'.repeat(254)}`,
    `a/${'b'.repeat(255)}`,
  ),
)

const patternArb = fc
  .tuple(
    fc.array(fc.oneof(segment, fc.constant('+')), { minLength: 0, maxLength: 3 }),
    fc.option(fc.constantFrom('', 'a', 'b', 'ab', 'b-', 'x'), { nil: undefined }),
  )
  .filter(([fixed, stem]) => fixed.length > 0 || stem !== undefined)
  .map(([fixed, stem]) =>
    stem === undefined ? fixed.join('/') : `${fixed.join('/')}${fixed.length > 0 ? '/' : ''}${stem}*`,
  )

const ROLE = (n: string) => `arn:aws:iam::${ACCOUNT}:role/${n}`
const CALLERS = [ROLE('svc-a'), ROLE('svc-b'), ROLE('ops'), `arn:aws:iam::${ACCOUNT}:user/alice`]
const PRINCIPALS = [...CALLERS, ROLE('svc-*')]
const principalSet = fc.uniqueArray(fc.constantFrom(...PRINCIPALS), { minLength: 1, maxLength: 3 })

/** The reference matcher: a regular expression per pattern. */
function refMatch(pattern: string, n: string): boolean {
  const star = pattern.endsWith('*')
  const body = star ? pattern.slice(0, -1) : pattern
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  const parts = body.split('/')
  const stem = star ? parts.pop() : undefined
  let re = parts.map((p) => (p === '+' ? '[^/]+' : escape(p))).join('/')
  if (stem !== undefined) re += `${parts.length > 0 ? '/' : ''}${escape(stem)}.*`
  return new RegExp(`^${re}$`).test(n)
}

function refPrincipal(p: string, caller: string): boolean {
  return p.endsWith('*') ? caller.startsWith(p.slice(0, -1)) && caller.length > p.length - 1 : p === caller
}

interface Generated {
  readonly doc: RuntimeCatalogDocument
}

const docArb: fc.Arbitrary<Generated> = fc
  .record({
    declared: fc.uniqueArray(name, { maxLength: 6 }),
    readers: fc.array(principalSet, { minLength: 6, maxLength: 6 }),
    prefix: fc.boolean(),
    rules: fc.array(
      fc.record({
        principals: principalSet,
        effect: fc.constantFrom('allow', 'deny'),
        patterns: fc.uniqueArray(patternArb, { minLength: 1, maxLength: 3 }),
      }),
      { maxLength: 5 },
    ),
  })
  .map(({ declared, readers, prefix, rules }) => {
    const inPrefix = (n: string) => prefix && n.startsWith('b/')
    const entries = declared
      .filter((n) => !n.endsWith('/rotation'))
      .map((n, i) => ({
        name: n,
        ...(inPrefix(n)
          ? {}
          : { secretId: `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:s${i}-AbCdEf` }),
        ...(i % 2 === 0 ? { readers: (readers[i] ?? []).filter((p) => !p.endsWith('*')) } : {}),
      }))
      .filter((e) => e.readers === undefined || e.readers.length > 0)
    // Names under the prefix with no readers go where packaging puts them: the prefix's sorted, relative list.
    const compact = entries.filter((e) => e.secretId === undefined && e.readers === undefined)
    const names = compact.map((e) => e.name.slice('b/'.length)).sort()
    return {
      doc: {
        secrets: entries.filter((e) => !compact.includes(e)),
        ...(prefix
          ? {
              prefixes: [
                {
                  pattern: 'b/*',
                  secretPrefix: 'team-b/',
                  ...(names.length > 0 ? { names: names.join('\n') } : {}),
                },
              ],
            }
          : {}),
        rules: rules.map((r) => ({ principals: r.principals, [r.effect]: r.patterns })),
      },
    }
  })

function declaredOf(doc: RuntimeCatalogDocument): string[] {
  return [
    ...doc.secrets.map((s) => s.name),
    ...(doc.prefixes ?? []).flatMap((p) =>
      (p.names === undefined ? [] : p.names.split('\n')).map((rel) => `${p.pattern.slice(0, -1)}${rel}`),
    ),
  ]
}

function refDecide(doc: RuntimeCatalogDocument, caller: string, n: string): boolean {
  if (checkSecretName(n) !== undefined) return false
  const declared = declaredOf(doc).includes(n)
  const underPrefix = (doc.prefixes ?? []).some((p) => n.startsWith(p.pattern.slice(0, -1)))
  if (!declared && !underPrefix) return false
  const grants: { effect: string; principals: string[]; exact: boolean; pattern: string }[] = [
    ...doc.secrets.flatMap((s) =>
      s.readers === undefined
        ? []
        : [{ effect: 'allow', principals: s.readers, exact: true, pattern: s.name }],
    ),
    ...(doc.rules ?? []).flatMap((r) =>
      (r.allow ?? r.deny ?? []).map((pattern) => ({
        effect: r.allow === undefined ? 'deny' : 'allow',
        principals: r.principals,
        exact: false,
        pattern,
      })),
    ),
  ]
  const applies = (g: (typeof grants)[number]) =>
    g.principals.some((p) => refPrincipal(p, caller)) && (g.exact ? g.pattern === n : refMatch(g.pattern, n))
  if (grants.some((g) => g.effect === 'deny' && applies(g))) return false
  return grants.some((g) => g.effect === 'allow' && applies(g))
}

describe('name patterns (property)', () => {
  it('match exactly what the reference regular expression matches', () => {
    fc.assert(
      fc.property(patternArb, name, (p, n) => {
        expect(matchesName(parseNamePattern(p), n)).toBe(refMatch(p, n))
      }),
      { numRuns: 3000 },
    )
  })

  it('say "covers" only when every name of the narrower pattern matches the wider one', () => {
    fc.assert(
      fc.property(patternArb, patternArb, fc.array(name, { minLength: 30, maxLength: 30 }), (g, s, names) => {
        if (!patternCovers(parseNamePattern(g), parseNamePattern(s))) return
        for (const n of names) if (refMatch(s, n)) expect(refMatch(g, n)).toBe(true)
      }),
      { numRuns: 3000 },
    )
  })

  it('clip to a prefix exactly: a name matches the clipped pattern iff it matches both', () => {
    fc.assert(
      fc.property(patternArb, fc.array(segment, { minLength: 1, maxLength: 2 }), name, (p, prefix, n) => {
        const clipped = intersectWithPrefix(parseNamePattern(p), prefix)
        const both = refMatch(p, n) && refMatch(`${prefix.join('/')}/*`, n)
        expect(clipped === undefined ? false : refMatch(clipped.text, n)).toBe(both)
      }),
      { numRuns: 3000 },
    )
  })

  it('never reach outside their literal head: a matched name starts with it, and never holds a dot segment', () => {
    fc.assert(
      fc.property(patternArb, anyName, (p, n) => {
        const pattern = parseNamePattern(p)
        if (checkSecretName(n) !== undefined || !matchesName(pattern, n)) return
        const head = pattern.literal ? pattern.head : p.slice(0, p.indexOf('+'))
        expect(n.startsWith(head)).toBe(true)
        expect(n.split('/')).not.toContain('..')
      }),
      { numRuns: 2000 },
    )
  })
})

describe('the fast name check', () => {
  it('agrees with the name grammar on every string', () => {
    const chars = fc.constantFrom(...'ab.-/+:*rn%'.split(''))
    fc.assert(
      fc.property(fc.oneof(anyName, fc.string({ unit: chars, maxLength: 12 })), (n) => {
        expect(nameProblem(n)).toBe(checkSecretName(n))
        expect(isValidName(n)).toBe(checkSecretName(n) === undefined)
      }),
      { numRuns: 5000 },
    )
  })
})

describe('decideAccess with path rules (property)', () => {
  it('agrees with the reference: deny by default, deny over allow, readers as exact allows', () => {
    fc.assert(
      fc.property(docArb, fc.constantFrom(...CALLERS), anyName, ({ doc }, caller, n) => {
        const catalog = loadCatalog(doc, ACCOUNT)
        expect(decideAccess(catalog, caller, n).allow).toBe(refDecide(doc, caller, n))
      }),
      { numRuns: 3000 },
    )
  })

  it('refuses everything to a caller that no rule names (deny by default)', () => {
    fc.assert(
      fc.property(docArb, name, ({ doc }, n) => {
        const catalog = loadCatalog(doc, ACCOUNT)
        expect(decideAccess(catalog, `arn:aws:iam::${ACCOUNT}:role/stranger`, n).allow).toBe(false)
      }),
      { numRuns: 1000 },
    )
  })

  it('lets a deny win over every allow: adding a deny refuses every name it matches, for its principals', () => {
    fc.assert(
      fc.property(docArb, patternArb, fc.constantFrom(...CALLERS), name, ({ doc }, denied, caller, n) => {
        const withDeny = { ...doc, rules: [...(doc.rules ?? []), { principals: [caller], deny: [denied] }] }
        const decision = decideAccess(loadCatalog(withDeny, ACCOUNT), caller, n)
        if (refMatch(denied, n)) expect(decision.allow).toBe(false)
        else expect(decision.allow).toBe(decideAccess(loadCatalog(doc, ACCOUNT), caller, n).allow)
      }),
      { numRuns: 2000 },
    )
  })

  it('lets overlapping allows only add: an extra allow never takes a read away', () => {
    fc.assert(
      fc.property(
        docArb,
        patternArb,
        principalSet,
        fc.constantFrom(...CALLERS),
        name,
        ({ doc }, p, who, caller, n) => {
          const before = decideAccess(loadCatalog(doc, ACCOUNT), caller, n).allow
          const more = { ...doc, rules: [...(doc.rules ?? []), { principals: who, allow: [p] }] }
          const after = decideAccess(loadCatalog(more, ACCOUNT), caller, n).allow
          if (before) expect(after).toBe(true)
        },
      ),
      { numRuns: 2000 },
    )
  })

  it('lists for GET /secrets exactly the declared names a caller may read, and patterns that cover every prefixed name it may read', () => {
    fc.assert(
      fc.property(
        docArb,
        fc.constantFrom(...CALLERS),
        fc.array(name, { maxLength: 20 }),
        ({ doc }, caller, probes) => {
          const catalog = loadCatalog(doc, ACCOUNT)
          const expected = declaredOf(doc)
            .filter((n) => refDecide(doc, caller, n))
            .sort()
          expect(catalog.namesReadableBy(caller)).toEqual(expected)
          const patterns = catalog.patternsReadableBy(caller)
          for (const n of probes) {
            const prefixed = (doc.prefixes ?? []).some((p) => n.startsWith(p.pattern.slice(0, -1)))
            if (prefixed && refDecide(doc, caller, n)) expect(patterns.some((p) => refMatch(p, n))).toBe(true)
          }
          for (const p of patterns) expect(p.startsWith('b/')).toBe(true)
        },
      ),
      { numRuns: 2000 },
    )
  })

  it('maps a name under a brokered prefix into the Secrets Manager prefix, and nowhere else', () => {
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 3 }), (rest) => {
        const catalog = loadCatalog(
          { secrets: [], prefixes: [{ pattern: 'teams/b/*', secretPrefix: 'team-b/' }] },
          ACCOUNT,
        )
        const entry = catalog.lookup(`teams/b/${rest.join('/')}`)
        expect(entry?.secretId).toBe(`team-b/${rest.join('/')}`)
        expect(catalog.lookup(`teams/b2/${rest.join('/')}`)).toBeUndefined()
        expect(catalog.lookup(`teams/b/../${rest.join('/')}`)).toBeUndefined()
      }),
      { numRuns: 500 },
    )
  })
})
