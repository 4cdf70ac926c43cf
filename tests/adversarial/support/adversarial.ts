import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { join } from 'node:path'
import { Sha256 } from '@aws-crypto/sha256-js'
import { SignatureV4 } from '@smithy/signature-v4'

/**
 * Shared by the adversarial suites: unique canaries and the scan for them, raw signed HTTP requests (paths
 * sent byte for byte, not normalised by `new URL`), captured process output, and the figures file each
 * suite contributes to (`.tmp/adversarial-figures.json`, the source of the numbers in docs/SECURITY.md).
 */
export const REPO_ROOT = join(__dirname, '..', '..', '..')
export const FIGURES_DIR = join(REPO_ROOT, '.tmp', 'adversarial-figures')
export const FIGURES_FILE = join(REPO_ROOT, '.tmp', 'adversarial-figures.json')

const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
function base62(n: number): string {
  return Array.from(randomBytes(n), (b) => BASE62[b % 62]).join('')
}

/**
 * A canary that cannot occur by chance: its first 8 characters are random base62 (not hex, so request ids
 * and version ids cannot contain them), and `+`/`/` make its URL encoding differ from it.
 */
export function makeCanary(label: string): string {
  return `Q${base62(15)}+${base62(8)}/cnry-${label.replace(/[^A-Za-z0-9-]/g, '-')}`
}

/** The canary, its first 8 characters, its base64 (standard and URL-safe) and its URL encodings. */
export function canaryNeedles(canary: string): string[] {
  const b64 = Buffer.from(canary).toString('base64')
  return [
    ...new Set([
      canary,
      canary.slice(0, 8),
      b64,
      b64.replace(/=+$/, ''),
      Buffer.from(canary).toString('base64url'),
      encodeURIComponent(canary),
      encodeURI(canary),
    ]),
  ]
}

export interface LeakHit {
  readonly source: string
  readonly needle: string
}

/** Every place a needle of any canary occurs in any of the named texts. */
export function scanForCanaries(
  canaries: readonly string[],
  sources: Readonly<Record<string, string>>,
): { hits: LeakHit[]; bytesScanned: number; needles: number } {
  const needles = canaries.flatMap(canaryNeedles)
  const hits: LeakHit[] = []
  let bytesScanned = 0
  for (const [source, text] of Object.entries(sources)) {
    bytesScanned += Buffer.byteLength(text)
    for (const needle of needles) if (text.includes(needle)) hits.push({ source, needle })
  }
  return { hits, bytesScanned, needles: needles.length }
}

export function readIfExists(file: string): string {
  return existsSync(file) ? readFileSync(file, 'utf8') : ''
}

/**
 * Everything written to stdout/stderr while capturing, kept for the canary scan and not echoed (the
 * in-process stack writes one metrics line per request, which would drown the test report).
 */
export function captureOutput(): { text(): string; stop(): void } {
  const chunks: string[] = []
  const out = process.stdout.write.bind(process.stdout)
  const err = process.stderr.write.bind(process.stderr)
  const tap =
    () =>
    (chunk: unknown, ...rest: unknown[]): boolean => {
      chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'))
      const done = rest.find((r) => typeof r === 'function') as (() => void) | undefined
      done?.()
      return true
    }
  process.stdout.write = tap()
  process.stderr.write = tap()
  return {
    text: () => chunks.join(''),
    stop: () => {
      process.stdout.write = out
      process.stderr.write = err
    },
  }
}

/** Merge this suite's figures into `.tmp/adversarial-figures.json` (one file per suite, then the union). */
export function recordFigures(suite: string, figures: Record<string, unknown>): void {
  mkdirSync(FIGURES_DIR, { recursive: true })
  writeFileSync(
    join(FIGURES_DIR, `${suite}.json`),
    `${JSON.stringify({ suite, recordedAt: new Date().toISOString(), ...figures }, null, 2)}\n`,
  )
  const all: Record<string, unknown> = {}
  for (const f of readdirSync(FIGURES_DIR)
    .filter((n) => n.endsWith('.json'))
    .sort()) {
    all[f.replace(/\.json$/, '')] = JSON.parse(readFileSync(join(FIGURES_DIR, f), 'utf8')) as unknown
  }
  writeFileSync(FIGURES_FILE, `${JSON.stringify(all, null, 2)}\n`)
}

export interface Credentials {
  readonly accessKeyId: string
  readonly secretAccessKey: string
}

export interface RawResponse {
  readonly status: number
  readonly headers: Record<string, string>
  readonly body: string
  readonly ms: number
}

/**
 * SigV4-sign a request for a raw path (`/secrets/a%2Fb`, `/secrets/../x`), exactly as sent. Returns the
 * headers to send, including `host`.
 */
export async function signRaw(
  apiUrl: string,
  opts: {
    method: string
    path: string
    headers?: Record<string, string>
    body?: string
    credentials: Credentials
    signingDate?: Date
    region?: string
  },
): Promise<Record<string, string>> {
  const u = new URL(apiUrl)
  const [pathOnly, queryString] = splitQuery(opts.path)
  const query: Record<string, string | string[]> = {}
  for (const [k, v] of new URLSearchParams(queryString)) {
    const prev = query[k]
    query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v]
  }
  const signer = new SignatureV4({
    service: 'execute-api',
    region: opts.region ?? 'us-east-1',
    sha256: Sha256,
    credentials: opts.credentials,
  })
  const signed = await signer.sign(
    {
      method: opts.method,
      protocol: 'http:',
      hostname: u.hostname,
      port: Number(u.port),
      path: pathOnly,
      query,
      headers: { host: u.host, ...(opts.headers ?? {}) },
      ...(opts.body === undefined ? {} : { body: opts.body }),
    },
    opts.signingDate === undefined ? {} : { signingDate: opts.signingDate },
  )
  return signed.headers
}

function splitQuery(path: string): [string, string] {
  const i = path.indexOf('?')
  return i < 0 ? [path, ''] : [path.slice(0, i), path.slice(i + 1)]
}

/** One HTTP request with the path sent as is; never throws for an HTTP status, rejects on socket errors. */
export function rawRequest(
  apiUrl: string,
  opts: { method: string; path: string; headers?: Record<string, string>; body?: string; timeoutMs?: number },
): Promise<RawResponse> {
  const u = new URL(apiUrl)
  const started = Date.now()
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        method: opts.method,
        path: opts.path,
        headers: opts.headers ?? {},
        timeout: opts.timeoutMs ?? 30_000,
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const headers: Record<string, string> = {}
          for (const [k, v] of Object.entries(res.headers))
            if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v
          resolve({
            status: res.statusCode ?? 0,
            headers,
            body: Buffer.concat(chunks).toString('utf8'),
            ms: Date.now() - started,
          })
        })
        res.on('error', reject)
      },
    )
    req.on('timeout', () => req.destroy(new Error(`request timed out after ${opts.timeoutMs ?? 30_000} ms`)))
    req.on('error', reject)
    req.end(opts.body)
  })
}

/** Sign and send. */
export async function signedRaw(
  apiUrl: string,
  opts: {
    method?: string
    path: string
    headers?: Record<string, string>
    body?: string
    credentials: Credentials
    signingDate?: Date
    timeoutMs?: number
  },
): Promise<RawResponse> {
  const method = opts.method ?? 'GET'
  const headers = await signRaw(apiUrl, { ...opts, method })
  return rawRequest(apiUrl, {
    method,
    path: opts.path,
    headers,
    ...(opts.body === undefined ? {} : { body: opts.body }),
    ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }),
  })
}

/** Headers of a response with the per-request ones removed, for byte-identity comparisons. */
export function stableHeaders(
  h: Readonly<Record<string, string | number | boolean | undefined>>,
): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(h)) {
    const key = k.toLowerCase()
    if (['x-request-id', 'date', 'connection', 'keep-alive'].includes(key) || v === undefined) continue
    out[key] = String(v)
  }
  return out
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0
}
