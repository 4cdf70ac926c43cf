import { prefixSegments, ruleLabel, secretLabel, type RuntimeCatalogDocument } from './catalog-document'
import type { RuleRef } from './catalog-grants'
import { indexDeclaredNames, namesMatching } from './catalog-listing'
import { intersectWithPrefix, parseNamePattern, patternCovers } from './name-pattern'
import { parsePrincipalMatcher, principalCovers } from './principal-pattern'

/**
 * Warnings about a sound catalog, for packaging: an allow that a deny makes dead, and a pattern that matches
 * nothing declared or brokered. Neither is unsafe (the catalog can only refuse more than intended), so
 * packaging prints them once and goes on. Run on a checked document.
 */
export function findCatalogWarnings(doc: RuntimeCatalogDocument): string[] {
  return [...deadAllows(doc), ...patternsMatchingNothing(doc)]
}

/** How a message names the rule behind a grant. */
export function describeRule(doc: RuntimeCatalogDocument, ref: RuleRef): string {
  if (ref.readersOf !== undefined) return `${secretLabel(ref.readersOf)} readers`
  const rule = doc.rules?.[ref.index]
  return rule === undefined ? `rules[${ref.index}]` : ruleLabel(rule, ref.index)
}

interface Allow {
  readonly where: string
  readonly principals: readonly string[]
  readonly pattern: string
}

function allowsOf(doc: RuntimeCatalogDocument): Allow[] {
  const allows: Allow[] = []
  for (const [i, r] of (doc.rules ?? []).entries())
    for (const pattern of r.allow ?? [])
      allows.push({ where: ruleLabel(r, i), principals: r.principals, pattern })
  for (const p of doc.prefixes ?? [])
    if (p.readers !== undefined)
      allows.push({ where: `${secretLabel(p.pattern)} readers`, principals: p.readers, pattern: p.pattern })
  return allows
}

/** One warning per allowed pattern that, for every principal of its rule, some deny covers entirely. */
function deadAllows(doc: RuntimeCatalogDocument): string[] {
  const denies = (doc.rules ?? []).flatMap((r, i) =>
    (r.deny ?? []).map((pattern) => ({
      where: ruleLabel(r, i),
      principals: r.principals.map(parsePrincipalMatcher),
      pattern: parseNamePattern(pattern),
    })),
  )
  if (denies.length === 0) return []
  const warnings: string[] = []
  for (const a of allowsOf(doc)) {
    const pattern = parseNamePattern(a.pattern)
    const by = new Set<string>()
    const dead = a.principals.every((text) => {
      const principal = parsePrincipalMatcher(text)
      const d = denies.find(
        (x) => patternCovers(x.pattern, pattern) && x.principals.some((p) => principalCovers(p, principal)),
      )
      if (d !== undefined) by.add(d.where)
      return d !== undefined
    })
    if (dead)
      warnings.push(
        `${a.where}: allow ${a.pattern} is dead: ${[...by].join(', ')} denies it to every principal it names`,
      )
  }
  return warnings
}

/** One warning per rule pattern that matches no declared name and reaches into no brokered prefix. */
function patternsMatchingNothing(doc: RuntimeCatalogDocument): string[] {
  const declared = indexDeclaredNames(doc)
  const prefixes = (doc.prefixes ?? []).map((p) => prefixSegments(p.pattern) ?? [])
  const warnings: string[] = []
  for (const [i, r] of (doc.rules ?? []).entries()) {
    for (const text of [...(r.allow ?? []), ...(r.deny ?? [])]) {
      const pattern = parseNamePattern(text)
      const found: string[] = []
      namesMatching(declared, pattern, found)
      if (found.length > 0) continue
      if (prefixes.some((segments) => intersectWithPrefix(pattern, segments) !== undefined)) continue
      warnings.push(`${ruleLabel(r, i)}: pattern ${text} matches no declared name and no brokered prefix`)
    }
  }
  return warnings
}
