import type { CatalogBenchResult } from './catalog'

/** The catalog part's goals (issue 12) and its section of latest.md. */
export interface CatalogGoal {
  readonly goal: string
  readonly met: boolean
  readonly detail: string
}

export function catalogGoals(c: CatalogBenchResult): CatalogGoal[] {
  const p = c.packaging
  const { baseline, scale } = c.coldStart
  // CPU time of the bundle's require: what loading costs, without the waits for a core that inflate wall
  // time on a shared machine (and counting the engine's helper threads, so it does not flatter).
  const overheadMs = scale.requireCpuMs - baseline.requireCpuMs
  const overheadWallMs = scale.requireMs - baseline.requireMs
  const overheadMb = scale.heapUsedMb - baseline.heapUsedMb
  const us = (ns: number): string => `${(ns / 1000).toFixed(2)} µs`
  return [
    {
      goal: 'catalog: 10,000-name stage planned and packaged (cfn-lint clean) in ≤ 60 s',
      met: p.ok && p.wallS <= 60,
      detail: `${p.wallS} s${p.ok ? '' : ' (packaging failed)'}`,
    },
    {
      goal: "catalog: template inside CloudFormation's limits (≤ 500 resources, ≤ 1 MB, every policy in its limit)",
      met:
        p.ok &&
        p.resources <= 500 &&
        p.templateBytes <= 1_048_576 &&
        p.largestPolicies.every((x) => x.chars <= x.limit),
      detail: `${p.resources} resources, ${(p.templateBytes / 1024).toFixed(0)} KB, largest policy ${Math.max(0, ...p.largestPolicies.map((x) => Math.round((x.chars / x.limit) * 100)))}% of its limit`,
    },
    {
      goal: 'catalog: no catalog bytes in any function environment',
      met: p.ok && !p.catalogInEnvironment,
      detail: p.catalogInEnvironment ? 'found in an environment' : 'none',
    },
    {
      goal: "catalog: cold-start overhead of loading it ≤ 10 ms over the dev stage's",
      met: overheadMs <= 10,
      detail: `${overheadMs.toFixed(1)} ms CPU (${scale.requireCpuMs.toFixed(1)} vs ${baseline.requireCpuMs.toFixed(1)} ms); wall ${overheadWallMs.toFixed(1)} ms (${scale.requireMs.toFixed(1)} vs ${baseline.requireMs.toFixed(1)} ms), medians`,
    },
    {
      goal: 'catalog: ≤ 30 MB more memory',
      met: overheadMb <= 30,
      detail: `${overheadMb.toFixed(1)} MB heap (rss ${(scale.rssMb - baseline.rssMb).toFixed(1)} MB)`,
    },
    {
      goal: 'catalog: decision p50 ≤ 1 µs, p99 ≤ 5 µs at 10,000 names',
      met: c.decisions.ns.p50 <= 1000 && c.decisions.ns.p99 <= 5000,
      detail: `p50 ${us(c.decisions.ns.p50)}, p99 ${us(c.decisions.ns.p99)}`,
    },
    {
      goal: `catalog: GET /secrets for ${c.listing.names} declared names ≤ 1 ms in-process`,
      met: c.listing.computedUs.p50 <= 1000,
      detail: `computed p50 ${c.listing.computedUs.p50.toFixed(0)} µs (p99 ${c.listing.computedUs.p99.toFixed(0)} µs); memoized p50 ${c.listing.memoizedUs.p50.toFixed(0)} µs`,
    },
  ]
}

export function renderCatalogMarkdown(c: CatalogBenchResult): string[] {
  const s = c.stage
  const p = c.packaging
  const row = (cells: (string | number)[]): string => `| ${cells.join(' | ')} |`
  const cold = [c.coldStart.baseline, c.coldStart.scale]
  const d = c.decisions.ns
  return [
    '## 6. The catalog at organization scale',
    '',
    `A generated stage (scripts/lib/catalog-scale.ts): ${s.names.toLocaleString('en-US')} declared names, ${s.principals.toLocaleString('en-US')} principals, ${s.rules} rules (exact, \`+\`, trailing \`*\`, role families, denies), ${s.prefixes} brokered prefixes; compiled catalog ${(s.catalogBytes / 1024).toFixed(0)} KB, bundled with the functions.`,
    '',
    row(['step', 'figure']),
    row(['---', '---:']),
    row(['declarations read (JSON service file)', `${s.declarationsMs} ms`]),
    row(['plan (every check)', `${s.planMs} ms`]),
    row(['compile the documents', `${s.compileMs} ms`]),
    row(['plan + `npm run package` + limit checks + cfn-lint', `${p.wallS} s`]),
    row(['resources in the template', p.resources]),
    row(['template body', `${(p.templateBytes / 1024).toFixed(0)} KB`]),
    ...p.largestPolicies.map((x) => row([x.what, `${x.chars} of ${x.limit}`])),
    row([
      'secrets one stack can create (none rotated / all rotated)',
      `${c.line.unrotated} / ${c.line.rotated}`,
    ]),
    '',
    `Cold start of \`list-secrets\` (fresh \`node\`, median of ${c.coldStart.samples}; "load" ends when the bundle, catalog checked and indexed, is loaded; memory after a full GC):`,
    '',
    row([
      'catalog',
      'bundle',
      'require ms',
      'require CPU ms',
      'load ms',
      'first listing ms',
      'listed',
      'heap MB',
      'rss MB',
    ]),
    row(['---', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:']),
    ...cold.map((x) =>
      row([
        x.label,
        `${(x.bundleBytes / 1024).toFixed(0)} KB`,
        x.requireMs.toFixed(1),
        x.requireCpuMs.toFixed(1),
        x.loadMs.toFixed(1),
        x.firstResponseMs.toFixed(1),
        x.listed,
        x.heapUsedMb.toFixed(1),
        x.rssMb.toFixed(1),
      ]),
    ),
    '',
    `One decision (\`decideAccess\`, in-process, each timed alone, hrtime included), ${d.samples.toLocaleString('en-US')} samples over named roles, family members and strangers and declared, prefixed, unknown and malformed names (${(c.decisions.allowedShare * 100).toFixed(0)}% allowed): p50 ${(d.p50 / 1000).toFixed(2)} µs, p90 ${(d.p90 / 1000).toFixed(2)} µs, p99 ${(d.p99 / 1000).toFixed(2)} µs, p99.9 ${(d.p999 / 1000).toFixed(2)} µs.`,
    '',
    `\`GET /secrets\` for a principal that may read ${c.listing.names} declared names (and ${c.listing.patterns} prefix patterns), names and JSON body: computed p50 ${c.listing.computedUs.p50.toFixed(0)} µs, p99 ${c.listing.computedUs.p99.toFixed(0)} µs; the first in a container (builds the sorted name index) ${c.listing.firstUs.toFixed(0)} µs; memoized p50 ${c.listing.memoizedUs.p50.toFixed(0)} µs.`,
    '',
  ]
}
