import type { RuntimeCatalogDocument } from './catalog-document'
import { isExactPattern, matchesName, parseNamePattern, type NamePattern } from './name-pattern'
import { matchesPrincipal, parsePrincipalMatcher, type PrincipalMatcher } from './principal-pattern'

/**
 * The rules of a catalog, indexed by principal. Loading only records which rules name which principal; a
 * principal's grants (the exact names and patterns it is allowed and denied, with the rule each came from)
 * are built the first time it calls, and kept. Deny overrides allow; allows only add; no match is a deny.
 * A decision is then two map lookups and a scan of that principal's few patterns, with no allocation.
 */
export type Effect = 'allow' | 'deny'

/** The rule behind a grant: an entry of `rules` (by index), or the `readers` shorthand of a name or prefix. */
export interface RuleRef {
  readonly effect: Effect
  /** Index in `rules`, or -1 for a `readers` shorthand. */
  readonly index: number
  readonly id: string | undefined
  /** For a `readers` shorthand: the declared name or prefix pattern whose readers these are. */
  readonly readersOf: string | undefined
}

export interface PatternGrant {
  readonly pattern: NamePattern
  readonly rule: RuleRef
}

export interface Grants {
  readonly allowExact: ReadonlyMap<string, RuleRef>
  readonly allowPatterns: readonly PatternGrant[]
  readonly denyExact: ReadonlyMap<string, RuleRef>
  readonly denyPatterns: readonly PatternGrant[]
}

interface MutableGrants extends Grants {
  readonly allowExact: Map<string, RuleRef>
  readonly allowPatterns: PatternGrant[]
  readonly denyExact: Map<string, RuleRef>
  readonly denyPatterns: PatternGrant[]
}

const emptyGrants = (): MutableGrants => ({
  allowExact: new Map(),
  allowPatterns: [],
  denyExact: new Map(),
  denyPatterns: [],
})

/** One rule, or one `readers` list: what it grants, to be added to the grants of each principal it names. */
interface Source {
  readonly ref: RuleRef
  readonly texts: readonly string[]
  /** A name's readers grant exactly that name, even one with a "+" segment (a rule would read it as a wildcard). */
  readonly exact: boolean
}

export interface RuleIndex {
  /** The grants of a caller: the rules that name it, and those of every role family it belongs to. */
  grantsFor(principalArn: string): Grants
  /** The grants every principal `m` names has (for a role family: the families that contain it). */
  grantsOfEveryMember(m: PrincipalMatcher): Grants
}

/**
 * Grants are built per principal on first use and kept: a container meets few principals. Past this many,
 * the oldest is dropped (a few hundred bytes each, so the bound is a few MB).
 */
const MEMO_LIMIT = 4096

/** Index a checked document. Cost: one pass over every rule's principals. */
export function indexRules(doc: RuntimeCatalogDocument): RuleIndex {
  const sources: Source[] = []
  const byPrincipal = new Map<string, number[]>()
  const families = new Map<string, { matcher: PrincipalMatcher; sources: number[] }>()
  const record = (principals: readonly string[], source: Source): void => {
    const i = sources.push(source) - 1
    for (const p of principals) {
      if (p.endsWith('*')) {
        let f = families.get(p)
        if (f === undefined) families.set(p, (f = { matcher: parsePrincipalMatcher(p), sources: [] }))
        f.sources.push(i)
      } else {
        let list = byPrincipal.get(p)
        if (list === undefined) byPrincipal.set(p, (list = []))
        list.push(i)
      }
    }
  }
  for (const e of doc.secrets)
    if (e.readers !== undefined)
      record(e.readers, {
        ref: { effect: 'allow', index: -1, id: undefined, readersOf: e.name },
        texts: [e.name],
        exact: true,
      })
  for (const p of doc.prefixes ?? [])
    if (p.readers !== undefined)
      record(p.readers, {
        ref: { effect: 'allow', index: -1, id: undefined, readersOf: p.pattern },
        texts: [p.pattern],
        exact: false,
      })
  for (const [index, r] of (doc.rules ?? []).entries()) {
    const effect: Effect = r.allow === undefined ? 'deny' : 'allow'
    record(r.principals, {
      ref: { effect, index, id: r.id, readersOf: undefined },
      texts: r.allow ?? r.deny ?? [],
      exact: false,
    })
  }

  const patterns = new Map<string, NamePattern>()
  const patternOf = (text: string): NamePattern => {
    let p = patterns.get(text)
    if (p === undefined) patterns.set(text, (p = parseNamePattern(text)))
    return p
  }
  const add = (g: MutableGrants, s: Source): void => {
    const allow = s.ref.effect === 'allow'
    for (const text of s.texts) {
      const pattern = s.exact ? undefined : patternOf(text)
      if (pattern === undefined || isExactPattern(pattern)) {
        const exact = allow ? g.allowExact : g.denyExact
        if (!exact.has(text)) exact.set(text, s.ref)
      } else {
        ;(allow ? g.allowPatterns : g.denyPatterns).push({ pattern, rule: s.ref })
      }
    }
  }
  const build = (own: readonly number[], fromFamily: (m: PrincipalMatcher) => boolean): Grants => {
    const g = emptyGrants()
    for (const i of own) add(g, sources[i] as Source)
    for (const f of families.values())
      if (fromFamily(f.matcher)) for (const i of f.sources) add(g, sources[i] as Source)
    return g
  }
  const memo = new Map<string, Grants>()
  const grantsFor = (arn: string): Grants => {
    let g = memo.get(arn)
    if (g === undefined) {
      if (memo.size >= MEMO_LIMIT) memo.delete(memo.keys().next().value as string)
      g = build(byPrincipal.get(arn) ?? [], (m) => matchesPrincipal(m, arn))
      memo.set(arn, g)
    }
    return g
  }
  return {
    grantsFor,
    grantsOfEveryMember: (m) =>
      m.kind === 'exact'
        ? grantsFor(m.text)
        : build([], (f) => f.kind === 'role-family' && m.prefix.startsWith(f.prefix)),
  }
}

function firstMatch(
  exact: ReadonlyMap<string, RuleRef>,
  patterns: readonly PatternGrant[],
  name: string,
): RuleRef | undefined {
  const hit = exact.get(name)
  if (hit !== undefined) return hit
  for (const g of patterns) if (matchesName(g.pattern, name)) return g.rule
  return undefined
}

/** The deny that applies to `name` under these grants, if any. */
export const denyingRule = (g: Grants, name: string): RuleRef | undefined =>
  firstMatch(g.denyExact, g.denyPatterns, name)

/** The allow that applies to `name` under these grants, if any (denies not considered). */
export const allowingRule = (g: Grants, name: string): RuleRef | undefined =>
  firstMatch(g.allowExact, g.allowPatterns, name)
