import { createRequire } from 'node:module'
import { performance } from 'node:perf_hooks'
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda'
import { apiGatewayEvent, lambdaContext, type EventSpec } from '../lib/events'

/**
 * Child process, one per sample: a fresh `node` that loads one bundle and answers one request.
 * Reports, in ms since the process started (performance.now()): when the bundle finished loading
 * (the Lambda "Init" part) and when the first response was ready (Init + first invocation).
 * argv: <bundle.js> <event spec JSON>
 */
type Handler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>

export interface ColdStartMessage {
  readonly kind: 'cold-start'
  readonly loadedAtMs: number
  readonly firstResponseAtMs: number
  readonly status: number
}

async function main(): Promise<void> {
  const [bundle, specJson] = process.argv.slice(2)
  if (bundle === undefined || specJson === undefined) throw new Error('usage: cold-start <bundle> <spec>')
  const spec = JSON.parse(specJson) as EventSpec
  const mod = createRequire(bundle)(bundle) as { handler: Handler }
  const loadedAtMs = performance.now()
  const res = await mod.handler(apiGatewayEvent(spec, 'cold-0'), lambdaContext('bench-cold', 'cold-0'))
  const firstResponseAtMs = performance.now()
  const message: ColdStartMessage = {
    kind: 'cold-start',
    loadedAtMs,
    firstResponseAtMs,
    status: res.statusCode,
  }
  process.send?.(message, () => process.exit(0))
}

main().catch((err: unknown) => {
  process.stderr.write(
    `cold-start driver: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  )
  process.exit(1)
})
