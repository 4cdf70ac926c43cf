import { denyingRule, type Grants } from './catalog-grants'
import { intersectWithPrefix, patternCovers, type NamePattern } from './name-pattern'

/**
 * What `GET /secrets` lists for a caller, computed from the caller's grants without any upstream call:
 * the declared names it may read (patterns expanded against them through a segment tree, so the cost
 * follows the number of matches, not the size of the catalog), and, for brokered prefixes, the patterns
 * it may read there (its allow patterns clipped to each prefix). A listed pattern is an upper bound: a
 * narrower deny, or a secret that does not exist, still answers 404 when read.
 */
interface NameNode {
  children: Map<string, NameNode> | undefined
  /** Set when a declared name ends here. */
  name: string | undefined
  /** Every declared name in this subtree, computed on first use. */
  all: string[] | undefined
}

const node = (): NameNode => ({ children: undefined, name: undefined, all: undefined })

/** A segment tree of the declared names. */
export interface NameTree {
  readonly root: NameNode
}

export function buildNameTree(names: Iterable<string>): NameTree {
  const root = node()
  for (const name of names) {
    let at = root
    for (const segment of name.split('/')) {
      at.children ??= new Map()
      let next = at.children.get(segment)
      if (next === undefined) {
        next = node()
        at.children.set(segment, next)
      }
      at = next
    }
    at.name = name
  }
  return { root }
}

function subtree(n: NameNode): string[] {
  if (n.all !== undefined) return n.all
  const all: string[] = n.name === undefined ? [] : [n.name]
  if (n.children !== undefined) for (const child of n.children.values()) all.push(...subtree(child))
  n.all = all
  return all
}

/** Declared names matching `p`, walking only the branches the pattern can reach. */
export function namesMatching(tree: NameTree, p: NamePattern, out: string[]): void {
  const walk = (n: NameNode, i: number): void => {
    if (i === p.fixed.length) {
      if (p.stem === undefined) {
        if (n.name !== undefined) out.push(n.name)
        return
      }
      // The stem matches the start of the next segment; everything below a matching child matches.
      if (n.children === undefined) return
      for (const [segment, child] of n.children) if (segment.startsWith(p.stem)) out.push(...subtree(child))
      return
    }
    if (n.children === undefined) return
    const token = p.fixed[i] as string
    if (token === '+') {
      for (const child of n.children.values()) walk(child, i + 1)
    } else {
      const child = n.children.get(token)
      if (child !== undefined) walk(child, i + 1)
    }
  }
  walk(tree.root, 0)
}

/** The declared names these grants allow and no deny refuses, sorted. */
export function readableNames(tree: NameTree, declared: ReadonlySet<string>, g: Grants): string[] {
  const candidates: string[] = []
  for (const name of g.allowExact.keys()) if (declared.has(name)) candidates.push(name)
  for (const { pattern } of g.allowPatterns) namesMatching(tree, pattern, candidates)
  const hasDeny = g.denyExact.size > 0 || g.denyPatterns.length > 0
  const unique = [...new Set(candidates)]
  const readable = hasDeny ? unique.filter((name) => denyingRule(g, name) === undefined) : unique
  return readable.sort()
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
