import { ConfigError } from '../errors'
import { ROTATION_STRATEGIES, type RotationStrategyKind } from '../../contract/rotation-strategies'
import { isSecretName, parseSecretArn, secretIdProblem } from '../../contract/secret-id'
import type { Stage } from '../../contract/settings'
import {
  coveringPrefix,
  findCatalogProblems,
  indexPrefixes,
  isValidName,
  documentShapeIssues,
  prefixSegments,
  type CatalogPrefix,
  type RuntimeCatalogDocument,
} from './catalog-document'
import { indexRules, type Grants, type RuleIndex } from './catalog-grants'
import { indexDeclaredNames, readableNames, readablePatterns, type DeclaredNames } from './catalog-listing'

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
  /** Number of declared names (counted when first asked). */
  readonly size: number
  /** The document the catalog was loaded from, for tools (explain, report, diff). */
  readonly document: RuntimeCatalogDocument
  readonly rules: RuleIndex
  /** The declared names in sorted lists (built on first use), for listings. */
  declared(): DeclaredNames
}

/** Listings kept per container and principal (principals are few); past this many the oldest is dropped. */
const MEMO_LIMIT = 256

function memoized<T>(compute: (key: string) => T): (key: string) => T {
  const memo = new Map<string, T>()
  return (key) => {
    let hit = memo.get(key)
    if (hit === undefined) {
      if (memo.size >= MEMO_LIMIT) memo.delete(memo.keys().next().value as string)
      hit = compute(key)
      memo.set(key, hit)
    }
    return hit
  }
}

export interface LoadCatalogOptions {
  /**
   * The JSON text was checked by `loadCatalog` when it was bundled (COMPILED_CATALOG_CHECKED): the shape and
   * whole-list checks are skipped when the document names this account. Any other source is checked.
   */
  readonly checkedAtBuild?: boolean
}

function parseText(source: string): unknown {
  try {
    return JSON.parse(source) as unknown
  } catch {
    throw new ConfigError('The catalog is not valid JSON')
  }
}

function checkShape(raw: unknown): RuntimeCatalogDocument {
  const issues = documentShapeIssues(raw)
  if (issues.length > 0) throw new ConfigError(`The catalog is malformed: ${issues.slice(0, 10).join('; ')}`)
  return raw as RuntimeCatalogDocument
}

function entryUnder(prefix: CatalogPrefix, name: string): CatalogEntry {
  return {
    name,
    secretId: `${prefix.secretPrefix}${name.slice(prefix.pattern.length - 1)}`,
    rotationStrategy: undefined,
    brokeredBy: prefix.pattern,
  }
}

/**
 * Parse and check a catalog document (JSON text or an already parsed object), then index it. Loading does
 * what every request needs (the checks, the entries by name, which rules name whom); the rest (a caller's
 * grants, the sorted name lists for listings) is built on first use.
 * @throws ConfigError listing every problem at once.
 * @example const catalog = loadCatalog(config.catalogJson, config.accountId, config.stage)
 */
export function loadCatalog(
  source: unknown,
  accountId: string,
  stage?: Stage,
  opts: LoadCatalogOptions = {},
): Catalog {
  const raw: unknown = typeof source === 'string' ? parseText(source) : source
  // A document the build checked was checked for its own account: it is trusted for that account only.
  const trusted =
    opts.checkedAtBuild === true &&
    typeof source === 'string' &&
    typeof raw === 'object' &&
    raw !== null &&
    (raw as { accountId?: unknown }).accountId === accountId
  const doc = trusted ? (raw as RuntimeCatalogDocument) : checkShape(raw)
  if (stage !== undefined && doc.stage !== undefined && doc.stage !== stage)
    throw new ConfigError(`The catalog was compiled for stage ${doc.stage}, not ${stage}`)
  if (!trusted) {
    const problems = findCatalogProblems(doc, accountId)
    if (problems.length > 0) throw new ConfigError(`The catalog is invalid:\n- ${problems.join('\n- ')}`)
  }

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
  let declared: DeclaredNames | undefined
  const declaredNames = (): DeclaredNames => (declared ??= indexDeclaredNames(doc))
  const prefixSegmentsList = prefixes.map((p) => prefixSegments(p.pattern) ?? [])
  return Object.freeze({
    lookup(name: string): CatalogEntry | undefined {
      const entry = byName.get(name)
      if (entry !== undefined || prefixIndex.size === 0) return entry
      const prefix = coveringPrefix(prefixIndex, name)
      return prefix === undefined || !isValidName(name) ? undefined : entryUnder(prefix, name)
    },
    grantsFor: (principalArn: string) => rules.grantsFor(principalArn),
    namesReadableBy: memoized((arn) => Object.freeze(readableNames(declaredNames(), rules.grantsFor(arn)))),
    patternsReadableBy: memoized((arn) =>
      Object.freeze(readablePatterns(prefixSegmentsList, rules.grantsFor(arn))),
    ),
    get size(): number {
      return declaredNames().size
    },
    document: doc,
    rules,
    declared: declaredNames,
  })
}
