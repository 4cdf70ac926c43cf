import type { RuntimeCatalogDocument } from './catalog-document'
import { isExactPattern, matchesName, parseNamePattern, type NamePattern } from './name-pattern'
import { matchesPrincipal, parsePrincipalMatcher, type PrincipalMatcher } from './principal-pattern'

/**
 * The rules of a catalog, indexed by principal: for each principal the exact names and the patterns it is
 * allowed and denied, with the rule each came from. Deny overrides allow; allows only add; no match is a
 * deny. A decision is two map lookups and a scan of that principal's few patterns; nothing here allocates
 * per decision.
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

export const NO_GRANTS: Grants = Object.freeze({
  allowExact: new Map(),
  allowPatterns: [],
  denyExact: new Map(),
  denyPatterns: [],
})

const emptyGrants = (): MutableGrants => ({
  allowExact: new Map(),
  allowPatterns: [],
  denyExact: new Map(),
  denyPatterns: [],
})

function addGrant(g: MutableGrants, pattern: NamePattern, rule: RuleRef): void {
  const allow = rule.effect === 'allow'
  if (isExactPattern(pattern)) {
    const exact = allow ? g.allowExact : g.denyExact
    if (!exact.has(pattern.text)) exact.set(pattern.text, rule)
  } else {
    ;(allow ? g.allowPatterns : g.denyPatterns).push({ pattern, rule })
  }
}

function mergeInto(target: MutableGrants, source: Grants): void {
  for (const [name, rule] of source.allowExact)
    if (!target.allowExact.has(name)) target.allowExact.set(name, rule)
  for (const [name, rule] of source.denyExact)
    if (!target.denyExact.has(name)) target.denyExact.set(name, rule)
  target.allowPatterns.push(...source.allowPatterns)
  target.denyPatterns.push(...source.denyPatterns)
}

export interface RuleIndex {
  /** Grants of each exactly named principal, with those of every role family it belongs to merged in. */
  readonly exact: ReadonlyMap<string, Grants>
  /** Grants of each role family, by its text (`arn:…:role/orders-*`). */
  readonly families: ReadonlyMap<string, { readonly matcher: PrincipalMatcher; readonly grants: Grants }>
}

/** Build the index from a checked document. */
export function indexRules(doc: RuntimeCatalogDocument): RuleIndex {
  const exact = new Map<string, MutableGrants>()
  const families = new Map<string, { matcher: PrincipalMatcher; grants: MutableGrants }>()
  const patterns = new Map<string, NamePattern>()
  const patternOf = (text: string): NamePattern => {
    let p = patterns.get(text)
    if (p === undefined) {
      p = parseNamePattern(text)
      patterns.set(text, p)
    }
    return p
  }
  const grantsOf = (principal: string): MutableGrants => {
    if (principal.endsWith('*')) {
      let family = families.get(principal)
      if (family === undefined) {
        family = { matcher: parsePrincipalMatcher(principal), grants: emptyGrants() }
        families.set(principal, family)
      }
      return family.grants
    }
    let g = exact.get(principal)
    if (g === undefined) {
      g = emptyGrants()
      exact.set(principal, g)
    }
    return g
  }
  const add = (principals: readonly string[], texts: readonly string[], rule: RuleRef): void => {
    for (const principal of principals) {
      const g = grantsOf(principal)
      for (const text of texts) addGrant(g, patternOf(text), rule)
    }
  }
  // A name's readers grant exactly that name, even one with a "+" segment (which a rule would read as a
  // wildcard): the shorthand means what it meant before rules existed.
  for (const e of doc.secrets) {
    if (e.readers === undefined) continue
    const rule: RuleRef = { effect: 'allow', index: -1, id: undefined, readersOf: e.name }
    for (const reader of e.readers) {
      const exact = grantsOf(reader).allowExact
      if (!exact.has(e.name)) exact.set(e.name, rule)
    }
  }
  for (const p of doc.prefixes ?? []) {
    if (p.readers !== undefined)
      add(p.readers, [p.pattern], { effect: 'allow', index: -1, id: undefined, readersOf: p.pattern })
  }
  for (const [index, r] of (doc.rules ?? []).entries()) {
    const effect: Effect = r.allow === undefined ? 'deny' : 'allow'
    add(r.principals, r.allow ?? r.deny ?? [], { effect, index, id: r.id, readersOf: undefined })
  }
  if (families.size > 0) {
    for (const [arn, g] of exact)
      for (const f of families.values()) if (matchesPrincipal(f.matcher, arn)) mergeInto(g, f.grants)
  }
  return { exact, families }
}

/** The grants of a caller no rule names exactly: those of the role families it belongs to. */
export function familyGrantsFor(index: RuleIndex, principalArn: string): Grants {
  let merged: MutableGrants | undefined
  for (const f of index.families.values()) {
    if (!matchesPrincipal(f.matcher, principalArn)) continue
    merged ??= emptyGrants()
    mergeInto(merged, f.grants)
  }
  return merged ?? NO_GRANTS
}

/** The grants every member of `family` has: those of the families that contain it (itself included). */
export function grantsOfEveryMember(index: RuleIndex, family: PrincipalMatcher): Grants {
  if (family.kind === 'exact') return index.exact.get(family.text) ?? familyGrantsFor(index, family.text)
  const merged = emptyGrants()
  for (const f of index.families.values())
    if (f.matcher.kind === 'role-family' && family.prefix.startsWith(f.matcher.prefix))
      mergeInto(merged, f.grants)
  return merged
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
