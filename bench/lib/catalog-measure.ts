import { join } from 'node:path'
import {
  buildResources,
  compiledDocuments,
  planStack,
  templateLimitProblems,
  type StackPlan,
} from '../../infra/stack'
import { stageDeclarationsFromText, REPO_ROOT, loadStageDeclarations } from '../../infra/stage-declarations'
import {
  AUDITOR_ROLE,
  DEFAULT_SCALE,
  SCALE_ACCOUNT_ID,
  SCALE_STAGE,
  scaleStageParams,
  type ScaleOptions,
} from '../../scripts/lib/catalog-scale'
import {
  declaredNames,
  decideAccess,
  loadCatalog,
  readableNames,
  readablePatterns,
  prefixSegments,
  type Catalog,
} from '../../src/lib/secrets'
import { percentile } from './stats'

/**
 * The in-process figures of the catalog part: planning the generated stage, one authorization decision,
 * one `GET /secrets` listing, and where the line of secrets the stack itself creates lies.
 */
export interface PlanTimings {
  readonly declarationsMs: number
  readonly planMs: number
  readonly compileMs: number
  readonly catalogBytes: number
  readonly rotationBytes: number
  readonly names: number
  readonly principals: number
  readonly rules: number
  readonly prefixes: number
  readonly warnings: number
}

const since = (t: number): number => Math.round((performance.now() - t) * 10) / 10

export function planScaleStage(configFile: string): {
  plan: StackPlan
  catalogJson: string
  timings: PlanTimings
} {
  let t = performance.now()
  const decl = loadStageDeclarations(SCALE_STAGE, join(REPO_ROOT, configFile), {})
  const declarationsMs = since(t)
  t = performance.now()
  const plan = planStack(decl)
  const planMs = since(t)
  t = performance.now()
  const docs = compiledDocuments(plan)
  const compileMs = since(t)
  const catalog = loadCatalog(docs.catalogJson, SCALE_ACCOUNT_ID, SCALE_STAGE)
  const doc = catalog.document
  const principals = new Set([
    ...(doc.rules ?? []).flatMap((r) => r.principals),
    ...doc.secrets.flatMap((s) => s.readers ?? []),
  ])
  return {
    plan,
    catalogJson: docs.catalogJson,
    timings: {
      declarationsMs,
      planMs,
      compileMs,
      catalogBytes: Buffer.byteLength(docs.catalogJson),
      rotationBytes: Buffer.byteLength(docs.rotationJson),
      names: catalog.size,
      principals: principals.size,
      rules: doc.rules?.length ?? 0,
      prefixes: doc.prefixes?.length ?? 0,
      warnings: plan.warnings.length,
    },
  }
}

export interface Distribution {
  readonly samples: number
  readonly p50: number
  readonly p90: number
  readonly p99: number
  readonly p999: number
}

function distribution(values: Float64Array): Distribution {
  const sorted = Float64Array.from(values).sort()
  return {
    samples: sorted.length,
    p50: percentile(sorted, 0.5),
    p90: percentile(sorted, 0.9),
    p99: percentile(sorted, 0.99),
    p999: percentile(sorted, 0.999),
  }
}

/** A deterministic generator, so every run asks the same questions. */
function lcg(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1_664_525) + 1_013_904_223) >>> 0
    return s / 2 ** 32
  }
}

export interface DecisionFigures {
  /** Nanoseconds per decision, each timed on its own (hrtime's own cost included). */
  readonly ns: Distribution
  readonly allowedShare: number
}

/**
 * Decisions for a mix of callers (named roles, members of role families, strangers) and names (declared,
 * undeclared under a brokered prefix, unknown, outside the grammar), after a warm-up.
 */
export function measureDecisions(catalog: Catalog, samples: number): DecisionFigures {
  const doc = catalog.document
  const names = declaredNames(doc)
  const named = [...new Set((doc.rules ?? []).flatMap((r) => r.principals))].filter((p) => !p.endsWith('*'))
  const families = [...new Set((doc.rules ?? []).flatMap((r) => r.principals))].filter((p) => p.endsWith('*'))
  const random = lcg(12)
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T
  const caller = (): string => {
    const r = random()
    if (r < 0.85) return pick(named)
    if (r < 0.95 && families.length > 0)
      return `${pick(families).slice(0, -1)}ops${Math.floor(random() * 50)}`
    return `arn:aws:iam::${SCALE_ACCOUNT_ID}:role/stranger-${Math.floor(random() * 50)}`
  }
  const name = (): string => {
    const r = random()
    if (r < 0.6) return pick(names)
    if (r < 0.8)
      return `teams/t${String(Math.floor(random() * 20)).padStart(2, '0')}/svc-${Math.floor(random() * 999)}/new`
    if (r < 0.95) return `nowhere/${Math.floor(random() * 1000)}/x`
    return 'teams/t00/../t01/db'
  }
  const questions = Array.from({ length: 4096 }, () => [caller(), name()] as const)
  for (let i = 0; i < 50_000; i++) {
    const [p, n] = questions[i & 4095] as readonly [string, string]
    decideAccess(catalog, p, n)
  }
  const ns = new Float64Array(samples)
  let allowed = 0
  for (let i = 0; i < samples; i++) {
    const [p, n] = questions[i & 4095] as readonly [string, string]
    const t = process.hrtime.bigint()
    const d = decideAccess(catalog, p, n)
    ns[i] = Number(process.hrtime.bigint() - t)
    if (d.allow) allowed++
  }
  return { ns: distribution(ns), allowedShare: allowed / samples }
}

export interface ListingFigures {
  readonly principal: string
  readonly names: number
  readonly patterns: number
  /** The first listing in a container: builds the name index and the caller's grants (µs). */
  readonly firstUs: number
  /** Computing the listing and its JSON body again, without the per-container memo (µs). */
  readonly computedUs: Distribution
  /** The memoized listing and its JSON body (µs). */
  readonly memoizedUs: Distribution
}

export function measureListing(catalogJson: string, samples: number): ListingFigures {
  const firsts: number[] = []
  for (let i = 0; i < 15; i++) {
    const fresh = loadCatalog(catalogJson, SCALE_ACCOUNT_ID, SCALE_STAGE)
    const t = process.hrtime.bigint()
    JSON.stringify({
      names: fresh.namesReadableBy(AUDITOR_ROLE),
      patterns: fresh.patternsReadableBy(AUDITOR_ROLE),
    })
    firsts.push(Number(process.hrtime.bigint() - t) / 1000)
  }
  const catalog = loadCatalog(catalogJson, SCALE_ACCOUNT_ID, SCALE_STAGE)
  const grants = catalog.grantsFor(AUDITOR_ROLE)
  const segments = (catalog.document.prefixes ?? []).map((p) => prefixSegments(p.pattern) ?? [])
  const computed = new Float64Array(samples)
  const memoized = new Float64Array(samples)
  for (let i = 0; i < samples; i++) {
    let t = process.hrtime.bigint()
    JSON.stringify({
      names: readableNames(catalog.declared(), grants),
      patterns: readablePatterns(segments, grants),
    })
    computed[i] = Number(process.hrtime.bigint() - t) / 1000
    t = process.hrtime.bigint()
    JSON.stringify({
      names: catalog.namesReadableBy(AUDITOR_ROLE),
      patterns: catalog.patternsReadableBy(AUDITOR_ROLE),
    })
    memoized[i] = Number(process.hrtime.bigint() - t) / 1000
  }
  return {
    principal: AUDITOR_ROLE,
    names: catalog.namesReadableBy(AUDITOR_ROLE).length,
    patterns: catalog.patternsReadableBy(AUDITOR_ROLE).length,
    firstUs: percentile(Float64Array.from(firsts).sort(), 0.5),
    computedUs: distribution(computed),
    memoizedUs: distribution(memoized),
  }
}

export interface ManagedLine {
  /** Resources the framework adds around ours (functions, log groups, API), from the packaged template. */
  readonly frameworkResources: number
  /** The most secrets the stack can create in one stack: none rotated, and all rotated. */
  readonly unrotated: number
  readonly rotated: number
}

/** Does a stage creating `n` secrets (all rotated, or none) fit one stack? */
function fits(n: number, rotated: boolean, frameworkResources: number): boolean {
  const o: ScaleOptions = {
    ...DEFAULT_SCALE,
    names: n,
    managed: n,
    rotated: rotated ? n : 0,
    external: 0,
    teams: 2,
    principals: n + 6,
  }
  const text = JSON.stringify({ params: { [SCALE_STAGE]: scaleStageParams(o) } })
  const plan = planStack(stageDeclarationsFromText(SCALE_STAGE, text, 'line.json', {}))
  const { Resources } = buildResources(plan)
  if (Object.keys(Resources).length + frameworkResources > 500) return false
  return (
    templateLimitProblems(JSON.stringify({ Resources }), {
      region: plan.decl.params.region,
      accountId: plan.decl.params.accountId,
      secretNames: new Map(plan.managed.map((m) => [m.logicalId, m.awsName])),
    }).length === 0
  )
}

/** The largest n that fits, by bisection. */
export function managedLine(frameworkResources: number): ManagedLine {
  const line = (rotated: boolean): number => {
    let lo = 1
    let hi = 500
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2)
      if (fits(mid, rotated, frameworkResources)) lo = mid
      else hi = mid - 1
    }
    return lo
  }
  return { frameworkResources, unrotated: line(false), rotated: line(true) }
}
