import { MAX_SECRET_NAME_LENGTH } from '../../contract/secret-name'

/**
 * Logical-name patterns, in the spirit of Vault's path policies: an exact name; a segment that is exactly `+`
 * matches any one segment; a `*` as the very last character matches the rest of a name, at any depth
 * (`teams/ord*` matches `teams/orders/db`). `*` is not a name character, so it can only be the wildcard;
 * `+` inside a segment (`a+b`) is the literal character names allow. Patterns are matched against names that
 * already passed the name grammar (no empty, `.` or `..` segments), so no pattern can reach outside its
 * literal prefix.
 */
export interface NamePattern {
  readonly text: string
  /** The whole segments before any star part; `+` is the one-segment wildcard. */
  readonly fixed: readonly string[]
  /** With a trailing `*`: the text of the last segment before it (`''` after a slash, or for `*` alone). */
  readonly stem: string | undefined
  /** No `+` segment: matching is a string comparison (exact) or a prefix test (star). */
  readonly literal: boolean
  /** Without the trailing `*`: the exact name, or the literal prefix of a star pattern without `+`. */
  readonly head: string
}

const SEGMENT = /^[A-Za-z0-9_+=.@-]+$/
const STEM = /^[A-Za-z0-9_+=.@-]*$/

/** Why `text` is not a valid pattern, or undefined. Never throws. */
export function namePatternProblem(text: string): string | undefined {
  if (text.length === 0) return 'is empty'
  if (text.length > MAX_SECRET_NAME_LENGTH + 1) return `is longer than ${MAX_SECRET_NAME_LENGTH} characters`
  if (text.startsWith('arn:')) return 'is an ARN; patterns match logical names'
  const star = text.indexOf('*')
  if (star !== -1 && star !== text.length - 1) return 'has a "*" that is not its last character'
  const body = star === -1 ? text : text.slice(0, -1)
  const parts = body.split('/')
  const stem = star === -1 ? undefined : parts.pop()
  for (const segment of parts) {
    if (segment.length === 0) return 'has an empty segment'
    if (segment === '.' || segment === '..') return 'has a "." or ".." segment'
    if (!SEGMENT.test(segment)) return 'has a character outside ASCII letters, digits and /_+=.@-'
  }
  if (stem !== undefined) {
    if (!STEM.test(stem)) return 'has a character outside ASCII letters, digits and /_+=.@-'
    if (stem === '+') return 'has "+*": "+" stands for a whole segment; write "+/*" or a literal prefix'
  }
  return undefined
}

/** A checked pattern. @throws Error when `namePatternProblem` finds one (callers check first). */
export function parseNamePattern(text: string): NamePattern {
  const problem = namePatternProblem(text)
  if (problem !== undefined) throw new Error(`pattern ${JSON.stringify(text)} ${problem}`)
  return patternOf(text)
}

/** The pattern of a text known to be valid (built here from valid parts, so not checked again). */
function patternOf(text: string): NamePattern {
  const star = text.endsWith('*')
  const head = star ? text.slice(0, -1) : text
  const parts = head.split('/')
  const stem = star ? (parts.pop() ?? '') : undefined
  return Object.freeze({
    text,
    fixed: Object.freeze(parts),
    stem,
    literal: !parts.includes('+'),
    head,
  })
}

/** An exact pattern names one name and nothing else. */
export function isExactPattern(p: NamePattern): boolean {
  return p.stem === undefined && p.literal
}

/** Does `name` (a valid logical name) match `p`? Allocation-free. */
export function matchesName(p: NamePattern, name: string): boolean {
  if (p.literal) return p.stem === undefined ? name === p.head : name.startsWith(p.head)
  let pos = 0
  const { fixed } = p
  for (let i = 0; i < fixed.length; i++) {
    const token = fixed[i] as string
    let end = name.indexOf('/', pos)
    if (end === -1) end = name.length
    if (token === '+') {
      if (end === pos) return false
    } else if (end - pos !== token.length || !name.startsWith(token, pos)) {
      return false
    }
    const more = i < fixed.length - 1 || p.stem !== undefined
    if (!more) return end === name.length
    if (end === name.length) return false
    pos = end + 1
  }
  return p.stem === undefined ? pos === name.length : name.startsWith(p.stem, pos)
}

/**
 * Does every name matching `specific` also match `general`? Conservative: true only when it is certain
 * (used to find dead allows and to drop redundant patterns, where a false "no" costs only a missed warning).
 */
export function patternCovers(general: NamePattern, specific: NamePattern): boolean {
  const g = general.fixed
  const s = specific.fixed
  for (let i = 0; i < g.length; i++) {
    const si = s[i]
    if (si === undefined) return false
    const gi = g[i] as string
    if (gi !== '+' && gi !== si) return false
  }
  if (general.stem === undefined) return specific.stem === undefined && s.length === g.length
  const x = general.stem
  const next = s[g.length]
  if (next !== undefined) return next === '+' ? x === '' : next.startsWith(x)
  return specific.stem !== undefined && specific.stem.startsWith(x)
}

/**
 * The names matching both `p` and the prefix pattern `<segments>/*` (literal segments), as one pattern, or
 * undefined when there are none. Exact: a name matches the result iff it matches both.
 */
export function intersectWithPrefix(
  p: NamePattern,
  prefixSegments: readonly string[],
): NamePattern | undefined {
  const out: string[] = []
  for (let i = 0; i < prefixSegments.length; i++) {
    const li = prefixSegments[i] as string
    const pi = p.fixed[i]
    if (pi === undefined) {
      // p's star part starts inside the prefix: every name under the prefix matches, or none does.
      return p.stem !== undefined && li.startsWith(p.stem)
        ? patternOf(`${prefixSegments.join('/')}/*`)
        : undefined
    }
    if (pi !== '+' && pi !== li) return undefined
    out.push(li)
  }
  const rest = p.fixed.slice(prefixSegments.length)
  if (rest.length === 0 && p.stem === undefined) return undefined
  const text = [...out, ...rest].join('/') + (p.stem === undefined ? '' : `/${p.stem}*`)
  return patternOf(text)
}
