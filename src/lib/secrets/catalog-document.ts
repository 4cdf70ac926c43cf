import { STAGES, type Stage } from '../../contract/settings'
import { checkSecretName, MAX_SECRET_NAME_LENGTH } from '../../contract/secret-name'
import { ROTATION_STRATEGIES, type RotationStrategyKind } from '../../contract/rotation-strategies'
import { parseSecretArn, secretIdProblem } from '../../contract/secret-id'
import {
  allValidNames,
  joinLines,
  validNameLines,
  validPatternLines,
  validPrincipalLines,
} from './catalog-bulk-checks'
import { namePatternProblem } from './name-pattern'
import { principalProblem } from './principal-pattern'

/**
 * The compiled catalog document: what packaging generates from a stage's declarations and bundles into the
 * HTTP functions, and what `loadCatalog` checks again at cold start.
 *
 * - `secrets`: declared names with something of their own. With `secretId`, a secret the stack creates (by
 *   name) or an existing one (by ARN); without, a name under a brokered prefix that lists `readers`
 *   (shorthand for a rule allowing exactly that name to those principals).
 * - `prefixes`: logical `teams/orders/*` brokered as the Secrets Manager names `orders/…` of this account
 *   (optionally only secrets tagged `requireTag`, which IAM enforces); `readers` as for a name; `names`, the
 *   names declared under it, relative to it, sorted, one per line: thousands of them parse as one string and
 *   are checked by one regular expression.
 * - `rules`: `{ id?, principals, allow | deny }` with name patterns (see name-pattern.ts).
 *
 * Its shape is checked by hand rather than with zod: a cold Lambda (no JIT yet) spends tens of milliseconds
 * running a schema library over ten thousand items, and a few loops of `typeof` cost almost nothing.
 */
export const SERVICE_SECRET_PREFIX = 'secret-broker/'

export interface CatalogSecretEntry {
  readonly name: string
  readonly secretId?: string
  readonly readers?: string[]
  readonly rotationStrategy?: RotationStrategyKind
}
export interface CatalogPrefix {
  readonly pattern: string
  readonly secretPrefix: string
  readonly requireTag?: { readonly key: string; readonly value: string }
  readonly readers?: string[]
  /** The names declared under the prefix, relative to it, sorted, one per line (one string parses fast). */
  readonly names?: string
}
export interface CatalogRule {
  readonly id?: string
  readonly principals: string[]
  readonly allow?: string[]
  readonly deny?: string[]
}
export interface RuntimeCatalogDocument {
  readonly stage?: Stage
  readonly accountId?: string
  readonly secrets: CatalogSecretEntry[]
  readonly prefixes?: CatalogPrefix[]
  readonly rules?: CatalogRule[]
}

type Shape = Record<string, 'string' | 'strings' | 'strategy' | 'stage' | 'tag'>
const SHAPES = {
  document: { stage: 'stage', accountId: 'string' },
  secret: { name: 'string', secretId: 'string', readers: 'strings', rotationStrategy: 'strategy' },
  prefix: {
    pattern: 'string',
    secretPrefix: 'string',
    requireTag: 'tag',
    readers: 'strings',
    names: 'string',
  },
  rule: { id: 'string', principals: 'strings', allow: 'strings', deny: 'strings' },
} as const satisfies Record<string, Shape>
const REQUIRED: Record<keyof typeof SHAPES, readonly string[]> = {
  document: [],
  secret: ['name'],
  prefix: ['pattern', 'secretPrefix'],
  rule: ['principals'],
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

function fieldIssue(kind: Shape[string], v: unknown): string | undefined {
  switch (kind) {
    case 'string':
      return typeof v === 'string' ? undefined : 'expected a string'
    case 'strings':
      if (!Array.isArray(v)) return 'expected an array of strings'
      for (const x of v) if (typeof x !== 'string') return 'expected an array of strings'
      return undefined
    case 'strategy':
      return (ROTATION_STRATEGIES as readonly unknown[]).includes(v)
        ? undefined
        : `expected one of ${ROTATION_STRATEGIES.join(', ')}`
    case 'stage':
      return (STAGES as readonly unknown[]).includes(v) ? undefined : `expected one of ${STAGES.join(', ')}`
    case 'tag':
      return isObject(v) &&
        typeof v['key'] === 'string' &&
        typeof v['value'] === 'string' &&
        Object.keys(v).length === 2
        ? undefined
        : 'expected { key, value } strings'
    default: {
      const unreachable: never = kind
      return unreachable
    }
  }
}

function objectIssues(v: unknown, kind: keyof typeof SHAPES, path: string, issues: string[]): void {
  if (!isObject(v)) {
    issues.push(`${path}: expected an object`)
    return
  }
  const shape: Shape = SHAPES[kind]
  for (const key of REQUIRED[kind]) if (!(key in v)) issues.push(`${path}.${key}: required`)
  for (const key in v) {
    const field = shape[key]
    if (field === undefined) {
      if (!(kind === 'document' && (key === 'secrets' || key === 'prefixes' || key === 'rules')))
        issues.push(`${path}: unrecognized key "${key}"`)
      continue
    }
    const issue = fieldIssue(field, v[key])
    if (issue !== undefined) issues.push(`${path}.${key}: ${issue}`)
  }
}

const isStrings = (v: unknown): boolean => {
  if (!Array.isArray(v)) return false
  for (const x of v) if (typeof x !== 'string') return false
  return true
}
const optional = (v: unknown, check: (x: unknown) => boolean): number =>
  v === undefined ? 0 : check(v) ? 1 : NaN
const isString = (v: unknown): boolean => typeof v === 'string'
/** How many known keys an object holds when each is well typed (NaN when one is not), against all its keys. */
const known = (v: Record<string, unknown>, present: number): boolean => present === Object.keys(v).length

function ruleShapeOk(v: unknown): boolean {
  if (!isObject(v) || !isStrings(v['principals'])) return false
  return known(
    v,
    1 + optional(v['id'], isString) + optional(v['allow'], isStrings) + optional(v['deny'], isStrings),
  )
}
function secretShapeOk(v: unknown): boolean {
  if (!isObject(v) || typeof v['name'] !== 'string') return false
  const strategy = (x: unknown): boolean => (ROTATION_STRATEGIES as readonly unknown[]).includes(x)
  return known(
    v,
    1 +
      optional(v['secretId'], isString) +
      optional(v['readers'], isStrings) +
      optional(v['rotationStrategy'], strategy),
  )
}

/**
 * Does the document have its shape? The common case in one pass of direct property checks (a cold process
 * runs these cheaply); `documentShapeIssues` then says what is wrong when it does not.
 */
function shapeOk(raw: unknown): boolean {
  if (!isObject(raw) || !Array.isArray(raw['secrets'])) return false
  for (const key of Object.keys(raw))
    if (!['stage', 'accountId', 'secrets', 'prefixes', 'rules'].includes(key)) return false
  if (raw['stage'] !== undefined && fieldIssue('stage', raw['stage']) !== undefined) return false
  if (raw['accountId'] !== undefined && typeof raw['accountId'] !== 'string') return false
  for (const e of raw['secrets'] as unknown[]) if (!secretShapeOk(e)) return false
  const rules = raw['rules']
  if (rules !== undefined) {
    if (!Array.isArray(rules)) return false
    for (const r of rules as unknown[]) if (!ruleShapeOk(r)) return false
  }
  const prefixes = raw['prefixes']
  if (prefixes === undefined) return true
  if (!Array.isArray(prefixes)) return false
  const issues: string[] = []
  for (const [i, p] of (prefixes as unknown[]).entries()) objectIssues(p, 'prefix', `prefixes.${i}`, issues)
  return issues.length === 0
}

/** The document's shape, every issue with its path (at most the first 20); empty when it has the shape. */
export function documentShapeIssues(raw: unknown): string[] {
  if (shapeOk(raw)) return []
  const issues: string[] = []
  objectIssues(raw, 'document', '(root)', issues)
  if (!isObject(raw)) return issues
  const lists = [
    ['secrets', 'secret', true],
    ['prefixes', 'prefix', false],
    ['rules', 'rule', false],
  ] as const
  for (const [key, kind, required] of lists) {
    const list = raw[key]
    if (list === undefined && !required) continue
    if (!Array.isArray(list)) {
      issues.push(`${key}: expected an array`)
      continue
    }
    for (let i = 0; i < list.length && issues.length < 20; i++)
      objectIssues(list[i], kind, `${key}.${i}`, issues)
  }
  return issues.slice(0, 20)
}

const RULE_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/
const TAG_KEY = /^(?!aws:)[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u
const TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$/u
/** The ASCII subset of the tag grammar: checked first, since compiling the Unicode classes costs a cold start ms. */
const ASCII_TAG = /^[A-Za-z0-9 _.:/=+\-@]*$/
const tagKeyOk = (k: string): boolean =>
  k.length >= 1 && k.length <= 128 && !k.startsWith('aws:') && (ASCII_TAG.test(k) || TAG_KEY.test(k))
const tagValueOk = (v: string): boolean => v.length <= 256 && (ASCII_TAG.test(v) || TAG_VALUE.test(v))
/** Slash-separated segments of name characters; dot segments and the `arn:` form are checked beside it. */
const SEGMENTS = /^[A-Za-z0-9_+=.@-]+(?:\/[A-Za-z0-9_+=.@-]+)*$/

/** Characters a name may hold besides `/`, as a table indexed by char code. */
const NAME_CHAR = new Uint8Array(128)
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_+=.@-')
  NAME_CHAR[c.charCodeAt(0)] = 1
const SLASH = 47
const DOT = 46

/**
 * The name grammar (contract/secret-name.ts) as one loop over the characters, for the request path: no
 * regular expression call, no allocation. `checkSecretName` says why a name fails; this only says whether.
 */
export function isValidName(name: string): boolean {
  const n = name.length
  if (n === 0 || n > MAX_SECRET_NAME_LENGTH) return false
  let start = 0
  for (let i = 0; i <= n; i++) {
    const c = i === n ? SLASH : name.charCodeAt(i)
    if (c === SLASH) {
      const len = i - start
      if (len === 0) return false
      if (len <= 2 && name.charCodeAt(start) === DOT && (len === 1 || name.charCodeAt(start + 1) === DOT))
        return false
      start = i + 1
    } else if (c >= 128 || NAME_CHAR[c] !== 1) {
      return false
    }
  }
  return true
}

/**
 * The name grammar (contract/secret-name.ts), fast: one regular expression for the common case, the full
 * check (which says why) only for names that could hold a dot segment or fail.
 */
export function nameProblem(name: string): string | undefined {
  if (
    name.length <= MAX_SECRET_NAME_LENGTH &&
    SEGMENTS.test(name) &&
    name.charCodeAt(0) !== 46 &&
    !name.includes('/.') &&
    !name.startsWith('arn:')
  )
    return undefined
  return checkSecretName(name)
}

/** How messages name a rule: by its index, and its id when it has one. */
export function ruleLabel(rule: CatalogRule, index: number): string {
  return rule.id === undefined ? `rules[${index}]` : `rules[${index}] "${rule.id}"`
}
export const secretLabel = (name: string): string => `secrets "${name.slice(0, 120)}"`

/** A prefix pattern `a/b/*`: its literal segments, or undefined when it is not one. */
export function prefixSegments(pattern: string): string[] | undefined {
  if (!pattern.endsWith('/*')) return undefined
  const body = pattern.slice(0, -2)
  return checkSecretName(body) === undefined && !body.split('/').includes('+') ? body.split('/') : undefined
}

/** The names declared under a prefix, relative to it (its `names` split into lines). */
export function prefixNames(p: CatalogPrefix): string[] {
  return p.names === undefined || p.names === '' ? [] : p.names.split('\n')
}

/** Prefixes by their logical head (`teams/orders/`), and the depths (segment counts) those heads have. */
export interface PrefixIndex {
  readonly byHead: ReadonlyMap<string, CatalogPrefix>
  /** Ascending; usually one or two values, so a lookup slices a name once or twice. */
  readonly depths: readonly number[]
  readonly size: number
}

export function indexPrefixes(prefixes: readonly CatalogPrefix[]): PrefixIndex {
  const byHead = new Map(prefixes.map((p) => [p.pattern.slice(0, -1), p]))
  const depths = [...new Set(prefixes.map((p) => p.pattern.split('/').length - 1))].sort((a, b) => a - b)
  return { byHead, depths, size: byHead.size }
}

/** The brokered prefix `name` lies under, if any: one map lookup per depth prefixes have. */
export function coveringPrefix(index: PrefixIndex, name: string): CatalogPrefix | undefined {
  let slash = -1
  let depth = 0
  for (const d of index.depths) {
    while (depth < d) {
      slash = name.indexOf('/', slash + 1)
      if (slash === -1) return undefined
      depth++
    }
    const p = index.byHead.get(name.slice(0, slash + 1))
    if (p !== undefined) return p
  }
  return undefined
}

/**
 * Principal and pattern checks. Every principal and pattern of the document is first checked in bulk; only
 * when that finds a problem is each one checked on its own (once per distinct string), to say which and why.
 */
class Checks {
  private readonly principals = new Map<string, string | undefined>()
  private readonly patterns = new Map<string, string | undefined>()
  readonly principalsValid: boolean
  readonly patternsValid: boolean
  constructor(
    private readonly accountId: string,
    doc: RuntimeCatalogDocument,
  ) {
    // Lists gathered whole (far cheaper in a cold process than pushing item by item).
    const principals: (readonly string[])[] = []
    const patterns: (readonly string[])[] = []
    for (const e of doc.secrets) if (e.readers !== undefined) principals.push(e.readers)
    for (const p of doc.prefixes ?? []) if (p.readers !== undefined) principals.push(p.readers)
    for (const r of doc.rules ?? []) {
      principals.push(r.principals)
      patterns.push(r.allow ?? r.deny ?? [])
    }
    const none = (lists: readonly (readonly string[])[]): boolean => lists.every((l) => l.length === 0)
    const principalText = joinLines(principals)
    const patternText = joinLines(patterns)
    this.principalsValid =
      none(principals) || (principalText !== undefined && validPrincipalLines(principalText, accountId))
    this.patternsValid =
      none(patterns) ||
      (patternText !== undefined && validPatternLines(patternText, MAX_SECRET_NAME_LENGTH + 1))
  }
  principal(p: string): string | undefined {
    if (this.principalsValid) return undefined
    if (!this.principals.has(p)) this.principals.set(p, principalProblem(p, this.accountId))
    return this.principals.get(p)
  }
  pattern(p: string): string | undefined {
    if (this.patternsValid) return undefined
    if (!this.patterns.has(p)) this.patterns.set(p, namePatternProblem(p))
    return this.patterns.get(p)
  }
}

function principalsProblems(
  checks: Checks,
  where: () => string,
  field: string,
  list: readonly string[],
): string[] {
  const problems: string[] = []
  if (!checks.principalsValid)
    for (const p of list) {
      const problem = checks.principal(p)
      if (problem !== undefined)
        problems.push(`${where()}: ${field} ${JSON.stringify(p).slice(0, 140)} ${problem}`)
    }
  if (list.length > 1 && new Set(list).size !== list.length)
    for (const [i, p] of list.entries())
      if (list.indexOf(p) < i) problems.push(`${where()}: ${field} ${p} listed twice`)
  return problems
}

function entryProblems(
  checks: Checks,
  e: CatalogSecretEntry,
  accountId: string,
  underPrefix: boolean,
  namesValid: boolean,
): string[] {
  const where = (): string => secretLabel(e.name)
  const problems: string[] = []
  const bad = namesValid ? undefined : nameProblem(e.name)
  if (bad !== undefined) problems.push(`${where()}: name is not a valid logical name (${bad})`)
  if (!namesValid && (e.name.endsWith('/rotation') || e.name === 'rotation'))
    problems.push(
      `${where()}: a name may not end in the segment "rotation" (reserved for /secrets/{name}/rotation)`,
    )
  if (e.secretId === undefined) {
    if (!underPrefix)
      problems.push(
        `${where()}: declare arn (an existing secret) or username (a secret this stack creates), or declare a brokered prefix that covers it`,
      )
  } else {
    if (underPrefix)
      problems.push(
        `${where()}: lies under a brokered prefix, so it cannot also be a secret of its own (remove arn/username, or rename it)`,
      )
    const idProblem = secretIdProblem(e.secretId)
    const arn = parseSecretArn(e.secretId)
    if (idProblem !== undefined) problems.push(`${where()}: secretId ${idProblem}`)
    else if (arn !== undefined && arn.accountId !== accountId)
      problems.push(
        `${where()}: secretId belongs to account ${arn.accountId}, not this stage's account ${accountId}`,
      )
  }
  if (e.readers?.length === 0) problems.push(`${where()}: readers is empty (nobody could read it)`)
  if (e.readers !== undefined) problems.push(...principalsProblems(checks, where, 'reader', e.readers))
  return problems
}

/**
 * The names declared under one prefix: valid names, not reserved, that fit the 256 characters with the
 * prefix. (Their order only serves listings, which sort them when they are not sorted.)
 */
function prefixNameProblems(p: CatalogPrefix, head: string): string[] {
  if (p.names === undefined) return []
  if (p.names === '') return [`${secretLabel(p.pattern)}: names is empty (omit it)`]
  const room = MAX_SECRET_NAME_LENGTH - head.length
  // One check over the whole text (its lines are the names); each name only when that finds a problem.
  if (validNameLines(p.names, room, true)) return []
  return prefixNames(p).flatMap((rel) => {
    if (
      nameProblem(rel) === undefined &&
      rel.length <= room &&
      !rel.endsWith('/rotation') &&
      rel !== 'rotation'
    )
      return []
    const full = `${head}${rel}`
    const why = checkSecretName(full) ?? 'ends in the reserved segment "rotation"'
    return [`${secretLabel(full)}: name is not a valid logical name (${why})`]
  })
}

function prefixProblems(checks: Checks, prefixes: readonly CatalogPrefix[]): string[] {
  const problems: string[] = []
  const checked: { p: CatalogPrefix; logical: string }[] = []
  for (const p of prefixes) {
    const where = (): string => secretLabel(p.pattern)
    const segments = prefixSegments(p.pattern)
    if (segments === undefined) {
      problems.push(
        `${where()}: a brokered prefix must be literal segments followed by "/*" (such as teams/orders/*)`,
      )
      continue
    }
    const sm = p.secretPrefix
    if (!sm.endsWith('/') || checkSecretName(sm.slice(0, -1)) !== undefined)
      problems.push(
        `${where()}: prefix ${JSON.stringify(sm).slice(0, 80)} must be whole Secrets Manager name segments ending in "/" (such as orders/)`,
      )
    else if (sm.startsWith(SERVICE_SECRET_PREFIX))
      problems.push(
        `${where()}: prefix ${sm} covers the broker's own secrets (${SERVICE_SECRET_PREFIX}…); broker those by name`,
      )
    if (p.requireTag !== undefined) {
      if (!tagKeyOk(p.requireTag.key))
        problems.push(
          `${where()}: requireTag.key must be a Secrets Manager tag key (1–128 characters, not aws:…)`,
        )
      if (!tagValueOk(p.requireTag.value))
        problems.push(`${where()}: requireTag.value must be a Secrets Manager tag value (0–256 characters)`)
    }
    if (p.readers?.length === 0) problems.push(`${where()}: readers is empty (omit it, or list who may read)`)
    if (p.readers !== undefined) problems.push(...principalsProblems(checks, where, 'reader', p.readers))
    const logical = `${segments.join('/')}/`
    problems.push(...prefixNameProblems(p, logical))
    for (const other of checked) {
      if (logical.startsWith(other.logical) || other.logical.startsWith(logical))
        problems.push(`${where()}: overlaps the brokered prefix ${other.p.pattern}; prefixes may not nest`)
      else if (sm.startsWith(other.p.secretPrefix) || other.p.secretPrefix.startsWith(sm))
        problems.push(
          `${where()}: Secrets Manager prefix ${sm} overlaps ${other.p.secretPrefix} (brokered as ${other.p.pattern})`,
        )
    }
    checked.push({ p, logical })
  }
  return problems
}

function ruleProblems(checks: Checks, rules: readonly CatalogRule[]): string[] {
  const problems: string[] = []
  const ids = new Set<string>()
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i] as CatalogRule
    const where = (): string => ruleLabel(r, i)
    if (r.id !== undefined) {
      if (!RULE_ID.test(r.id)) problems.push(`${where()}: id must be 1–64 letters, digits, "_", "." or "-"`)
      if (ids.has(r.id)) problems.push(`${where()}: id "${r.id}" is used by another rule`)
      ids.add(r.id)
    }
    if (r.principals.length === 0) problems.push(`${where()}: principals is empty`)
    if (!checks.principalsValid || r.principals.length > 1)
      problems.push(...principalsProblems(checks, where, 'principal', r.principals))
    if ((r.allow === undefined) === (r.deny === undefined)) {
      problems.push(`${where()}: declare exactly one of allow or deny`)
      continue
    }
    const effect = r.allow === undefined ? 'deny' : 'allow'
    const patterns = r.allow ?? r.deny ?? []
    if (patterns.length === 0) problems.push(`${where()}: ${effect} lists no pattern`)
    if (!checks.patternsValid)
      for (const pattern of patterns) {
        const problem = checks.pattern(pattern)
        if (problem !== undefined)
          problems.push(`${where()}: ${effect} pattern ${JSON.stringify(pattern).slice(0, 140)} ${problem}`)
      }
  }
  return problems
}

/**
 * Every problem of a catalog document, one line each naming the secret, prefix or rule; empty when sound.
 * The same check runs at packaging (from the declarations) and at cold start (on the bundled document).
 */
export function findCatalogProblems(doc: RuntimeCatalogDocument, accountId: string): string[] {
  const checks = new Checks(accountId, doc)
  const problems: string[] = []
  if (doc.accountId !== undefined && doc.accountId !== accountId)
    problems.push(
      `the catalog was compiled for account ${doc.accountId}, not this stage's account ${accountId}`,
    )
  const prefixes = doc.prefixes ?? []
  problems.push(...prefixProblems(checks, prefixes))
  const index = indexPrefixes(prefixes)
  const seen = new Set<string>()
  const namesValid = allValidNames(
    doc.secrets.map((e) => e.name),
    MAX_SECRET_NAME_LENGTH,
    true,
  )
  for (const e of doc.secrets) {
    const prefix = coveringPrefix(index, e.name)
    problems.push(...entryProblems(checks, e, accountId, prefix !== undefined, namesValid))
    if (seen.has(e.name)) problems.push(`${secretLabel(e.name)}: duplicate name`)
    else if (
      prefix?.names !== undefined &&
      `\n${prefix.names}\n`.includes(`\n${e.name.slice(prefix.pattern.length - 1)}\n`)
    )
      problems.push(`${secretLabel(e.name)}: duplicate name (also listed under ${prefix.pattern})`)
    seen.add(e.name)
  }
  problems.push(...ruleProblems(checks, doc.rules ?? []))
  return problems
}

/** Every declared name: the entries', then each prefix's (full names). For tools and warnings. */
export function declaredNames(doc: RuntimeCatalogDocument): string[] {
  const names = doc.secrets.map((s) => s.name)
  for (const p of doc.prefixes ?? []) {
    const head = p.pattern.slice(0, -1)
    for (const rel of prefixNames(p)) names.push(`${head}${rel}`)
  }
  return names
}
