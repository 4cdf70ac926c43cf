import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { verifySigV4, type SigV4Credential } from '../../../src/lib/auth/sigv4-verifier'

/**
 * A stand-in for the broker on 127.0.0.1 (port 0: the OS picks a free one). It checks every request's
 * SigV4 signature with the broker's own verifier, records what arrived, and answers with whatever the
 * test scripted: values with ETags, 304s, problem documents, 503s with Retry-After, slow or cut answers.
 */
export const REGION = 'eu-west-1'
export const ORDERS_KEYS = {
  accessKeyId: 'AKIDORDERSTEST000001',
  secretAccessKey: 'orders-secret-key-for-tests',
}
export const BILLING_KEYS = {
  accessKeyId: 'AKIDBILLINGTEST00001',
  secretAccessKey: 'billing-secret-key-for-tests',
}
/** Temporary credentials, as an assumed role gets them: the token must travel with every request. */
export const SESSION_KEYS = {
  accessKeyId: 'ASIASESSIONTEST00001',
  secretAccessKey: 'session-secret-key-for-tests',
  sessionToken: 'session-token-for-tests/+=',
}
export const ORDERS_ARN = 'arn:aws:iam::123456789012:user/orders'
export const BILLING_ARN = 'arn:aws:iam::123456789012:user/billing'
export const SESSION_ARN = 'arn:aws:sts::123456789012:assumed-role/reporting/test-session'

const KEYS = new Map<string, SigV4Credential>([
  [ORDERS_KEYS.accessKeyId, { secretAccessKey: ORDERS_KEYS.secretAccessKey, principalArn: ORDERS_ARN }],
  [BILLING_KEYS.accessKeyId, { secretAccessKey: BILLING_KEYS.secretAccessKey, principalArn: BILLING_ARN }],
  [
    SESSION_KEYS.accessKeyId,
    {
      secretAccessKey: SESSION_KEYS.secretAccessKey,
      principalArn: SESSION_ARN,
      session: { token: SESSION_KEYS.sessionToken, expiresAt: Date.now() + 3_600_000 },
    },
  ],
])

export interface RecordedRequest {
  readonly method: string
  /** The path exactly as it arrived on the wire. */
  readonly path: string
  readonly headers: Readonly<Record<string, string | undefined>>
  readonly body: string
  /** The principal whose key signed it, or why the signature was refused. */
  readonly signedBy: string | { readonly refused: string }
}

export interface StatusReply {
  readonly status: number
  readonly headers?: Record<string, string>
  readonly body?: unknown
  readonly rawBody?: string
  readonly delayMs?: number
}

export type Reply = StatusReply | { readonly destroy: true }

export type Script = (req: RecordedRequest, index: number) => Reply

export interface FakeBroker {
  readonly url: string
  readonly requests: RecordedRequest[]
  script(fn: Script): void
  close(): Promise<void>
}

export const problem = (
  status: number,
  slug: string,
  title: string,
  extra: Record<string, string> = {},
): StatusReply => ({
  status,
  headers: { 'content-type': 'application/problem+json', 'x-request-id': `req-${slug}`, ...extra },
  body: { type: `https://secret-broker.dev/problems/${slug}`, title, status, detail: `${title} (fake)` },
})

export const secretReply = (
  name: string,
  versionId: string,
  value: unknown,
  extra: Record<string, string> = {},
): StatusReply => ({
  status: 200,
  headers: { etag: `"${versionId}"`, 'x-broker-cache': 'miss', 'x-request-id': `req-${versionId}`, ...extra },
  body: { name, versionId, createdDate: '2026-11-01T00:00:00.000Z', value },
})

/**
 * A secret answer written as the broker writes it: the stored text embedded as is, so a test controls
 * every byte (big integers, whitespace) and the creation date that orders versions.
 */
export const servedText = (
  name: string,
  versionId: string,
  createdDate: string,
  storedText: string,
  headers: Record<string, string> = {},
): StatusReply => ({
  status: 200,
  headers: {
    etag: `"${versionId}"`,
    'x-broker-cache': 'miss',
    'x-request-id': `req-${versionId}`,
    ...headers,
  },
  rawBody: `{"name":${JSON.stringify(name)},"versionId":${JSON.stringify(versionId)},"createdDate":${JSON.stringify(createdDate)},"value":${storedText}}`,
})

export const notModified = (versionId: string): StatusReply => ({
  status: 304,
  headers: { etag: `"${versionId}"`, 'x-broker-cache': 'hit' },
})

/** `clockOffsetMs`: the broker's clock minus the host's (its `Date` headers and signature checks use it). */
export async function startFakeBroker(opts: { clockOffsetMs?: number } = {}): Promise<FakeBroker> {
  const brokerClock = { now: () => Date.now() + (opts.clockOffsetMs ?? 0) }
  const requests: RecordedRequest[] = []
  const timers = new Set<NodeJS.Timeout>()
  let script: Script = () => problem(404, 'not-found', 'Not Found')
  let endpointHost = ''

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const body = Buffer.concat(chunks).toString('utf8')
    const headers: Record<string, string | undefined> = {}
    for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(',') : v
    const path = req.url ?? '/'
    const rawHeaders = new Map<string, string[]>()
    for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
      const name = (req.rawHeaders[i] as string).toLowerCase()
      rawHeaders.set(name, [...(rawHeaders.get(name) ?? []), req.rawHeaders[i + 1] as string])
    }
    const url = new URL(path, 'http://fake')
    let signedBy: RecordedRequest['signedBy']
    try {
      const who = verifySigV4(
        {
          method: req.method ?? 'GET',
          path: path.split('?')[0] as string,
          headers: rawHeaders,
          query: [...url.searchParams],
          body,
        },
        {
          region: REGION,
          service: 'execute-api',
          clock: brokerClock,
          lookup: (id) => KEYS.get(id),
          endpointHosts: [endpointHost],
        },
      )
      signedBy = who.principalArn
    } catch (err) {
      signedBy = { refused: err instanceof Error ? err.message : String(err) }
    }
    const recorded: RecordedRequest = { method: req.method ?? 'GET', path, headers, body, signedBy }
    requests.push(recorded)
    const reply = script(recorded, requests.length - 1)
    if ('destroy' in reply) {
      res.socket?.destroy()
      return
    }
    const send = (): void => {
      const text = reply.rawBody ?? (reply.body === undefined ? '' : JSON.stringify(reply.body))
      res.writeHead(reply.status, {
        'content-type': 'application/json',
        date: new Date(brokerClock.now()).toUTCString(),
        ...(reply.headers ?? {}),
      })
      res.end(reply.status === 304 ? undefined : text)
    }
    if (reply.delayMs === undefined) {
      send()
      return
    }
    const timer = setTimeout(() => {
      timers.delete(timer)
      if (!res.destroyed) send()
    }, reply.delayMs)
    timers.add(timer)
    res.on('close', () => {
      clearTimeout(timer)
      timers.delete(timer)
    })
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  endpointHost = `127.0.0.1:${port}`
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    script(fn) {
      script = fn
    },
    close() {
      for (const t of timers) clearTimeout(t)
      server.closeAllConnections()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}
