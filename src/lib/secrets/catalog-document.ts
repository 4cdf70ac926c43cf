// zod/mini: the same validation, tree-shaken to a few KB in the bundles (full zod is ~460 KB).
import * as z from 'zod/mini'
import { STAGES } from '../../contract/settings'
import { checkSecretName } from '../../contract/secret-name'
import { ROTATION_STRATEGIES } from '../../contract/rotation-strategies'
import { parseSecretArn, secretIdProblem } from '../../contract/secret-id'
import { namePatternProblem } from './name-pattern'
import { principalProblem } from './principal-pattern'

/**
 * The compiled catalog document: what packaging generates from a stage's declarations and bundles into the
 * HTTP functions, and what `loadCatalog` checks again at cold start.
 *
 * - `secrets`: the declared names. With `secretId`, a secret the stack creates (by name) or an existing one
 *   (by ARN); without, a name declared under a brokered prefix (its secret follows from the prefix).
 *   `readers` is shorthand for a rule allowing exactly that name to those principals.
 * - `prefixes`: logical `teams/orders/*` brokered as the Secrets Manager names `orders/…` of this account
 *   (optionally only secrets tagged `requireTag`, which IAM enforces); `readers` as for a name.
 * - `rules`: `{ id?, principals, allow | deny }` with name patterns (see name-pattern.ts).
 */
export const SERVICE_SECRET_PREFIX = 'secret-broker/'

const Principals = z.array(z.string())
const SecretEntrySchema = z.strictObject({
  name: z.string(),
  secretId: z.optional(z.string()),
  readers: z.optional(Principals),
  rotationStrategy: z.optional(z.enum(ROTATION_STRATEGIES)),
})
const PrefixSchema = z.strictObject({
  pattern: z.string(),
  secretPrefix: z.string(),
  requireTag: z.optional(z.strictObject({ key: z.string(), value: z.string() })),
  readers: z.optional(Principals),
})
const RuleSchema = z.strictObject({
  id: z.optional(z.string()),
  principals: Principals,
  allow: z.optional(z.array(z.string())),
  deny: z.optional(z.array(z.string())),
})
export const RuntimeCatalogSchema = z.strictObject({
  stage: z.optional(z.enum(STAGES)),
  accountId: z.optional(z.string()),
  secrets: z.array(SecretEntrySchema),
  prefixes: z.optional(z.array(PrefixSchema)),
  rules: z.optional(z.array(RuleSchema)),
})
export type RuntimeCatalogDocument = z.infer<typeof RuntimeCatalogSchema>
export type CatalogSecretEntry = z.infer<typeof SecretEntrySchema>
export type CatalogPrefix = z.infer<typeof PrefixSchema>
export type CatalogRule = z.infer<typeof RuleSchema>

const RULE_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/
const TAG_KEY = /^(?!aws:)[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u
const TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$/u

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

function principalsProblems(
  where: string,
  field: string,
  list: readonly string[],
  accountId: string,
): string[] {
  const problems: string[] = []
  const seen = new Set<string>()
  for (const p of list) {
    const problem = principalProblem(p, accountId)
    if (problem !== undefined)
      problems.push(`${where}: ${field} ${JSON.stringify(p).slice(0, 140)} ${problem}`)
    if (seen.has(p)) problems.push(`${where}: ${field} ${p} listed twice`)
    seen.add(p)
  }
  return problems
}

function entryProblems(e: CatalogSecretEntry, accountId: string, underPrefix: boolean): string[] {
  const where = secretLabel(e.name)
  const problems: string[] = []
  const nameProblem = checkSecretName(e.name)
  if (nameProblem !== undefined) problems.push(`${where}: name is not a valid logical name (${nameProblem})`)
  if (e.name.split('/').at(-1) === 'rotation')
    problems.push(
      `${where}: a name may not end in the segment "rotation" (reserved for /secrets/{name}/rotation)`,
    )
  if (e.secretId === undefined) {
    if (!underPrefix)
      problems.push(
        `${where}: declare arn (an existing secret) or username (a secret this stack creates), or declare a brokered prefix that covers it`,
      )
  } else {
    if (underPrefix)
      problems.push(
        `${where}: lies under a brokered prefix, so it cannot also be a secret of its own (remove arn/username, or rename it)`,
      )
    const idProblem = secretIdProblem(e.secretId)
    const arn = parseSecretArn(e.secretId)
    if (idProblem !== undefined) problems.push(`${where}: secretId ${idProblem}`)
    else if (arn !== undefined && arn.accountId !== accountId)
      problems.push(
        `${where}: secretId belongs to account ${arn.accountId}, not this stage's account ${accountId}`,
      )
  }
  if (e.readers?.length === 0) problems.push(`${where}: readers is empty (nobody could read it)`)
  problems.push(...principalsProblems(where, 'reader', e.readers ?? [], accountId))
  return problems
}

function prefixProblems(prefixes: readonly CatalogPrefix[], accountId: string): string[] {
  const problems: string[] = []
  const checked: { p: CatalogPrefix; logical: string }[] = []
  for (const p of prefixes) {
    const where = secretLabel(p.pattern)
    const segments = prefixSegments(p.pattern)
    if (segments === undefined) {
      problems.push(
        `${where}: a brokered prefix must be literal segments followed by "/*" (such as teams/orders/*)`,
      )
      continue
    }
    const sm = p.secretPrefix
    if (!sm.endsWith('/') || checkSecretName(sm.slice(0, -1)) !== undefined)
      problems.push(
        `${where}: prefix ${JSON.stringify(sm).slice(0, 80)} must be whole Secrets Manager name segments ending in "/" (such as orders/)`,
      )
    else if (sm.startsWith(SERVICE_SECRET_PREFIX))
      problems.push(
        `${where}: prefix ${sm} covers the broker's own secrets (${SERVICE_SECRET_PREFIX}…); broker those by name`,
      )
    if (p.requireTag !== undefined) {
      if (!TAG_KEY.test(p.requireTag.key))
        problems.push(
          `${where}: requireTag.key must be a Secrets Manager tag key (1–128 characters, not aws:…)`,
        )
      if (!TAG_VALUE.test(p.requireTag.value))
        problems.push(`${where}: requireTag.value must be a Secrets Manager tag value (0–256 characters)`)
    }
    if (p.readers?.length === 0) problems.push(`${where}: readers is empty (omit it, or list who may read)`)
    problems.push(...principalsProblems(where, 'reader', p.readers ?? [], accountId))
    const logical = `${segments.join('/')}/`
    for (const other of checked) {
      if (logical.startsWith(other.logical) || other.logical.startsWith(logical))
        problems.push(`${where}: overlaps the brokered prefix ${other.p.pattern}; prefixes may not nest`)
      else if (sm.startsWith(other.p.secretPrefix) || other.p.secretPrefix.startsWith(sm))
        problems.push(
          `${where}: Secrets Manager prefix ${sm} overlaps ${other.p.secretPrefix} (brokered as ${other.p.pattern})`,
        )
    }
    checked.push({ p, logical })
  }
  return problems
}

function ruleProblems(rules: readonly CatalogRule[], accountId: string): string[] {
  const problems: string[] = []
  const ids = new Set<string>()
  for (const [i, r] of rules.entries()) {
    const where = ruleLabel(r, i)
    if (r.id !== undefined) {
      if (!RULE_ID.test(r.id)) problems.push(`${where}: id must be 1–64 letters, digits, "_", "." or "-"`)
      if (ids.has(r.id)) problems.push(`${where}: id "${r.id}" is used by another rule`)
      ids.add(r.id)
    }
    if (r.principals.length === 0) problems.push(`${where}: principals is empty`)
    problems.push(...principalsProblems(where, 'principal', r.principals, accountId))
    if ((r.allow === undefined) === (r.deny === undefined)) {
      problems.push(`${where}: declare exactly one of allow or deny`)
      continue
    }
    const effect = r.allow === undefined ? 'deny' : 'allow'
    const patterns = r.allow ?? r.deny ?? []
    if (patterns.length === 0) problems.push(`${where}: ${effect} lists no pattern`)
    for (const pattern of patterns) {
      const problem = namePatternProblem(pattern)
      if (problem !== undefined)
        problems.push(`${where}: ${effect} pattern ${JSON.stringify(pattern).slice(0, 140)} ${problem}`)
    }
  }
  return problems
}

/** Prefixes by their logical head (`teams/orders/`), for `coveringPrefix`. */
export function indexPrefixes(prefixes: readonly CatalogPrefix[]): ReadonlyMap<string, CatalogPrefix> {
  return new Map(prefixes.map((p) => [p.pattern.slice(0, -1), p]))
}

/** The brokered prefix `name` lies under, if any: one map lookup per segment boundary. */
export function coveringPrefix(
  index: ReadonlyMap<string, CatalogPrefix>,
  name: string,
): CatalogPrefix | undefined {
  if (index.size === 0) return undefined
  for (let slash = name.indexOf('/'); slash !== -1; slash = name.indexOf('/', slash + 1)) {
    const p = index.get(name.slice(0, slash + 1))
    if (p !== undefined) return p
  }
  return undefined
}

/**
 * Every problem of a catalog document, one line each naming the secret, prefix or rule; empty when sound.
 * The same check runs at packaging (from the declarations) and at cold start (on the bundled document).
 */
export function findCatalogProblems(doc: RuntimeCatalogDocument, accountId: string): string[] {
  const problems: string[] = []
  if (doc.accountId !== undefined && doc.accountId !== accountId)
    problems.push(
      `the catalog was compiled for account ${doc.accountId}, not this stage's account ${accountId}`,
    )
  const prefixes = doc.prefixes ?? []
  problems.push(...prefixProblems(prefixes, accountId))
  const index = indexPrefixes(prefixes)
  const seen = new Set<string>()
  for (const e of doc.secrets) {
    problems.push(...entryProblems(e, accountId, coveringPrefix(index, e.name) !== undefined))
    if (seen.has(e.name)) problems.push(`${secretLabel(e.name)}: duplicate name`)
    seen.add(e.name)
  }
  problems.push(...ruleProblems(doc.rules ?? [], accountId))
  return problems
}
