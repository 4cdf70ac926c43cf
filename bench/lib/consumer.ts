import { fork, type ChildProcess } from 'node:child_process'
import { readFileSync, statSync } from 'node:fs'
import { createServer, request, Agent, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { createRequire } from 'node:module'
import { gzipSync } from 'node:zlib'
import autocannon from 'autocannon'
import { build } from 'esbuild'
import type { CacheHitMessage } from '../drivers/consumer-cache-hit'
import type { ImportMessage } from '../drivers/consumer-import'
import { installPackedClient, type InstalledClient } from '../../scripts/lib/client-package'
import { freePort, waitFor } from '../../scripts/lib/ports'
import { startProcess } from '../../scripts/lib/processes'
import { BUILD_DIR, REPO_ROOT, type BuildOutput } from './build'
import { cleanEnv, runDriver } from './child'
import { BENCH_SECRET_NAME, BENCH_SECRET_VALUE } from './events'
import { median, summarise, type LatencySummary } from './stats'
import { peerEnv, type Upstream } from './targets'

/**
 * Part 6: the consumer side. The client package exactly as a service installs it (npm pack, npm install
 * into a temp project): its minified size, its cold import time, and the in-process cost of a cache hit
 * against Powertools' getSecret; then the agent from that install, over loopback HTTP, against a bare Node
 * HTTP server answering the same bytes (the floor). The Secrets Manager Agent publishes no latency figures
 * (its repository has a cache-hit criterion bench and no numbers), so the floor is the reference.
 */
export interface ConsumerResult {
  readonly package: {
    readonly tarballBytes: number
    /** The package's own code (contract, zod/mini, jsonc-parser bundled), its two dependencies left out. */
    readonly ownBytes: number
    readonly ownGzipBytes: number
    /** Everything a bundling service ships: with the SigV4 signer and the credential chain. */
    readonly fullBytes: number
    readonly fullGzipBytes: number
    readonly topInputs: readonly { readonly module: string; readonly bytes: number }[]
  }
  readonly coldImport: readonly {
    readonly label: string
    readonly importMs: number
    readonly loadedAtMs: number
  }[]
  readonly samples: number
  readonly cacheHit: readonly {
    readonly id: 'client' | 'powertools'
    readonly label: string
    readonly summary: LatencySummary
  }[]
  readonly agent: {
    readonly requests: number
    readonly agent: LatencySummary
    readonly floor: LatencySummary
    readonly throughputConnections: number
    readonly throughputSeconds: number
    readonly agentRps: number
    readonly floorRps: number
  }
}

const DEPENDENCIES = ['@smithy/signature-v4', '@aws-sdk/credential-provider-node']

export async function measureConsumer(
  built: BuildOutput,
  upstream: Upstream,
  opts: {
    samples: number
    iterations: number
    warmup: number
    log: (line: string) => void
  },
): Promise<ConsumerResult> {
  const pkg = await installPackedClient()
  try {
    const sizes = await packageSizes(pkg)
    opts.log(
      `  package: tarball ${kb(sizes.tarballBytes)}, own code ${kb(sizes.ownBytes)} min (${kb(sizes.ownGzipBytes)} gz), with its dependencies ${kb(sizes.fullBytes)} min (${kb(sizes.fullGzipBytes)} gz)`,
    )
    const coldImport = await coldImports(pkg, built.drivers['consumer-import'], opts.samples)
    for (const c of coldImport)
      opts.log(
        `  ${c.label.padEnd(44)} import ${c.importMs.toFixed(1)} ms, process start → loaded ${c.loadedAtMs.toFixed(1)} ms`,
      )
    const cacheHit = []
    for (const [id, label, env, extra] of [
      [
        'client',
        '@secret-broker/client getSecret (TTL 300 s)',
        cleanEnv({}),
        [join(pkg.packageDir, 'dist', 'index.mjs')],
      ],
      ['powertools', 'Powertools getSecret (maxAge 300 s)', peerEnv(upstream), []],
    ] as const) {
      const run = await runDriver<CacheHitMessage>(
        built.drivers['consumer-cache-hit'],
        [id, String(opts.iterations), String(opts.warmup), ...extra],
        env,
      )
      cacheHit.push({ id, label, summary: run.message.summary })
      opts.log(
        `  ${label.padEnd(44)} p50 ${fmtUs(run.message.summary.p50)}  p99 ${fmtUs(run.message.summary.p99)}`,
      )
    }
    const agent = await agentOverHttp(pkg, built.drivers['http-floor'], opts)
    return { package: sizes, coldImport, samples: opts.samples, cacheHit, agent }
  } finally {
    pkg.remove()
  }
}

async function packageSizes(pkg: InstalledClient): Promise<ConsumerResult['package']> {
  const entry = join(pkg.packageDir, 'dist', 'index.mjs')
  const one = async (name: string, external: string[]) => {
    const outfile = join(BUILD_DIR, 'consumer', `${name}.mjs`)
    const result = await build({
      entryPoints: [entry],
      outfile,
      bundle: true,
      minify: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      mainFields: ['module', 'main'],
      external,
      metafile: true,
      logLevel: 'error',
    })
    const bytes = readFileSync(outfile)
    const inputs = new Map<string, number>()
    for (const output of Object.values(result.metafile.outputs))
      for (const [path, input] of Object.entries(output.inputs)) {
        const nm = path.lastIndexOf('node_modules/')
        const rest = nm === -1 ? ['(package)'] : path.slice(nm + 'node_modules/'.length).split('/')
        const module = rest[0]?.startsWith('@') === true ? `${rest[0]}/${rest[1] ?? ''}` : (rest[0] ?? path)
        inputs.set(module, (inputs.get(module) ?? 0) + input.bytesInOutput)
      }
    return { bytes: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length, inputs }
  }
  const own = await one('client-own', DEPENDENCIES)
  const full = await one('client-full', [])
  return {
    tarballBytes: statSync(pkg.tarball).size,
    ownBytes: own.bytes,
    ownGzipBytes: own.gzip,
    fullBytes: full.bytes,
    fullGzipBytes: full.gzip,
    topInputs: [...full.inputs.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 6)
      .map(([module, bytes]) => ({ module, bytes })),
  }
}

async function coldImports(
  pkg: InstalledClient,
  driver: string,
  samples: number,
): Promise<ConsumerResult['coldImport']> {
  const targets = [
    {
      label: '@secret-broker/client, import (ESM)',
      file: join(pkg.packageDir, 'dist', 'index.mjs'),
      kind: 'esm',
    },
    {
      label: '@secret-broker/client, require (CommonJS)',
      file: join(pkg.packageDir, 'dist', 'index.js'),
      kind: 'cjs',
    },
    {
      label: 'reference: Powertools parameters/secrets, require',
      file: createRequire(join(REPO_ROOT, 'package.json')).resolve(
        '@aws-lambda-powertools/parameters/secrets',
      ),
      kind: 'cjs',
    },
  ]
  const runs = targets.map(() => ({ importMs: [] as number[], loadedAtMs: [] as number[] }))
  // One unmeasured round first (the OS file cache), then round-robin so machine noise spreads evenly.
  for (let round = -1; round < samples; round++) {
    for (const [i, t] of targets.entries()) {
      const run = await runDriver<ImportMessage>(driver, [t.file, t.kind], cleanEnv({}))
      if (round < 0) continue
      runs[i]?.importMs.push(run.message.importMs)
      runs[i]?.loadedAtMs.push(run.message.loadedAtMs)
    }
  }
  return targets.map((t, i) => ({
    label: t.label,
    importMs: median(runs[i]?.importMs ?? []),
    loadedAtMs: median(runs[i]?.loadedAtMs ?? []),
  }))
}

const TOKEN = 'bench-agent-token'

async function agentOverHttp(
  pkg: InstalledClient,
  floorDriver: string,
  opts: { iterations: number; warmup: number; log: (line: string) => void },
): Promise<ConsumerResult['agent']> {
  const served = JSON.stringify({
    name: BENCH_SECRET_NAME,
    versionId: 'v1',
    createdDate: '2026-11-01T00:00:00.000Z',
    value: BENCH_SECRET_VALUE,
  })
  const broker: Server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', etag: '"v1"', 'x-broker-cache': 'miss' })
    res.end(served)
  })
  await new Promise<void>((resolve) => broker.listen(0, '127.0.0.1', resolve))
  const port = await freePort()
  const agent = startProcess(process.execPath, [pkg.bin, 'agent', '--port', String(port)], {
    cwd: pkg.projectDir,
    env: cleanEnv({
      SECRET_BROKER_ENDPOINT: `http://127.0.0.1:${(broker.address() as AddressInfo).port}`,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'AKIDBENCHAGENT000000',
      AWS_SECRET_ACCESS_KEY: 'bench-agent',
      AWS_TOKEN: TOKEN,
    }),
    logFile: join(pkg.projectDir, 'agent.log'),
  })
  let floor: ChildProcess | undefined
  try {
    const agentUrl = `http://127.0.0.1:${port}/secretsmanager/get?secretId=${BENCH_SECRET_NAME}`
    await waitFor(
      async () =>
        (await fetch(agentUrl, { headers: { 'X-Aws-Parameters-Secrets-Token': TOKEN } })).status === 200,
      {
        timeoutMs: 30_000,
        what: `the agent (log: ${agent.logFile})`,
      },
    )
    const body = await (
      await fetch(agentUrl, { headers: { 'X-Aws-Parameters-Secrets-Token': TOKEN } })
    ).text()
    const started = fork(floorDriver, [body], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
    floor = started
    const floorPort = await new Promise<number>((resolve) =>
      started.once('message', (m: { port: number }) => resolve(m.port)),
    )
    const floorUrl = `http://127.0.0.1:${floorPort}/secretsmanager/get?secretId=${BENCH_SECRET_NAME}`
    const headers = { 'X-Aws-Parameters-Secrets-Token': TOKEN }
    const requests = Math.max(1, Math.floor(opts.iterations / 4))
    const agentLatency = await sequential(agentUrl, headers, requests, opts.warmup)
    const floorLatency = await sequential(floorUrl, headers, requests, opts.warmup)
    const connections = 8
    const agentRps = await throughput(agentUrl, headers, THROUGHPUT_SECONDS, connections)
    const floorRps = await throughput(floorUrl, headers, THROUGHPUT_SECONDS, connections)
    opts.log(
      `  agent, cache hit over loopback HTTP (1 keep-alive connection)  p50 ${fmtUs(agentLatency.p50)}  p99 ${fmtUs(agentLatency.p99)}; floor p50 ${fmtUs(floorLatency.p50)}: ${(agentLatency.p50 / floorLatency.p50).toFixed(2)}×; ${agentRps.toFixed(0)} vs ${floorRps.toFixed(0)} req/s at ${connections} connections`,
    )
    return {
      requests,
      throughputSeconds: THROUGHPUT_SECONDS,
      agent: agentLatency,
      floor: floorLatency,
      throughputConnections: connections,
      agentRps,
      floorRps,
    }
  } finally {
    floor?.kill('SIGTERM')
    await agent.stop()
    await new Promise<void>((resolve) => broker.close(() => resolve()))
  }
}

/** One keep-alive connection, one request at a time: each request's time from send to the body's end. */
async function sequential(
  url: string,
  headers: Record<string, string>,
  n: number,
  warmup: number,
): Promise<LatencySummary> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  const once = (): Promise<number> =>
    new Promise((resolve, reject) => {
      const req = request(url, { agent, headers }, (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode ?? 0))
      })
      req.on('error', reject)
      req.end()
    })
  let errors = 0
  for (let i = 0; i < warmup; i++) if ((await once()) !== 200) errors++
  const samples = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint()
    if ((await once()) !== 200) errors++
    samples[i] = Number(process.hrtime.bigint() - t0) / 1000
  }
  agent.destroy()
  return summarise(samples, errors)
}

/** Seconds of load per server: a fixed time, since autocannon's run duration is too coarse for a small count. */
const THROUGHPUT_SECONDS = 3

async function throughput(
  url: string,
  headers: Record<string, string>,
  seconds: number,
  connections: number,
): Promise<number> {
  const result = await autocannon({ url, duration: seconds, connections, headers, timeout: 30 })
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`)
  return result.requests.total / Math.max(0.001, result.duration)
}

function kb(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KB`
}

function fmtUs(us: number): string {
  return us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(1)} µs`
}
