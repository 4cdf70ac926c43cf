import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http'
import type { Socket } from 'node:net'

/**
 * A fault-injecting HTTP proxy on 127.0.0.1 in front of moto (Secrets Manager's JSON protocol), scripted
 * per test. moto has no fault injection, and aws-sdk-client-mock bypasses the SDK's retry middleware, so
 * retries, timeouts and stale-if-error are tested here, against the real SDK.
 *
 * Every call is counted by its `X-Amz-Target` operation (and secret id); rules decide what each call gets:
 * forwarded, Secrets Manager's throttling error, a 5xx, an AWS error body, a delay beyond the SDK's timeout,
 * a hang, a reset socket, or a malformed body. A rule can be limited to some operations, some secret ids,
 * or the next N matching calls. The first matching rule wins; no rule means pass.
 *
 * @example
 * const proxy = await startFaultProxy({ upstream: moto.endpoint })
 * proxy.setFaults([{ mode: { kind: 'throttle' }, operations: ['GetSecretValue'], times: 1 }])
 * expect(proxy.count('GetSecretValue')).toBe(2)
 */
export type FaultMode =
  | { readonly kind: 'pass' }
  /** HTTP 400, `x-amzn-ErrorType: ThrottlingException`, body `{"__type":"ThrottlingException",…}`. */
  | { readonly kind: 'throttle' }
  /** A bare 5xx (500 InternalServiceError or 503 ServiceUnavailable) in the JSON protocol's shape. */
  | { readonly kind: 'status'; readonly status: number }
  /** Any AWS JSON error, e.g. AccessDeniedException, DecryptionFailure, ResourceNotFoundException. */
  | {
      readonly kind: 'aws-error'
      readonly status: number
      readonly errorType: string
      readonly message: string
    }
  /** Hold the call for `ms`, then forward it (use a value beyond the SDK's request timeout). */
  | { readonly kind: 'delay'; readonly ms: number }
  /** Never answer (until the client gives up or the proxy stops). */
  | { readonly kind: 'hang' }
  /** Destroy the client's socket without an answer. */
  | { readonly kind: 'reset' }
  /** Answer with this status and raw body (malformed JSON, an HTML error page…). */
  | { readonly kind: 'raw'; readonly status: number; readonly body: string; readonly contentType?: string }

export interface FaultRule {
  readonly mode: FaultMode
  /** X-Amz-Target operations (`GetSecretValue`, `DescribeSecret`…); every operation when omitted. */
  readonly operations?: readonly string[]
  /** Only calls whose `SecretId` matches. */
  readonly secretId?: RegExp
  /** Only the next N matching calls; unlimited when omitted. */
  readonly times?: number
}

export interface ProxiedCall {
  readonly operation: string
  readonly secretId: string | undefined
  /** The fault applied, or `pass`. */
  readonly fault: FaultMode['kind']
  readonly at: number
}

export interface FaultProxy {
  readonly endpoint: string
  readonly port: number
  /** Replace all rules. */
  setFaults(rules: readonly FaultRule[]): void
  /** Remove every rule: everything passes from now on. */
  clearFaults(): void
  /** Calls seen (forwarded or faulted), optionally for one operation and one secret id pattern. */
  count(operation?: string, secretId?: RegExp): number
  readonly calls: readonly ProxiedCall[]
  /** Calls seen since the proxy started (not reset by `resetCounts`). */
  readonly totalCalls: number
  /** Calls that got a fault rather than the emulator's answer. */
  readonly faultsInjected: number
  /** Forget the calls seen so far (rules are kept). */
  resetCounts(): void
  stop(): Promise<void>
}

interface ActiveRule {
  readonly rule: FaultRule
  remaining: number
}

const MAX_BODY_BYTES = 1024 * 1024

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (c: Buffer) => {
      size += c.length
      if (size > MAX_BODY_BYTES) {
        reject(new Error('request body too large for the fault proxy'))
        req.destroy()
        return
      }
      chunks.push(c)
    })
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

function secretIdOf(body: Buffer): string | undefined {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { SecretId?: unknown }
    return typeof parsed.SecretId === 'string' ? parsed.SecretId : undefined
  } catch {
    return undefined
  }
}

function sendAwsError(res: ServerResponse, status: number, errorType: string, message: string): void {
  const body = JSON.stringify({ __type: errorType, message })
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.1',
    'x-amzn-errortype': errorType,
    'x-amzn-requestid': `fault-${Date.now().toString(36)}`,
    'content-length': Buffer.byteLength(body),
  })
  res.end(body)
}

export async function startFaultProxy(opts: { upstream: string }): Promise<FaultProxy> {
  const upstream = new URL(opts.upstream)
  let rules: ActiveRule[] = []
  const calls: ProxiedCall[] = []
  let faultsInjected = 0
  let totalCalls = 0
  const sockets = new Set<Socket>()
  const timers = new Set<NodeJS.Timeout>()

  function pick(operation: string, secretId: string | undefined): FaultMode {
    for (const active of rules) {
      const { rule } = active
      if (active.remaining <= 0) continue
      if (rule.operations !== undefined && !rule.operations.includes(operation)) continue
      if (rule.secretId !== undefined && (secretId === undefined || !rule.secretId.test(secretId))) continue
      active.remaining -= 1
      return rule.mode
    }
    return { kind: 'pass' }
  }

  function forward(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
    const headers = { ...req.headers, host: upstream.host }
    const out = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers)
        up.pipe(res)
      },
    )
    out.on('error', () => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' })
      res.end('fault proxy: upstream unreachable')
    })
    out.end(body)
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req)
    const target = req.headers['x-amz-target']
    const operation =
      (typeof target === 'string' ? target.split('.').pop() : undefined) ??
      `${req.method ?? 'GET'} ${req.url ?? '/'}`
    const secretId = secretIdOf(body)
    const mode = pick(operation, secretId)
    calls.push({ operation, secretId, fault: mode.kind, at: Date.now() })
    totalCalls += 1
    if (mode.kind !== 'pass') faultsInjected += 1
    switch (mode.kind) {
      case 'pass':
        forward(req, res, body)
        return
      case 'throttle':
        sendAwsError(res, 400, 'ThrottlingException', 'Rate exceeded')
        return
      case 'status':
        sendAwsError(
          res,
          mode.status,
          mode.status === 503 ? 'ServiceUnavailable' : 'InternalServiceError',
          'injected by the fault proxy',
        )
        return
      case 'aws-error':
        sendAwsError(res, mode.status, mode.errorType, mode.message)
        return
      case 'delay': {
        const timer = setTimeout(() => {
          timers.delete(timer)
          if (!req.socket.destroyed) forward(req, res, body)
        }, mode.ms)
        timers.add(timer)
        return
      }
      case 'hang':
        return
      case 'reset':
        req.socket.destroy()
        return
      case 'raw':
        res.writeHead(mode.status, {
          'content-type': mode.contentType ?? 'application/x-amz-json-1.1',
          'content-length': Buffer.byteLength(mode.body),
        })
        res.end(mode.body)
        return
    }
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500)
      res.end()
    })
  })
  server.on('connection', (s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('fault proxy: no port')
  const port = address.port

  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    setFaults(next) {
      rules = next.map((rule) => ({ rule, remaining: rule.times ?? Number.POSITIVE_INFINITY }))
    },
    clearFaults() {
      rules = []
    },
    count(operation, secretId) {
      return calls.filter(
        (c) =>
          (operation === undefined || c.operation === operation) &&
          (secretId === undefined || (c.secretId !== undefined && secretId.test(c.secretId))),
      ).length
    },
    get calls() {
      return calls
    },
    get totalCalls() {
      return totalCalls
    },
    get faultsInjected() {
      return faultsInjected
    },
    resetCounts() {
      calls.length = 0
    },
    async stop() {
      for (const t of timers) clearTimeout(t)
      timers.clear()
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
