import { execFileSync } from 'node:child_process'
import { request } from 'node:http'
import { join } from 'node:path'
import type { SignedRequest } from '../../src/lib/auth/sigv4-verifier'

/**
 * botocore (the machine's Python) as an independent SigV4 signer: the conformance and parity tests sign
 * with it, never with the code under test. One child process signs a whole batch (botocore-sign.py).
 */
export interface BotocoreCredentials {
  readonly accessKeyId: string
  readonly secretAccessKey: string
  readonly sessionToken?: string | undefined
}

export interface BotocoreRequest {
  readonly method: string
  /** Absolute URL, percent-encoded as it goes on the wire. */
  readonly url: string
  /** Header lines in order; a name may repeat. */
  readonly headers?: readonly (readonly [string, string])[]
  readonly body?: string
  readonly credentials: BotocoreCredentials
  readonly region?: string
  readonly service?: string
  readonly form: 'header' | 'query'
  /** Query form: X-Amz-Expires. */
  readonly expires?: number
  /** Signs with this X-Amz-Date string verbatim instead of the current time. */
  readonly timestamp?: string
}

export interface BotocoreSigned {
  /** The URL to send (with the presigned query for the query form). */
  readonly url: string
  /** Every header line to send, in order, Host included. */
  readonly headers: readonly (readonly [string, string])[]
  readonly method: string
  readonly body: string | undefined
}

const SCRIPT = join(__dirname, 'botocore-sign.py')

export function signWithBotocore(requests: readonly BotocoreRequest[]): BotocoreSigned[] {
  const input = JSON.stringify({
    requests: requests.map((r) => ({
      method: r.method,
      url: r.url,
      headers: r.headers ?? [],
      body: r.body ?? null,
      credentials: r.credentials,
      region: r.region ?? 'us-east-1',
      service: r.service ?? 'execute-api',
      form: r.form,
      ...(r.expires === undefined ? {} : { expires: r.expires }),
      ...(r.timestamp === undefined ? {} : { timestamp: r.timestamp }),
    })),
  })
  const out = execFileSync('python3', [SCRIPT], { input, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' })
  const { signed } = JSON.parse(out) as { signed: { url: string; headers: [string, string][] }[] }
  return signed.map((s, i) => ({
    url: s.url,
    headers: s.headers,
    method: (requests[i] as BotocoreRequest).method,
    body: (requests[i] as BotocoreRequest).body,
  }))
}

/** The path and raw query of a URL exactly as written (no WHATWG normalisation of dots or slashes). */
export function splitTarget(url: string): { path: string; rawQuery: string } {
  const target = url.replace(/^[a-z]+:\/\/[^/?#]*/i, '')
  const q = target.indexOf('?')
  const path = q === -1 ? target : target.slice(0, q)
  return { path: path === '' ? '/' : path, rawQuery: q === -1 ? '' : target.slice(q + 1) }
}

/** The request as an HTTP server hands it over: headers by lower-cased name, the query decoded as a form. */
export function asDelivered(
  signed: Pick<BotocoreSigned, 'url' | 'headers' | 'method' | 'body'>,
): SignedRequest {
  const { path, rawQuery } = splitTarget(signed.url)
  const headers = new Map<string, string[]>()
  for (const [name, value] of signed.headers)
    headers.set(name.toLowerCase(), [...(headers.get(name.toLowerCase()) ?? []), value])
  return {
    method: signed.method,
    path,
    headers,
    query: [...new URLSearchParams(rawQuery)],
    body: signed.body,
  }
}

export interface WireResponse {
  readonly status: number
  readonly headers: Record<string, string>
  readonly body: string
}

/**
 * Sends a request over HTTP exactly as given: the path and query as written, every header line in order
 * (repeats included), to `apiUrl`'s host and port whatever the Host header says.
 */
export function sendOnWire(
  apiUrl: string,
  req: {
    readonly method: string
    readonly target: string
    readonly headers: readonly (readonly [string, string])[]
    readonly body?: string | undefined
  },
): Promise<WireResponse> {
  const u = new URL(apiUrl)
  return new Promise((resolve, reject) => {
    const r = request(
      {
        host: u.hostname,
        port: u.port,
        method: req.method,
        path: req.target,
        headers: req.headers.flat(),
        setHost: false,
        timeout: 60_000,
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const headers: Record<string, string> = {}
          for (const [k, v] of Object.entries(res.headers))
            if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v
          resolve({ status: res.statusCode ?? 0, headers, body: Buffer.concat(chunks).toString('utf8') })
        })
        res.on('error', reject)
      },
    )
    r.on('timeout', () => r.destroy(new Error('request timed out')))
    r.on('error', reject)
    r.end(req.body)
  })
}

/** Signs with botocore and sends it: the path of a botocore-based consumer. */
export async function sendSigned(apiUrl: string, signed: BotocoreSigned): Promise<WireResponse> {
  const { path, rawQuery } = splitTarget(signed.url)
  return sendOnWire(apiUrl, {
    method: signed.method,
    target: rawQuery === '' ? path : `${path}?${rawQuery}`,
    headers: signed.headers,
    body: signed.body,
  })
}
