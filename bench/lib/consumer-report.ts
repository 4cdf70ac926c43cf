import type { ConsumerResult } from './consumer'
import type { Goal } from './report'

/** Part 6's goals and its section of latest.md. */
export function consumerGoals(c: ConsumerResult): Goal[] {
  const goals: Goal[] = []
  const client = c.cacheHit.find((x) => x.id === 'client')
  const pt = c.cacheHit.find((x) => x.id === 'powertools')
  if (client !== undefined && pt !== undefined) {
    goals.push({
      goal: 'client cache-hit p50 no slower than Powertools getSecret',
      met: client.summary.p50 <= pt.summary.p50,
      detail: `${us(client.summary.p50)} vs ${us(pt.summary.p50)} (${(client.summary.p50 / pt.summary.p50).toFixed(2)}×)`,
    })
  }
  const ratio = c.agent.agent.p50 / c.agent.floor.p50
  goals.push({
    goal: 'agent cache-hit p50 over loopback HTTP ≤ 2× a bare Node HTTP server',
    met: ratio <= 2,
    detail: `${us(c.agent.agent.p50)} vs ${us(c.agent.floor.p50)} = ${ratio.toFixed(2)}×`,
  })
  return goals
}

export function renderConsumer(
  c: ConsumerResult,
  table: (h: string[], rows: (string | number)[][]) => string,
): string[] {
  const p = c.package
  const ratio = (a: number, b: number): string => `${(a / b).toFixed(2)}×`
  return [
    '## 6. Consumers: the client package as installed, and the agent over loopback HTTP',
    '',
    `The package packed with \`npm pack\` and installed into a temp project. Tarball ${kb(p.tarballBytes)}.`,
    '',
    table(
      ['bundle (esbuild, minified)', 'minified', 'gzipped'],
      [
        [
          'the package’s own code (contract, zod/mini, jsonc-parser bundled)',
          kb(p.ownBytes),
          kb(p.ownGzipBytes),
        ],
        ['with its two dependencies (SigV4 signer, credential chain)', kb(p.fullBytes), kb(p.fullGzipBytes)],
      ],
    ),
    '',
    `Largest contributors with dependencies: ${p.topInputs.map((t) => `${t.module} ${kb(t.bytes)}`).join(', ')}.`,
    '',
    `Cold import in a fresh \`node\` (median of ${c.samples}):`,
    '',
    table(
      ['module', 'import ms', 'process start → loaded ms'],
      c.coldImport.map((x) => [x.label, x.importMs.toFixed(1), x.loadedAtMs.toFixed(1)]),
    ),
    '',
    'In-process cost of a cache hit (warm entry, sequential calls):',
    '',
    table(
      ['call', 'p50', 'p90', 'p99', 'max', 'p50 ÷ Powertools'],
      c.cacheHit.map((x) => {
        const pt = c.cacheHit.find((y) => y.id === 'powertools')
        return [
          x.label,
          us(x.summary.p50),
          us(x.summary.p90),
          us(x.summary.p99),
          us(x.summary.max),
          pt === undefined ? '' : ratio(x.summary.p50, pt.summary.p50),
        ]
      }),
    ),
    '',
    `The agent (\`secret-broker agent\` from the install) serving a cached secret over loopback HTTP, against a bare Node HTTP server answering the same bytes: ${c.agent.requests} sequential requests on one keep-alive connection, then throughput with autocannon, ${c.agent.throughputConnections} connections for ${c.agent.throughputSeconds} s each. The Secrets Manager Agent publishes no latency figures to compare with.`,
    '',
    table(
      ['server', 'p50', 'p90', 'p99', 'max', 'p50 ÷ floor', 'req/s'],
      [
        [
          'agent, cache hit',
          us(c.agent.agent.p50),
          us(c.agent.agent.p90),
          us(c.agent.agent.p99),
          us(c.agent.agent.max),
          ratio(c.agent.agent.p50, c.agent.floor.p50),
          c.agent.agentRps.toFixed(0),
        ],
        [
          'floor: bare Node HTTP, constant body',
          us(c.agent.floor.p50),
          us(c.agent.floor.p90),
          us(c.agent.floor.p99),
          us(c.agent.floor.max),
          '1.00×',
          c.agent.floorRps.toFixed(0),
        ],
      ],
    ),
    '',
  ]
}

function kb(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KB`
}

function us(v: number): string {
  return v >= 1000 ? `${(v / 1000).toFixed(2)} ms` : `${v.toFixed(1)} µs`
}
