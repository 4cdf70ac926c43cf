import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { pathToFileURL } from 'node:url'
import { getSecret } from '@aws-lambda-powertools/parameters/secrets'
import type * as ClientModule from '../../packages/client/src'
import { BENCH_SECRET_NAME, BENCH_SECRET_VALUE } from '../lib/events'
import { summarise, type LatencySummary } from '../lib/stats'

/**
 * Child process: what one cache hit costs a consumer in-process, after warm-up. `client`: getSecret of the
 * installed client package (its ESM build) on a warm entry, its broker a loopback server that answers the
 * first request (a cache hit sends none). `powertools`: Powertools' getSecret (maxAge 300 s, JSON transform)
 * on a warm entry, against moto. argv: <client|powertools> <iterations> <warmup> [<client module file>]
 */
export interface CacheHitMessage {
  readonly kind: 'cache-hit'
  readonly summary: LatencySummary
}

const SERVED = JSON.stringify({
  name: BENCH_SECRET_NAME,
  versionId: 'v1',
  createdDate: '2026-11-01T00:00:00.000Z',
  value: BENCH_SECRET_VALUE,
})

async function clientRead(moduleFile: string): Promise<() => Promise<unknown>> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', etag: '"v1"', 'x-broker-cache': 'miss' })
    res.end(SERVED)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const mod = (await import(pathToFileURL(moduleFile).href)) as typeof ClientModule
  const client = mod.createBrokerClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDBENCHCONSUMER000', secretAccessKey: 'bench-consumer' },
    ttlMs: 300_000,
  })
  return () => client.getSecret(BENCH_SECRET_NAME)
}

function powertoolsRead(): () => Promise<unknown> {
  const id = process.env['BENCH_SECRET_ID'] as string
  return () => getSecret(id, { transform: 'json', maxAge: 300 })
}

async function main(): Promise<void> {
  const [mode, iterationsArg, warmupArg, moduleFile] = process.argv.slice(2)
  const read =
    mode === 'client' && moduleFile !== undefined
      ? await clientRead(moduleFile)
      : mode === 'powertools'
        ? powertoolsRead()
        : undefined
  if (read === undefined)
    throw new Error('usage: consumer-cache-hit <client|powertools> <n> <warmup> [module]')
  let errors = 0
  for (let i = 0; i < Number(warmupArg); i++) if ((await read()) === undefined) errors++
  const samples = new Float64Array(Number(iterationsArg))
  for (let i = 0; i < samples.length; i++) {
    const t0 = process.hrtime.bigint()
    const v = await read()
    samples[i] = Number(process.hrtime.bigint() - t0) / 1000
    if (v === undefined) errors++
  }
  const message: CacheHitMessage = { kind: 'cache-hit', summary: summarise(samples, errors) }
  process.send?.(message, () => process.exit(0))
}

main().catch((err: unknown) => {
  process.stderr.write(
    `consumer-cache-hit driver: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  )
  process.exit(1)
})
