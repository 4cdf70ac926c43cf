/**
 * Whole-list checks for the cold start: a catalog of 10,000 names must be checked in a few milliseconds by
 * a process whose JIT has not warmed up, where a JavaScript loop calling a check per item costs tens of
 * milliseconds. Each check joins a list with newlines and searches the text for anything that breaks the
 * grammar, with a few character-class expressions and substring searches (each one linear pass of native
 * code). They only
 * answer "all valid?"; on "no", the caller runs the per-item checks (name-pattern.ts, principal-pattern.ts,
 * contract/secret-name.ts), which say which item and why. Property tests hold each to its per-item
 * counterpart.
 */

/** A character names never hold (the separator `\n` is allowed here; it ends a line). */
const NAME_BAD_CHAR = /[^A-Za-z0-9_+=.@/\n-]/

/**
 * An empty segment or line, or a `.` or `..` segment: a boundary (text start, `/` or a newline), nothing or
 * one or two dots, then a boundary again. One pass, no copy of the text.
 */
const BAD_SEGMENT = /(?:^|[/\n])(?:\.\.?)?(?:[/\n]|$)/
const badSegment = (text: string): boolean => BAD_SEGMENT.test(text)

/** A line whose last segment is `rotation` (reserved for `/secrets/{name}/rotation`). */
const RESERVED = /(?:^|[/\n])rotation(?:\n|$)/
const reserved = (text: string): boolean => RESERVED.test(text)

/** `+*`: a wildcard segment followed by a star in the same segment. */
const PLUS_STAR = /(?:^|[/\n])\+\*/

const overlong = new Map<number, RegExp>()
/** A line longer than `max` characters (anchored at line starts, so each line is scanned once). */
function longerThan(max: number): RegExp {
  let re = overlong.get(max)
  if (re === undefined) {
    re = new RegExp(`^[^\\n]{${max + 1}}`, 'm')
    overlong.set(max, re)
  }
  return re
}

/**
 * Lists joined by newlines into one text, when no item holds a newline itself (which would split it into
 * two lines); undefined otherwise. Each list is joined once, natively.
 */
export function joinLines(lists: readonly (readonly string[])[]): string | undefined {
  let items = 0
  const chunks: string[] = []
  for (const list of lists) {
    if (list.length === 0) continue
    items += list.length
    chunks.push(list.join('\n'))
  }
  const text = chunks.join('\n')
  return items === 0 || text.length - text.replaceAll('\n', '').length === items - 1 ? text : undefined
}

/**
 * Every item is a valid logical name of at most `maxLength` characters; with `notReserved`, none ends in
 * the segment `rotation`.
 */
export function allValidNames(items: readonly string[], maxLength: number, notReserved: boolean): boolean {
  if (items.length === 0) return true
  const text = joinLines([items])
  return text !== undefined && validNameLines(text, maxLength, notReserved)
}

/** `allValidNames` on items already one per line (a prefix's compiled `names`). */
export function validNameLines(text: string, maxLength: number, notReserved: boolean): boolean {
  if (maxLength < 1) return false
  return !(
    NAME_BAD_CHAR.test(text) ||
    badSegment(text) ||
    longerThan(maxLength).test(text) ||
    (notReserved && reserved(text))
  )
}

/** A character patterns never hold: those of names, `*` and the separator. */
const PATTERN_BAD_CHAR = /[^A-Za-z0-9_+=.@/*\n-]/
/** A `*` that is not the last character of its line. */
const STAR_NOT_LAST = /\*[^\n]/

/** Every item is a valid rule pattern (see name-pattern.ts: `+` segments, `*` only last, no dot segments). */
export function allValidPatterns(items: readonly string[], maxLength: number): boolean {
  if (items.length === 0) return true
  const text = joinLines([items])
  return text !== undefined && validPatternLines(text, maxLength)
}

/** `allValidPatterns` on items one per line. */
export function validPatternLines(text: string, maxLength: number): boolean {
  return !(
    PATTERN_BAD_CHAR.test(text) ||
    STAR_NOT_LAST.test(text) ||
    badSegment(text) ||
    PLUS_STAR.test(text) ||
    longerThan(maxLength).test(text)
  )
}

const principalLine = new Map<string, RegExp>()

/**
 * Every item names principals of `accountId`: an IAM user (a path allowed) or a role without a path, by
 * exact ARN, or a role family `role/<two or more characters ending in - _ or .>*`.
 */
export function allValidPrincipals(items: readonly string[], accountId: string): boolean {
  if (items.length === 0) return true
  const text = joinLines([items])
  return text !== undefined && validPrincipalLines(text, accountId)
}

/** `allValidPrincipals` on items one per line. */
export function validPrincipalLines(text: string, accountId: string): boolean {
  if (!/^\d{12}$/.test(accountId)) return false
  let bad = principalLine.get(accountId)
  if (bad === undefined) {
    const name = '[\\w+=,.@-]{1,128}'
    const head = `arn:(?:aws|aws-cn|aws-us-gov):iam::${accountId}:`
    const exact = `${head}(?:role/${name}|user(?:/[\\w+=,.@-]+)*/${name})`
    const family = `${head}role/[\\w+=,.@-]{2,}[-_.]\\*`
    bad = new RegExp(`^(?!(?:${exact}|${family})$)`, 'm')
    principalLine.set(accountId, bad)
  }
  return !bad.test(text)
}
