import { ConfigError } from '../errors'
import { checkSecretName } from '../../contract/secret-name'
import { ROTATION_STRATEGIES, type RotationStrategyKind } from '../../contract/rotation-strategies'
import { isSecretName, parseSecretArn, secretIdProblem } from '../../contract/secret-id'
import type { Stage } from '../../contract/settings'
import {
  coveringPrefix,
  findCatalogProblems,
  indexPrefixes,
  prefixSegments,
  RuntimeCatalogSchema,
  type CatalogPrefix,
  type RuntimeCatalogDocument,
} from './catalog-document'
import { familyGrantsFor, indexRules, type Grants, type RuleIndex } from './catalog-grants'
import { buildNameTree, readableNames, readablePatterns, type NameTree } from './catalog-listing'

/**
 * The catalog: which logical names exist, which secret each one is, and who may read it. It is compiled
 * per stage from serverless.yml at packaging, bundled with the HTTP functions, checked at packaging and
 * again at cold start, and never touched by a request: a broken catalog stops the deploy, not a caller.
 */
export { ROTATION_STRATEGIES, isSecretName, parseSecretArn, secretIdProblem, type RotationStrategyKind }
export type { RuntimeCatalogDocument }

export interface CatalogEntry {
  readonly name: string
  /**
   * The secret to read: the name of a secret the stack creates (its ARN's suffix is only known after the
   * deploy, which the compiled catalog precedes), an existing secret's ARN, or, under a brokered prefix,
   * the Secrets Manager name the prefix maps the logical name to.
   */
  readonly secretId: string
  readonly rotationStrategy: RotationStrategyKind | undefined
  /** The brokered prefix pattern the name lies under: its secret may not exist (or not be opted in). */
  readonly brokeredBy: string | undefined
}

export interface Catalog {
  /** The entry of a declared name, or of a valid name under a brokered prefix; undefined otherwise. */
  lookup(name: string): CatalogEntry | undefined
  /** The caller's grants (exact rules, and those of the role families it belongs to). */
  grantsFor(principalArn: string): Grants
  /** The declared names `principalArn` may read, sorted. */
  namesReadableBy(principalArn: string): readonly string[]
  /** The patterns `principalArn` may read inside brokered prefixes, sorted (see catalog-listing.ts). */
  patternsReadableBy(principalArn: string): readonly string[]
  /** Number of declared names. */
  readonly size: number
  /** The document the catalog was loaded from, for tools (explain, report, diff). */
  readonly document: RuntimeCatalogDocument
  readonly rules: RuleIndex
}

/** Listings and family grants kept per container; principals are few, and a full map is simply dropped. */
const MEMO_LIMIT = 1024

function memoized<T>(compute: (key: string) => T): (key: string) => T {
  const memo = new Map<string, T>()
  return (key) => {
    let hit = memo.get(key)
    if (hit === undefined) {
      if (memo.size >= MEMO_LIMIT) memo.clear()
      hit = compute(key)
      memo.set(key, hit)
    }
    return hit
  }
}

function parseDocument(source: unknown): RuntimeCatalogDocument {
  let raw: unknown = source
  if (typeof source === 'string') {
    try {
      raw = JSON.parse(source)
    } catch {
      throw new ConfigError('The catalog is not valid JSON')
    }
  }
  const parsed = RuntimeCatalogSchema.safeParse(raw)
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    throw new ConfigError(`The catalog is malformed: ${issues.slice(0, 10).join('; ')}`)
  }
  return parsed.data
}

function entryUnder(prefix: CatalogPrefix, name: string): CatalogEntry {
  const rest = name.slice(prefix.pattern.length - 1)
  return {
    name,
    secretId: `${prefix.secretPrefix}${rest}`,
    rotationStrategy: undefined,
    brokeredBy: prefix.pattern,
  }
}

/**
 * Parse and check a catalog document (JSON text or an already parsed object), then index it.
 * @throws ConfigError listing every problem at once.
 * @example const catalog = loadCatalog(config.catalogJson, config.accountId, config.stage)
 */
export function loadCatalog(source: unknown, accountId: string, stage?: Stage): Catalog {
  const doc = parseDocument(source)
  if (stage !== undefined && doc.stage !== undefined && doc.stage !== stage)
    throw new ConfigError(`The catalog was compiled for stage ${doc.stage}, not ${stage}`)
  const problems = findCatalogProblems(doc, accountId)
  if (problems.length > 0) throw new ConfigError(`The catalog is invalid:\n- ${problems.join('\n- ')}`)

  const prefixes = doc.prefixes ?? []
  const prefixIndex = indexPrefixes(prefixes)
  const byName = new Map<string, CatalogEntry>()
  for (const e of doc.secrets) {
    const prefix = e.secretId === undefined ? coveringPrefix(prefixIndex, e.name) : undefined
    byName.set(
      e.name,
      prefix === undefined
        ? {
            name: e.name,
            secretId: e.secretId ?? '',
            rotationStrategy: e.rotationStrategy,
            brokeredBy: undefined,
          }
        : entryUnder(prefix, e.name),
    )
  }
  const rules = indexRules(doc)
  const familyGrantsOf = memoized((arn) => familyGrantsFor(rules, arn))
  const grantsFor = (principalArn: string): Grants =>
    rules.exact.get(principalArn) ?? familyGrantsOf(principalArn)
  let tree: NameTree | undefined
  let declared: ReadonlySet<string> | undefined
  const prefixSegmentsList = prefixes.map((p) => prefixSegments(p.pattern) ?? [])
  return Object.freeze({
    lookup(name: string): CatalogEntry | undefined {
      const entry = byName.get(name)
      if (entry !== undefined || prefixIndex.size === 0) return entry
      const prefix = coveringPrefix(prefixIndex, name)
      return prefix === undefined || checkSecretName(name) !== undefined
        ? undefined
        : entryUnder(prefix, name)
    },
    grantsFor,
    namesReadableBy: memoized((arn) => {
      tree ??= buildNameTree(byName.keys())
      declared ??= new Set(byName.keys())
      return Object.freeze(readableNames(tree, declared, grantsFor(arn)))
    }),
    patternsReadableBy: memoized((arn) =>
      Object.freeze(readablePatterns(prefixSegmentsList, grantsFor(arn))),
    ),
    size: byName.size,
    document: doc,
    rules,
  })
}
