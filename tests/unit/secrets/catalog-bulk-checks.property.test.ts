import fc from 'fast-check'
import { checkSecretName } from '../../../src/contract/secret-name'
import {
  allValidNames,
  allValidPatterns,
  allValidPrincipals,
} from '../../../src/lib/secrets/catalog-bulk-checks'
import { documentShapeIssues } from '../../../src/lib/secrets/catalog-document'
import { namePatternProblem } from '../../../src/lib/secrets/name-pattern'
import { principalProblem } from '../../../src/lib/secrets/principal-pattern'

/**
 * The cold start checks whole lists with one regular expression each; those must accept exactly the lists
 * whose every item passes the per-item check that names problems. Items are drawn near the edges of the
 * grammars (dots, plus, stars, slashes, newlines, long strings, other accounts).
 */
const ACCOUNT = '123456789012'
const pieces = ['a', 'b', '.', '..', '+', '*', '/', '-', 'rotation', 'arn:', '\n', ' ', 'x+y', '.z', '@']
const text = fc.array(fc.constantFrom(...pieces), { maxLength: 8 }).map((p) => p.join(''))
const long = fc.integer({ min: 250, max: 262 }).map((n) => `a/${'b'.repeat(n - 2)}`)
const item = fc.oneof({ weight: 6, arbitrary: text }, { weight: 1, arbitrary: long })

const principalItem = fc.oneof(
  fc.constantFrom(
    `arn:aws:iam::${ACCOUNT}:role/orders`,
    `arn:aws:iam::${ACCOUNT}:role/orders-*`,
    `arn:aws:iam::${ACCOUNT}:role/o-*`,
    `arn:aws:iam::${ACCOUNT}:role/orders*`,
    `arn:aws:iam::${ACCOUNT}:role/team/orders`,
    `arn:aws:iam::${ACCOUNT}:user/alice`,
    `arn:aws:iam::${ACCOUNT}:user/ops/alice`,
    `arn:aws:iam::${ACCOUNT}:user/al-*`,
    `arn:aws-cn:iam::${ACCOUNT}:role/x`,
    'arn:aws:iam::999999999999:role/x',
    `arn:aws:sts::${ACCOUNT}:assumed-role/x/s`,
    `arn:aws:iam::${ACCOUNT}:role/a\nb`,
    `arn:aws:iam::${ACCOUNT}:role/${'r'.repeat(128)}`,
    `arn:aws:iam::${ACCOUNT}:role/${'r'.repeat(129)}`,
  ),
  fc.string({ maxLength: 30 }).map((s) => `arn:aws:iam::${ACCOUNT}:role/${s}`),
)

describe('bulk checks of the cold start (property)', () => {
  it('accept a list of names exactly when every name passes the grammar (and the length and reserved-segment rules)', () => {
    fc.assert(
      fc.property(
        fc.array(item, { maxLength: 6 }),
        fc.integer({ min: 1, max: 256 }),
        fc.boolean(),
        (items, max, reserved) => {
          const each = items.every(
            (n) =>
              checkSecretName(n) === undefined &&
              n.length <= max &&
              !(reserved && (n === 'rotation' || n.endsWith('/rotation'))),
          )
          expect(allValidNames(items, max, reserved)).toBe(each)
        },
      ),
      { numRuns: 5000 },
    )
  })

  it('accept a list of patterns exactly when every pattern passes the pattern grammar', () => {
    fc.assert(
      fc.property(fc.array(item, { maxLength: 6 }), (items) => {
        expect(allValidPatterns(items, 257)).toBe(items.every((p) => namePatternProblem(p) === undefined))
      }),
      { numRuns: 5000 },
    )
  })

  it('accept a list of principals exactly when every principal names users or roles of the account', () => {
    fc.assert(
      fc.property(fc.array(principalItem, { maxLength: 5 }), (items) => {
        expect(allValidPrincipals(items, ACCOUNT)).toBe(
          items.every((p) => principalProblem(p, ACCOUNT) === undefined),
        )
      }),
      { numRuns: 5000 },
    )
  })
})

describe('the shape check of the cold start (property)', () => {
  const valid = () => ({
    stage: 'dev',
    accountId: ACCOUNT,
    secrets: [
      {
        name: 'a/b',
        secretId: 'a/b',
        readers: [`arn:aws:iam::${ACCOUNT}:role/r`],
        rotationStrategy: 'random',
      },
      { name: 'c' },
    ],
    prefixes: [
      {
        pattern: 't/*',
        secretPrefix: 't/',
        requireTag: { key: 'k', value: 'v' },
        readers: ['x'],
        names: 'a\nb',
      },
    ],
    rules: [
      { id: 'r', principals: ['p'], allow: ['a/*'] },
      { principals: ['p', 'q'], deny: ['b'] },
    ],
  })
  const wrong = fc.constantFrom<unknown>(1, null, true, {}, [1], ['a', 2], 'text', undefined)
  const place = fc.constantFrom(
    ['stage'],
    ['accountId'],
    ['secrets'],
    ['secrets', 0],
    ['secrets', 0, 'name'],
    ['secrets', 0, 'secretId'],
    ['secrets', 0, 'readers'],
    ['secrets', 0, 'rotationStrategy'],
    ['secrets', 1, 'name'],
    ['prefixes'],
    ['prefixes', 0, 'pattern'],
    ['prefixes', 0, 'secretPrefix'],
    ['prefixes', 0, 'requireTag'],
    ['prefixes', 0, 'requireTag', 'key'],
    ['prefixes', 0, 'readers'],
    ['prefixes', 0, 'names'],
    ['rules'],
    ['rules', 0],
    ['rules', 0, 'principals'],
    ['rules', 0, 'id'],
    ['rules', 0, 'allow'],
    ['rules', 1, 'deny'],
  )

  it('accepts the well-formed document', () => {
    expect(documentShapeIssues(valid())).toEqual([])
  })

  it('finds every wrong type, missing field and unknown key', () => {
    fc.assert(
      fc.property(
        place,
        fc.oneof(
          wrong.map((v) => ({ set: v })),
          fc.constant({ extra: true }),
        ),
        (path, change) => {
          const doc = valid() as unknown as Record<string | number, unknown>
          let at = doc
          for (const step of path.slice(0, -1)) at = at[step] as Record<string | number, unknown>
          const last = path.at(-1) as string | number
          const before = JSON.stringify(at[last])
          if ('extra' in change) {
            if (typeof at[last] !== 'object' || at[last] === null || Array.isArray(at[last])) return
            ;(at[last] as Record<string, unknown>)['unexpected'] = 1
          } else {
            if (
              change.set === undefined &&
              (path.length === 1
                ? path[0] !== 'secrets'
                : !['name', 'pattern', 'secretPrefix', 'principals', 'key'].includes(String(last)))
            )
              return
            if (JSON.stringify(change.set) === before) return
            if (last === 'names' && typeof change.set === 'string') return
            if (
              ['secretId', 'id', 'accountId', 'name', 'pattern', 'secretPrefix', 'key'].includes(
                String(last),
              ) &&
              typeof change.set === 'string'
            )
              return
            at[last] = change.set
          }
          expect(documentShapeIssues(doc).length).toBeGreaterThan(0)
        },
      ),
      { numRuns: 3000 },
    )
  })
})
