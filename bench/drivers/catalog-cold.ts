import { createRequire } from 'node:module'
import { performance } from 'node:perf_hooks'
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda'
import { lambdaContext } from '../lib/events'

/**
 * Child process, one per sample, for the catalog part: a fresh `node --expose-gc` loads one bundle (which
 * loads and checks its bundled catalog at module load, as a Lambda Init does), reports the time and the
 * memory it then holds, and answers one request. argv: <bundle.js> <event JSON>
 */
type Handler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>

export interface CatalogColdMessage {
  readonly kind: 'catalog-cold'
  /** ms since the process started when the bundle had loaded (catalog checked and indexed). */
  readonly loadedAtMs: number
  /** Wall ms and CPU ms (this process's threads) spent in `require` of the bundle alone. */
  readonly requireMs: number
  readonly requireCpuMs: number
  readonly firstResponseAtMs: number
  readonly status: number
  /** After a full GC, once loaded. */
  readonly heapUsedBytes: number
  readonly rssBytes: number
  /** Names and patterns in the first response (a listing). */
  readonly listed: number
}

async function main(): Promise<void> {
  const [bundle, eventJson] = process.argv.slice(2)
  if (bundle === undefined || eventJson === undefined) throw new Error('usage: catalog-cold <bundle> <event>')
  const event = JSON.parse(eventJson) as APIGatewayProxyEvent
  const cpuBefore = process.cpuUsage()
  const requiredAtMs = performance.now()
  const mod = createRequire(bundle)(bundle) as { handler: Handler }
  const loadedAtMs = performance.now()
  const cpu = process.cpuUsage(cpuBefore)
  const gc = (globalThis as { gc?: () => void }).gc
  gc?.()
  const memory = process.memoryUsage()
  const res = await mod.handler(event, lambdaContext('bench-catalog', 'cold-0'))
  const firstResponseAtMs = performance.now()
  const body = JSON.parse(res.body) as { names?: unknown[]; patterns?: unknown[] }
  const message: CatalogColdMessage = {
    kind: 'catalog-cold',
    loadedAtMs,
    requireMs: loadedAtMs - requiredAtMs,
    requireCpuMs: (cpu.user + cpu.system) / 1000,
    firstResponseAtMs,
    status: res.statusCode,
    heapUsedBytes: memory.heapUsed,
    rssBytes: memory.rss,
    listed: (body.names?.length ?? 0) + (body.patterns?.length ?? 0),
  }
  process.send?.(message, () => process.exit(0))
}

main().catch((err: unknown) => {
  process.stderr.write(
    `catalog-cold driver: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  )
  process.exit(1)
})
