import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, freemem, platform, release, totalmem } from 'node:os'
import { join, relative } from 'node:path'
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import { MOTO_CREDENTIALS, startMoto, type MotoServer } from '../scripts/lib/moto'
import { buildAll, BENCH_DIR, BUILD_DIR, REPO_ROOT } from './lib/build'
import { measureCatalog } from './lib/catalog'
import { measureColdStart } from './lib/cold-start'
import { measureConsumer } from './lib/consumer'
import { BENCH_REGION, BENCH_REGISTER_TABLE, BENCH_SECRET_NAME, BENCH_SECRET_VALUE } from './lib/events'
import { measureHttpLoad } from './lib/http-load'
import { measureLatency } from './lib/latency'
import { evaluateGoals, renderMarkdown, type BenchReport } from './lib/report'
import { measureRotation } from './lib/rotation'
import { latencySvg } from './lib/svg'
import type { Upstream } from './lib/targets'
import { measureUpstreamCalls } from './lib/upstream-calls'
import { quietToolEnv } from '../scripts/lib/tool-env'

/**
 * `npm run bench`: every figure of docs/PERFORMANCE.md in one run, against moto on loopback, written to
 * bench/results/latest.{md,json} and latency.svg. Figures only: nothing here passes or fails on a number;
 * the goals are evaluated and reported.
 *
 * Knobs (env): BENCH_ITERATIONS (20000), BENCH_WARMUP (2000), BENCH_COLD_SAMPLES (15), BENCH_HTTP_REQUESTS
 * (2000), BENCH_DECISIONS (200000), BENCH_PARTS (comma list of latency,calls,cold,client,http,rotation,catalog;
 * all by default; a partial run writes
 * to .esbuild/bench/results instead of bench/results),
 * BENCH_CPU_PROFILE=1 (write .cpuprofile files of the latency children to .esbuild/bench/profiles).
 */
const RESULTS_DIR = join(BENCH_DIR, 'results')
const ALL_PARTS = ['latency', 'calls', 'cold', 'client', 'http', 'rotation', 'catalog']

function intFromEnv(key: string, fallback: number, min: number): number {
  const raw = process.env[key]
  if (raw === undefined || raw === '') return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < min) throw new Error(`${key} must be an integer ≥ ${min}`)
  return n
}

function log(line: string): void {
  process.stdout.write(`${line}\n`)
}

function gitCommit(): { commit: string; dirty: boolean } {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim()
    const status = execFileSync('git', ['status', '--porcelain'], { cwd: REPO_ROOT, encoding: 'utf8' })
    return { commit, dirty: status.trim() !== '' }
  } catch {
    return { commit: 'unknown', dirty: true }
  }
}

function machine(): BenchReport['machine'] {
  const c = cpus()
  return {
    cpuModel: c[0]?.model ?? 'unknown',
    cpuCount: c.length,
    totalMemGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    freeMemGiB: Math.round((freemem() / 2 ** 30) * 10) / 10,
    os: `${platform()} ${release()}`,
    node: process.version,
    arch: process.arch,
  }
}

async function createBenchSecret(moto: MotoServer): Promise<Upstream> {
  const sm = new SecretsManagerClient({
    region: BENCH_REGION,
    endpoint: moto.endpoint,
    credentials: MOTO_CREDENTIALS,
  })
  // The invalidation register the broker reads (empty: nothing moves in the latency and cold-start parts).
  const db = new DynamoDBClient({
    region: BENCH_REGION,
    endpoint: moto.endpoint,
    credentials: MOTO_CREDENTIALS,
  })
  try {
    await db.send(
      new CreateTableCommand({
        TableName: BENCH_REGISTER_TABLE,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      }),
    )
    const out = await sm.send(
      new CreateSecretCommand({ Name: BENCH_SECRET_NAME, SecretString: JSON.stringify(BENCH_SECRET_VALUE) }),
    )
    if (out.ARN === undefined) throw new Error('moto returned no ARN')
    return { endpoint: moto.endpoint, secretArn: out.ARN }
  } finally {
    sm.destroy()
    db.destroy()
  }
}

async function main(): Promise<void> {
  const started = Date.now()
  // This process's own SDK client (creating the secret) would otherwise warn on every run below Node 22.
  quietToolEnv()
  const settings = {
    iterations: intFromEnv('BENCH_ITERATIONS', 20_000, 1),
    warmup: intFromEnv('BENCH_WARMUP', 2_000, 1),
    coldSamples: intFromEnv('BENCH_COLD_SAMPLES', 15, 1),
    httpRequests: intFromEnv('BENCH_HTTP_REQUESTS', 2_000, 1),
    httpConnections: intFromEnv('BENCH_HTTP_CONNECTIONS', 8, 1),
    decisions: intFromEnv('BENCH_DECISIONS', 200_000, 1),
  }
  const parts = new Set((process.env['BENCH_PARTS'] ?? ALL_PARTS.join(',')).split(',').map((p) => p.trim()))
  // A partial run never overwrites the published results: it writes next to the build instead.
  const outDir = ALL_PARTS.every((p) => parts.has(p)) ? RESULTS_DIR : join(BUILD_DIR, 'results')
  const cpuProfile = process.env['BENCH_CPU_PROFILE'] === '1'

  log(`secret-broker benchmark · node ${process.version} · ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`)
  log('building bundles with esbuild.config.ts options …')
  const build = await buildAll()
  const report: BenchReport = {
    generatedAt: new Date().toISOString(),
    machine: machine(),
    git: gitCommit(),
    settings,
    bundles: { functions: Object.values(build.functions), peers: Object.values(build.peers) },
    latency: undefined,
    calls: undefined,
    coldStart: undefined,
    http: undefined,
    rotation: undefined,
    consumer: undefined,
    goals: [],
    durationS: 0,
  }

  const moto = await startMoto()
  try {
    const upstream = await createBenchSecret(moto)
    if (parts.has('latency')) {
      log(
        `\n1. cache-hit latency, in-process: ${settings.iterations} invocations each after ${settings.warmup} warm-up`,
      )
      report.latency = await measureLatency(build, upstream, {
        iterations: settings.iterations,
        warmup: settings.warmup,
        cpuProfile,
        log,
      })
    }
    if (parts.has('calls')) {
      log('\n2. upstream calls per container, one simulated hour at 10 req/s, one rotation at 33:07.65')
      report.calls = await measureUpstreamCalls(build, upstream, log)
    }
    if (parts.has('cold')) {
      log(
        `\n3. bundles and cold start (fresh node process → first response, median of ${settings.coldSamples})`,
      )
      report.coldStart = await measureColdStart(build, upstream, { samples: settings.coldSamples, log })
    }
    if (parts.has('client')) {
      log(
        `\n6. consumers: the client package as installed (size, cold import, cache hit) and the agent over loopback HTTP`,
      )
      report.consumer = await measureConsumer(build, upstream, {
        samples: settings.coldSamples,
        iterations: settings.iterations,
        warmup: settings.warmup,
        log,
      })
    }
  } finally {
    await moto.stop()
  }
  if (parts.has('http')) {
    log(
      `\n4. over HTTP: autocannon, ${settings.httpRequests} requests per route, ${settings.httpConnections} connections, serverless-offline + moto`,
    )
    try {
      report.http = await measureHttpLoad({
        requests: settings.httpRequests,
        connections: settings.httpConnections,
        log,
      })
    } catch (err) {
      report.http = { notMeasured: describe(err) }
      log(`  not measured: ${describe(err)}`)
    }
  }
  if (parts.has('rotation')) {
    log('\n5. rotation wall time per strategy (moto + private PostgreSQL, MariaDB and Redis)')
    report.rotation = await measureRotation(log)
  }

  if (parts.has('catalog')) {
    log('\n6. the catalog at organization scale: a generated 10,000-name, 1,000-principal stage')
    report.catalog = await measureCatalog({
      coldSamples: settings.coldSamples,
      decisions: settings.decisions,
      log,
    })
  }

  report.goals = evaluateGoals(report)
  report.durationS = Math.round((Date.now() - started) / 100) / 10
  mkdirSync(outDir, { recursive: true })
  writeFileSync(join(outDir, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`)
  if (report.latency !== undefined) {
    writeFileSync(
      join(outDir, 'latency.svg'),
      latencySvg(
        report.latency.map((l) => ({ label: l.label, summary: l.summary })),
        `Cache-hit latency per invocation, in-process (${settings.iterations} calls each, ${report.machine.node})`,
      ),
    )
  }
  const markdown = renderMarkdown(report)
  writeFileSync(join(outDir, 'latest.md'), markdown)
  log('\ngoals')
  for (const g of report.goals) log(`  ${g.met ? 'met   ' : 'MISSED'} ${g.goal}: ${g.detail}`)
  log(
    `\nwrote ${relative(REPO_ROOT, outDir)}/latest.md, latest.json${report.latency === undefined ? '' : ', latency.svg'} in ${report.durationS} s`,
  )
}

function describe(err: unknown): string {
  return err instanceof Error ? (err.message.split('\n')[0] ?? err.name) : String(err)
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  process.exitCode = 1
})
