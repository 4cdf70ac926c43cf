import { Sha256 } from '@aws-crypto/sha256-js'
import { SignatureV4 } from '@smithy/signature-v4'

/** A SigV4-signed HTTP request (service execute-api), the way any AWS SDK-based consumer would send it. */
export interface SignedFetchOptions {
  readonly method?: string
  readonly headers?: Record<string, string>
  readonly body?: string
  /** With a sessionToken (temporary credentials), the signer sends and signs X-Amz-Security-Token. */
  readonly credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }
  readonly region?: string
  readonly signingDate?: Date
}

export interface SimpleResponse {
  readonly status: number
  readonly headers: Record<string, string>
  readonly text: string
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- a typed view of a test's JSON body
  json<T = unknown>(): T
}

export async function signRequest(
  url: string,
  opts: SignedFetchOptions,
): Promise<{ headers: Record<string, string> }> {
  const u = new URL(url)
  const query: Record<string, string | string[]> = {}
  for (const [k, v] of u.searchParams) {
    const prev = query[k]
    query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v]
  }
  const signer = new SignatureV4({
    service: 'execute-api',
    region: opts.region ?? 'us-east-1',
    sha256: Sha256,
    credentials: opts.credentials ?? { accessKeyId: 'none', secretAccessKey: 'none' },
  })
  const signed = await signer.sign(
    {
      method: opts.method ?? 'GET',
      protocol: u.protocol,
      hostname: u.hostname,
      port: Number(u.port),
      path: u.pathname,
      query,
      headers: { host: u.host, ...(opts.headers ?? {}) },
      ...(opts.body === undefined ? {} : { body: opts.body }),
    },
    opts.signingDate === undefined ? {} : { signingDate: opts.signingDate },
  )
  return { headers: signed.headers }
}

export async function signedFetch(url: string, opts: SignedFetchOptions = {}): Promise<SimpleResponse> {
  const headers =
    opts.credentials === undefined ? { ...(opts.headers ?? {}) } : (await signRequest(url, opts)).headers
  delete headers['host']
  return plainFetch(url, {
    method: opts.method ?? 'GET',
    headers,
    ...(opts.body === undefined ? {} : { body: opts.body }),
  })
}

export async function plainFetch(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<SimpleResponse> {
  const res = await fetch(url, init)
  const text = await res.text()
  const headers: Record<string, string> = {}
  res.headers.forEach((v, k) => {
    headers[k] = v
  })
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- a typed view of a test's JSON body
  return { status: res.status, headers, text, json: <T>() => JSON.parse(text) as T }
}
