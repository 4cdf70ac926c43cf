import { resolve } from 'node:path'
import { planStack, runtimeCatalogDocument, type StackPlan } from '../../infra/stack'
import {
  loadStageDeclarations,
  REPO_ROOT,
  stageDeclarationsFromText,
  type StageDeclarations,
} from '../../infra/stage-declarations'
import {
  declaredNames,
  loadCatalog,
  parsePrincipalMatcher,
  prefixSegments,
  readableNames,
  readablePatterns,
  type Catalog,
  type RuntimeCatalogDocument,
} from '../../src/lib/secrets'

/**
 * A stage's catalog as the operators' tools see it: compiled from the declarations exactly as packaging
 * compiles it (no AWS call, no credentials), and its access matrix: for every principal the rules name
 * (exact ARNs and role families), the declared names it may read and the patterns it may read inside
 * brokered prefixes. A role family's row is what every role of the family may read.
 */
export interface StageCatalog {
  readonly plan: StackPlan
  readonly doc: RuntimeCatalogDocument
  readonly catalog: Catalog
}

export function stageCatalogOf(decl: StageDeclarations): StageCatalog {
  const plan = planStack(decl)
  const doc = runtimeCatalogDocument(plan)
  return { plan, doc, catalog: loadCatalog(doc, decl.params.accountId, decl.stage) }
}

/** The stage's catalog from its service file (serverless.yml, or another file, relative to the repository). */
export function loadStageCatalog(stage: string, configFile = 'serverless.yml'): StageCatalog {
  return stageCatalogOf(loadStageDeclarations(stage, serviceFilePath(configFile), {}))
}

/** A service file's path: relative to the repository root, or absolute. */
export function serviceFilePath(configFile: string): string {
  return resolve(REPO_ROOT, configFile)
}

/** The same from a service file's text (a file at a git revision). */
export function stageCatalogFromText(stage: string, text: string, fileName: string): StageCatalog {
  return stageCatalogOf(stageDeclarationsFromText(stage, text, fileName, {}))
}

export interface PrincipalAccess {
  readonly principal: string
  readonly names: readonly string[]
  readonly patterns: readonly string[]
}

export interface AccessMatrix {
  readonly principals: readonly PrincipalAccess[]
  /** Declared names: the secret each one is, and who may read it. */
  readonly secrets: readonly {
    readonly name: string
    readonly secret: string
    readonly readers: readonly string[]
  }[]
  /** Brokered prefixes: where they point, and who may read what inside them. */
  readonly prefixes: readonly {
    readonly pattern: string
    readonly secretPrefix: string
    readonly requireTag: string | undefined
    readonly readers: readonly { readonly principal: string; readonly patterns: readonly string[] }[]
  }[]
}

/** Every principal string the document names: rule principals and readers, sorted. */
export function principalsNamed(doc: RuntimeCatalogDocument): string[] {
  const all = new Set<string>()
  for (const s of doc.secrets) for (const r of s.readers ?? []) all.add(r)
  for (const p of doc.prefixes ?? []) for (const r of p.readers ?? []) all.add(r)
  for (const r of doc.rules ?? []) for (const p of r.principals) all.add(p)
  return [...all].sort()
}

export function accessMatrix({ doc, catalog }: StageCatalog): AccessMatrix {
  const prefixes = doc.prefixes ?? []
  const segments = prefixes.map((p) => prefixSegments(p.pattern) ?? [])
  const principals = principalsNamed(doc).map((principal) => {
    const grants = catalog.rules.grantsOfEveryMember(parsePrincipalMatcher(principal))
    return {
      principal,
      names: readableNames(catalog.declared(), grants),
      patterns: readablePatterns(segments, grants),
    }
  })
  const readersOf = new Map<string, string[]>()
  for (const p of principals)
    for (const name of p.names) readersOf.set(name, [...(readersOf.get(name) ?? []), p.principal])
  return {
    principals,
    secrets: declaredNames(doc)
      .sort()
      .map((name) => ({
        name,
        secret: catalog.lookup(name)?.secretId ?? '',
        readers: readersOf.get(name) ?? [],
      })),
    prefixes: prefixes.map((p) => ({
      pattern: p.pattern,
      secretPrefix: p.secretPrefix,
      requireTag: p.requireTag === undefined ? undefined : `${p.requireTag.key}=${p.requireTag.value}`,
      readers: principals.flatMap((x) => {
        const inside = x.patterns.filter((q) => q.startsWith(p.pattern.slice(0, -1)))
        return inside.length === 0 ? [] : [{ principal: x.principal, patterns: inside }]
      }),
    })),
  }
}
