import type { RuntimeCatalogDocument } from './catalog-document'
import { prefixNames, prefixSegments } from './catalog-document'
import { denyingRule, type Grants } from './catalog-grants'
import { intersectWithPrefix, matchesName, patternCovers, type NamePattern } from './name-pattern'

/**
 * What `GET /secrets` lists for a caller, computed from the caller's grants without any upstream call:
 * the declared names it may read (each pattern expanded with a binary search into sorted name lists, so the
 * cost follows the number of matches, not the size of the catalog), and, for brokered prefixes, the
 * patterns it may read there (its allow patterns clipped to each prefix). A listed pattern is an upper
 * bound: a narrower deny, or a secret that does not exist, still answers 404 when read.
 */
interface SortedNames {
  /** Prepended to each name: '' for the entries, a prefix's head (`teams/orders/`) for its names. */
  readonly base: string
  readonly names: readonly string[]
  /** A prefix's literal segments; undefined for the entries. */
  readonly segments: readonly string[] | undefined
}

/** The declared names of a catalog, in sorted lists. */
export interface DeclaredNames {
  readonly lists: readonly SortedNames[]
  has(name: string): boolean
  readonly size: number
}

function lowerBound(sorted: readonly string[], value: string): number {
  let lo = 0
  let hi = sorted.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if ((sorted[mid] as string) < value) lo = mid + 1
    else hi = mid
  }
  return lo
}

const isSorted = (names: readonly string[]): boolean =>
  names.every((n, i) => i === 0 || (names[i - 1] as string) < n)

/** Index a checked document's declared names (the compiled document is already sorted; others are sorted here). */
export function indexDeclaredNames(doc: RuntimeCatalogDocument): DeclaredNames {
  const entries = doc.secrets.map((s) => s.name)
  if (!isSorted(entries)) entries.sort()
  const sorted = (names: string[]): string[] => (isSorted(names) ? names : names.sort())
  const lists: SortedNames[] = [
    { base: '', names: entries, segments: undefined },
    ...(doc.prefixes ?? [])
      .filter((p) => p.names !== undefined)
      .map((p) => ({
        base: p.pattern.slice(0, -1),
        names: sorted(prefixNames(p)),
        segments: prefixSegments(p.pattern) ?? [],
      })),
  ]
  const has = (name: string): boolean =>
    lists.some((l) => {
      if (!name.startsWith(l.base)) return false
      const rel = name.slice(l.base.length)
      return l.names[lowerBound(l.names, rel)] === rel
    })
  return { lists, has, size: lists.reduce((n, l) => n + l.names.length, 0) }
}

/** The text before a pattern's first wildcard: every name it matches starts with it. */
function literalHead(p: NamePattern): string {
  if (p.literal) return p.head
  const plus = p.fixed.indexOf('+')
  return p.fixed
    .slice(0, plus)
    .map((s) => `${s}/`)
    .join('')
}

/** Declared names matching `p`, appended to `out`. */
export function namesMatching(declared: DeclaredNames, p: NamePattern, out: string[]): void {
  for (const list of declared.lists) {
    const q = list.segments === undefined ? p : intersectWithPrefix(p, list.segments)
    if (q === undefined) continue
    const head = literalHead(q)
    if (!head.startsWith(list.base)) continue
    const rel = head.slice(list.base.length)
    const all = q.literal && q.stem !== undefined
    for (let i = lowerBound(list.names, rel); i < list.names.length; i++) {
      const name = list.names[i] as string
      if (!name.startsWith(rel)) break
      const full = list.base === '' ? name : `${list.base}${name}`
      if (all || matchesName(q, full)) out.push(full)
    }
  }
}

/** The declared names these grants allow and no deny refuses, sorted. */
export function readableNames(declared: DeclaredNames, g: Grants): string[] {
  const candidates: string[] = []
  for (const name of g.allowExact.keys()) if (declared.has(name)) candidates.push(name)
  for (const { pattern } of g.allowPatterns) namesMatching(declared, pattern, candidates)
  const hasDeny = g.denyExact.size > 0 || g.denyPatterns.length > 0
  const readable = hasDeny ? candidates.filter((name) => denyingRule(g, name) === undefined) : candidates
  // Sorted, then duplicates (two patterns matching one name) are neighbours: dropped in one pass.
  readable.sort()
  return readable.filter((name, i) => i === 0 || readable[i - 1] !== name)
}

/**
 * The patterns these grants allow inside each brokered prefix (given as its literal segments): every allow
 * pattern clipped to the prefix, without those a deny covers entirely or another listed pattern contains.
 */
export function readablePatterns(prefixes: readonly (readonly string[])[], g: Grants): string[] {
  const allows: NamePattern[] = [
    ...[...g.allowExact.keys()].map((text) => exactPattern(text)),
    ...g.allowPatterns.map((a) => a.pattern),
  ]
  const clipped: NamePattern[] = []
  for (const segments of prefixes) {
    for (const a of allows) {
      const p = intersectWithPrefix(a, segments)
      if (p === undefined) continue
      if (g.denyExact.has(p.text) || g.denyPatterns.some((d) => patternCovers(d.pattern, p))) continue
      clipped.push(p)
    }
  }
  const kept = clipped.filter(
    (p, i) => !clipped.some((q, j) => j !== i && patternCovers(q, p) && (q.text !== p.text || j < i)),
  )
  return [...new Set(kept.map((p) => p.text))].sort()
}

function exactPattern(text: string): NamePattern {
  const fixed = text.split('/')
  return { text, fixed, stem: undefined, literal: !fixed.includes('+'), head: text }
}
