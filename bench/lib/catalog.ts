import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { build } from 'esbuild'
import { buildResources, compiledDocuments, planStack, type StackPlan } from '../../infra/stack'
import { loadStageDeclarations } from '../../infra/stage-declarations'
import { policyChars, TEMPLATE_LIMITS, type LimitContext } from '../../infra/template-limits'
import { AUDITOR_ROLE, SCALE_ACCOUNT_ID, writeScaleServiceFile } from '../../scripts/lib/catalog-scale'
import { packageStage } from '../../scripts/package'
import { loadCatalog } from '../../src/lib/secrets'
import type { CatalogColdMessage } from '../drivers/catalog-cold'
import { compiledDocumentsPlugin } from '../../esbuild.config'
import { BUILD_DIR, BENCH_DIR, REPO_ROOT, deployedBuildOptions } from './build'
import { cleanEnv, runDriver } from './child'
import { apiGatewayEvent, FUNCTION_EVENTS } from './events'
import {
  managedLine,
  measureDecisions,
  measureListing,
  planScaleStage,
  type DecisionFigures,
  type ListingFigures,
  type ManagedLine,
  type PlanTimings,
} from './catalog-measure'
import { median } from './stats'

/**
 * Part `catalog`: a generated stage of 10,000 logical names and 1,000 principals (scripts/lib/catalog-scale.ts),
 * planned and packaged as a deploy would (`npm run package`, cfn-lint included), the cold start of a function
 * carrying its catalog against one carrying the dev stage's, one decision, one `GET /secrets` listing, and
 * the line of secrets one stack can create itself.
 */
export interface CatalogBenchResult {
  readonly stage: PlanTimings
  readonly packaging: {
    readonly ok: boolean
    readonly wallS: number
    readonly serverlessS: number
    readonly checksS: number
    readonly resources: number
    readonly templateBytes: number
    readonly largestPolicies: readonly {
      readonly what: string
      readonly chars: number
      readonly limit: number
    }[]
    readonly catalogInEnvironment: boolean
    readonly failure?: string
  }
  readonly line: ManagedLine
  readonly coldStart: {
    readonly samples: number
    readonly baseline: ColdFigures
    readonly scale: ColdFigures
  }
  readonly decisions: DecisionFigures
  readonly listing: ListingFigures
}

export interface ColdFigures {
  readonly label: string
  readonly bundleBytes: number
  /** Process start → bundle loaded (catalog checked and indexed), median. */
  readonly loadMs: number
  /** The bundle's `require` alone: wall and CPU time, medians. */
  readonly requireMs: number
  readonly requireCpuMs: number
  readonly firstResponseMs: number
  readonly heapUsedMb: number
  readonly rssMb: number
  readonly listed: number
}

type Template = { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> }

function largestPolicies(text: string, plan: StackPlan): CatalogBenchResult['packaging']['largestPolicies'] {
  const template = JSON.parse(text) as Template
  const ctx: LimitContext = {
    region: plan.decl.params.region,
    accountId: plan.decl.params.accountId,
    secretNames: new Map(plan.managed.map((m) => [m.logicalId, m.awsName])),
  }
  const sizes: { what: string; chars: number; limit: number }[] = []
  for (const [id, r] of Object.entries(template.Resources)) {
    if (r.Type === 'AWS::IAM::Role') {
      const policies = (r.Properties?.['Policies'] ?? []) as { PolicyDocument: unknown }[]
      const chars = policies.reduce((n, p) => n + policyChars(p.PolicyDocument, template, ctx), 0)
      sizes.push({ what: `${id} (inline)`, chars, limit: TEMPLATE_LIMITS.roleInlinePolicyChars })
    }
    if (r.Type === 'AWS::SecretsManager::ResourcePolicy')
      sizes.push({
        what: 'largest secret resource policy',
        chars: policyChars(r.Properties?.['ResourcePolicy'], template, ctx),
        limit: TEMPLATE_LIMITS.secretResourcePolicyChars,
      })
    if (r.Type === 'AWS::KMS::Key')
      sizes.push({
        what: `${id} (key policy)`,
        chars: policyChars(r.Properties?.['KeyPolicy'], template, ctx),
        limit: TEMPLATE_LIMITS.keyPolicyBytes,
      })
  }
  const secretPolicies = sizes
    .filter((s) => s.what === 'largest secret resource policy')
    .sort((a, b) => b.chars - a.chars)
  return [...sizes.filter((s) => s.what !== 'largest secret resource policy'), ...secretPolicies.slice(0, 1)]
}

async function bundleListSecrets(label: string, catalogJson: string): Promise<string> {
  const out = join(BUILD_DIR, 'catalog', `${label}.js`)
  await build({
    ...deployedBuildOptions(),
    plugins: [
      compiledDocumentsPlugin(() => ({ catalogJson, rotationJson: '{"pgSslMode":"disable","targets":[]}' })),
    ],
    metafile: false,
    entryPoints: [join(REPO_ROOT, 'src', 'handlers', 'list-secrets.ts')],
    outfile: out,
    absWorkingDir: process.cwd(),
  })
  return out
}

async function coldStarts(
  scaleJson: string,
  samples: number,
  log: (line: string) => void,
): Promise<CatalogBenchResult['coldStart']> {
  const driver = join(BUILD_DIR, 'drivers', 'catalog-cold.js')
  await build({
    ...deployedBuildOptions(),
    minify: false,
    metafile: false,
    entryPoints: [join(BENCH_DIR, 'drivers', 'catalog-cold.ts')],
    outfile: driver,
    absWorkingDir: process.cwd(),
  })
  const dev = planStack(loadStageDeclarations('dev', undefined, {}))
  const targets = [
    {
      label: `dev stage's catalog (${dev.managed.length} secrets)`,
      bundle: await bundleListSecrets('baseline', compiledDocuments(dev).catalogJson),
      account: dev.decl.params.accountId,
      caller: 'orders-service',
    },
    {
      label: 'generated 10,000-name catalog',
      bundle: await bundleListSecrets('scale', scaleJson),
      account: SCALE_ACCOUNT_ID,
      caller: AUDITOR_ROLE.split('/').at(-1) ?? 'platform-auditor',
    },
  ]
  const runs = targets.map(() => ({
    load: [] as number[],
    require: [] as number[],
    cpu: [] as number[],
    first: [] as number[],
    heap: [] as number[],
    rss: [] as number[],
    listed: 0,
  }))
  for (let round = -1; round < samples; round++) {
    for (const [i, t] of targets.entries()) {
      const event = apiGatewayEvent(
        FUNCTION_EVENTS['list-secrets'] ?? {
          method: 'GET',
          resource: '/secrets',
          path: '/secrets',
          pathParameters: null,
          body: null,
        },
        `cold-${round}`,
      )
      const identity = event.requestContext.identity as unknown as Record<string, unknown>
      identity['accountId'] = t.account
      identity['userArn'] = `arn:aws:sts::${t.account}:assumed-role/${t.caller}/bench`
      const env = cleanEnv({
        AWS_REGION: 'us-east-1',
        BROKER_STAGE: 'dev',
        BROKER_ACCOUNT_ID: t.account,
        BROKER_AUTH_MODE: 'iam',
      })
      const run = await runDriver<CatalogColdMessage>(driver, [t.bundle, JSON.stringify(event)], env, {
        execArgv: ['--expose-gc'],
      })
      if (run.message.status !== 200) throw new Error(`${t.label}: listing answered ${run.message.status}`)
      if (round < 0) continue
      const r = runs[i]
      if (r === undefined) continue
      r.load.push(run.message.loadedAtMs)
      r.require.push(run.message.requireMs)
      r.cpu.push(run.message.requireCpuMs)
      r.first.push(run.message.firstResponseAtMs)
      r.heap.push(run.message.heapUsedBytes / 2 ** 20)
      r.rss.push(run.message.rssBytes / 2 ** 20)
      r.listed = run.message.listed
    }
  }
  const figures = targets.map((t, i): ColdFigures => {
    const r = runs[i] ?? { load: [], require: [], cpu: [], first: [], heap: [], rss: [], listed: 0 }
    const f = {
      label: t.label,
      bundleBytes: readFileSync(t.bundle).length,
      loadMs: median(r.load),
      requireMs: median(r.require),
      requireCpuMs: median(r.cpu),
      firstResponseMs: median(r.first),
      heapUsedMb: median(r.heap),
      rssMb: median(r.rss),
      listed: r.listed,
    }
    log(
      `  ${f.label.padEnd(34)} bundle ${(f.bundleBytes / 1024).toFixed(0)} KB  load ${f.loadMs.toFixed(1)} ms (require ${f.requireMs.toFixed(1)} ms, ${f.requireCpuMs.toFixed(1)} ms CPU)  first listing ${f.firstResponseMs.toFixed(1)} ms (${f.listed} listed)  heap ${f.heapUsedMb.toFixed(1)} MB  rss ${f.rssMb.toFixed(1)} MB`,
    )
    return f
  })
  return { samples, baseline: figures[0] as ColdFigures, scale: figures[1] as ColdFigures }
}

export async function measureCatalog(opts: {
  coldSamples: number
  decisions: number
  log: (line: string) => void
}): Promise<CatalogBenchResult> {
  const { log } = opts
  const service = writeScaleServiceFile()
  try {
    const started = performance.now()
    const { plan, catalogJson, timings } = planScaleStage(service.file)
    log(
      `  generated stage: ${timings.names} names, ${timings.principals} principals, ${timings.rules} rules, ${timings.prefixes} brokered prefixes, ${plan.managed.length} secrets created (${plan.managed.filter((m) => m.rotation !== undefined).length} rotated); compiled catalog ${(timings.catalogBytes / 1024).toFixed(0)} KB`,
    )
    log(
      `  plan: declarations ${timings.declarationsMs} ms, plan ${timings.planMs} ms, compile ${timings.compileMs} ms; ${timings.warnings} warnings`,
    )
    const pkg = packageStage('dev', join(REPO_ROOT, '.esbuild', 'bench', 'package-catalog'), undefined, {
      configFile: service.file,
    })
    const wallS = Math.round((performance.now() - started) / 100) / 10
    const text = pkg.ok ? readFileSync(pkg.template, 'utf8') : '{"Resources":{}}'
    const template = JSON.parse(text) as Template
    const resources = Object.keys(template.Resources).length
    const catalogInEnvironment = Object.values(template.Resources).some(
      (r) =>
        r.Type === 'AWS::Lambda::Function' &&
        /CATALOG|ROTATION_JSON|"readers"/.test(JSON.stringify(r.Properties?.['Environment'] ?? {})),
    )
    const packaging: CatalogBenchResult['packaging'] = {
      ok: pkg.ok,
      wallS,
      serverlessS: pkg.timings.serverlessS,
      checksS: pkg.timings.checksS,
      resources,
      templateBytes: Buffer.byteLength(text),
      largestPolicies: pkg.ok ? largestPolicies(text, plan) : [],
      catalogInEnvironment,
      ...(pkg.ok ? {} : { failure: pkg.output.slice(-2000) }),
    }
    log(
      `  plan + package + limits + cfn-lint: ${wallS} s (${pkg.ok ? 'cfn-lint clean' : 'FAILED'}); ${resources} resources, template ${(packaging.templateBytes / 1024).toFixed(0)} KB`,
    )
    for (const p of packaging.largestPolicies) log(`    ${p.what}: ${p.chars} of ${p.limit}`)
    const line = managedLine(resources - Object.keys(buildResources(plan).Resources).length)
    log(
      `  one stack can create at most ${line.unrotated} unrotated or ${line.rotated} rotated secrets (${line.frameworkResources} resources are the framework's)`,
    )
    log(`  cold start, median of ${opts.coldSamples} fresh processes each:`)
    const coldStart = await coldStarts(catalogJson, opts.coldSamples, log)
    const decisions = measureDecisions(loadCatalog(catalogJson, SCALE_ACCOUNT_ID, 'dev'), opts.decisions)
    log(
      `  decision: p50 ${(decisions.ns.p50 / 1000).toFixed(2)} µs, p99 ${(decisions.ns.p99 / 1000).toFixed(2)} µs, p99.9 ${(decisions.ns.p999 / 1000).toFixed(2)} µs over ${decisions.ns.samples} (${(decisions.allowedShare * 100).toFixed(0)}% allowed)`,
    )
    const listing = measureListing(catalogJson, 500)
    log(
      `  GET /secrets for ${listing.names} names: computed p50 ${listing.computedUs.p50.toFixed(0)} µs, p99 ${listing.computedUs.p99.toFixed(0)} µs; first in a container ${listing.firstUs.toFixed(0)} µs; memoized p50 ${listing.memoizedUs.p50.toFixed(0)} µs`,
    )
    return { stage: timings, packaging, line, coldStart, decisions, listing }
  } finally {
    service.remove()
  }
}
