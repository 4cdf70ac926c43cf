import { createRequire } from 'node:module'
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda'
import { apiGatewayEvent, lambdaContext, type EventSpec } from '../lib/events'
import { summarise, type LatencySummary } from '../lib/stats'

/**
 * Child process: load one bundled handler, warm it up, then time `iterations` sequential invocations with
 * process.hrtime.bigint(). Its stdout (fd 1, where every target writes its log line) is /dev/null; the
 * summary goes back to the parent over IPC.
 * argv: <bundle.js> <iterations> <warmup> <event spec JSON>
 */
type Handler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>

export interface LatencyMessage {
  readonly kind: 'latency'
  readonly summary: LatencySummary
  readonly firstStatus: number
  readonly firstBodyBytes: number
}

async function main(): Promise<void> {
  const [bundle, iterationsArg, warmupArg, specJson] = process.argv.slice(2)
  if (bundle === undefined || specJson === undefined)
    throw new Error('usage: latency <bundle> <iterations> <warmup> <spec>')
  const iterations = Number(iterationsArg)
  const warmup = Number(warmupArg)
  const spec = JSON.parse(specJson) as EventSpec
  const mod = createRequire(bundle)(bundle) as { handler: Handler }
  const functionName = 'bench-target'

  let errors = 0
  let firstStatus = 0
  let firstBodyBytes = 0
  for (let i = 0; i < warmup; i++) {
    const id = `warm-${i}`
    const res = await mod.handler(apiGatewayEvent(spec, id), lambdaContext(functionName, id))
    if (i === 0) {
      firstStatus = res.statusCode
      firstBodyBytes = Buffer.byteLength(res.body)
    }
  }
  const samples = new Float64Array(iterations)
  for (let i = 0; i < iterations; i++) {
    const id = `req-${i}`
    const event = apiGatewayEvent(spec, id)
    const context = lambdaContext(functionName, id)
    const t0 = process.hrtime.bigint()
    const res = await mod.handler(event, context)
    const t1 = process.hrtime.bigint()
    samples[i] = Number(t1 - t0) / 1000
    if (res.statusCode !== 200) errors++
  }
  const message: LatencyMessage = {
    kind: 'latency',
    summary: summarise(samples, errors),
    firstStatus,
    firstBodyBytes,
  }
  process.send?.(message, () => process.exit(0))
}

main().catch((err: unknown) => {
  process.stderr.write(`latency driver: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  process.exit(1)
})
