import autocannon from 'autocannon'
import { startLocalStack, type LocalStack } from '../../scripts/lib/local-stack'
import { signRequest, plainFetch } from '../../scripts/lib/signed-fetch'

/**
 * Part 4: autocannon against the local API (serverless-offline + moto on loopback), a fixed number of
 * requests. Local-emulator figures only: serverless-offline runs each invocation through its own
 * in-process Lambda emulation, and the local stage verifies SigV4 in the function itself.
 *
 * Each request must be signed, and autocannon replays fixed requests, so one GET is signed before the
 * run and replayed: the local verifier accepts a signature for 5 minutes (as AWS does), and the run is
 * far shorter. The signature's cost therefore appears once in the client and every time in the server.
 */
export interface HttpLoadRun {
  readonly route: string
  readonly requests: number
  readonly connections: number
  readonly durationS: number
  readonly requestsPerSecond: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly maxMs: number
  readonly non2xx: number
  readonly errors: number
  readonly timeouts: number
}

export interface HttpLoadResult {
  readonly stackStartMs: number
  readonly runs: readonly HttpLoadRun[]
}

async function cannon(
  url: string,
  headers: Record<string, string>,
  amount: number,
  connections: number,
  route: string,
): Promise<HttpLoadRun> {
  const result = await autocannon({ url, amount, connections, headers, timeout: 30 })
  return {
    route,
    requests: result.requests.total,
    connections,
    durationS: result.duration,
    requestsPerSecond: result.requests.total / Math.max(0.001, result.duration),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    maxMs: result.latency.max,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
  }
}

export async function measureHttpLoad(opts: {
  requests: number
  connections: number
  log: (line: string) => void
}): Promise<HttpLoadResult> {
  const t0 = Date.now()
  const stack: LocalStack = await startLocalStack()
  try {
    const stackStartMs = Date.now() - t0
    const consumer = stack.consumers.find((c) => c.name === 'demo-orders') ?? stack.consumers[0]
    if (consumer === undefined) throw new Error('the local stack has no demo consumers')
    const url = `${stack.apiUrl}/secrets/demo/db`
    const { headers: signed } = await signRequest(url, { credentials: consumer })
    const headers = Object.fromEntries(Object.entries(signed).filter(([k]) => k.toLowerCase() !== 'host'))
    // Warm both functions (build, first load, first upstream read) and check the replayed signature works.
    const first = await plainFetch(url, { headers })
    if (first.status !== 200)
      throw new Error(`signed GET ${url} answered ${first.status}: ${first.text.slice(0, 200)}`)
    // serverless-offline starts a Lambda instance per concurrent request: warm as many as there are connections.
    for (let round = 0; round < 3; round++) {
      await Promise.all(
        Array.from({ length: opts.connections }, () =>
          Promise.all([plainFetch(url, { headers }), plainFetch(`${stack.apiUrl}/health`)]),
        ),
      )
    }
    const runs: HttpLoadRun[] = []
    runs.push(
      await cannon(
        `${stack.apiUrl}/health`,
        {},
        opts.requests,
        opts.connections,
        'GET /health (no auth, no secret)',
      ),
    )
    runs.push(
      await cannon(
        url,
        headers,
        opts.requests,
        opts.connections,
        'GET /secrets/demo/db (SigV4-verified, cache hit)',
      ),
    )
    for (const r of runs) {
      opts.log(
        `  ${r.route.padEnd(50)} ${r.requestsPerSecond.toFixed(0).padStart(5)} req/s  p50 ${r.p50Ms} ms  p99 ${r.p99Ms} ms  non-2xx ${r.non2xx}  errors ${r.errors}`,
      )
    }
    return { stackStartMs, runs }
  } finally {
    await stack.stop()
  }
}
