import { createHash, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { BrokerClient } from '../broker-client'
import { BrokerClientError } from '../client-errors'
import type { BrokerSecret } from '../served-secret'
import {
  answerForError,
  awsError,
  plain,
  secretAnswer,
  SERVED_STAGE,
  type AgentAnswer,
} from './agent-answers'

/**
 * The Secrets Manager Agent's HTTP API in front of the broker, for programs in any language that already
 * read secrets the Agent way (or through the Lambda extension): `GET /secretsmanager/get?secretId=<id>` and
 * `GET /v1/<id>` answer GetSecretValue JSON, where the id is a broker name; `GET /ping` answers `healthy`.
 * Values come from a broker client, so they are cached for the TTL, revalidated with If-None-Match, never
 * older than a version already served, and signed with the host's credentials.
 *
 * The Agent's protections, in its order: a connection limit (429), then for every route but /ping a refusal
 * of forwarded requests (400) and the SSRF token (403, compared in constant time), then GET only (405).
 * It listens on 127.0.0.1 only, bounds header size (431), accepts no request body (413), and bounds the time
 * a request may take, as the Agent does (61 s).
 */
export const AGENT_DEFAULTS = { port: 2773, ttlSeconds: 300, maxConnections: 800 } as const
/** The Agent's default `ssrf_headers` and `path_prefix`. */
export const SSRF_HEADERS = ['x-aws-parameters-secrets-token', 'x-vault-token'] as const
export const PATH_PREFIX = '/v1/'
export const LOOPBACK = '127.0.0.1'
const MAX_HEADER_BYTES = 16 * 1024
const REQUEST_TIMEOUT_MS = 61_000
const HEADERS_TIMEOUT_MS = 10_000
/** /ping keeps answering a little past the limit, as the Agent's does, so a health check can see a busy agent. */
const PING_HEADROOM = 3

export interface AgentOptions {
  readonly client: Pick<BrokerClient, 'getSecretEntry' | 'refreshEntry'>
  /** The SSRF token callers must send (see ssrf-token.ts). */
  readonly token: string
  /** On 127.0.0.1; 0 picks a free port (tests). */
  readonly port: number
  readonly maxConnections?: number
  /** One line per refused or failed request: route, status, error class. Never a token or a value. */
  readonly log?: (line: string) => void
}

export interface RunningAgent {
  readonly url: string
  readonly port: number
  close(): Promise<void>
}

interface Query {
  readonly secretId: string
  readonly versionId: string | undefined
  readonly versionStage: string | undefined
  readonly refreshNow: boolean
}

export async function startAgent(opts: AgentOptions): Promise<RunningAgent> {
  const maxConnections = opts.maxConnections ?? AGENT_DEFAULTS.maxConnections
  const log = opts.log ?? (() => undefined)
  const tokenDigest = digest(opts.token)
  const open = new Set<Socket>()
  // Each connection's rank when it arrived: those beyond the limit are answered 429 and closed.
  const rank = new WeakMap<Socket, number>()

  function tokenMatches(req: IncomingMessage): boolean {
    return SSRF_HEADERS.some((name) => {
      const sent = req.headers[name]
      // Constant time over digests, so neither the token's content nor its length leaks through timing.
      return typeof sent === 'string' && timingSafeEqual(digest(sent), tokenDigest)
    })
  }

  async function answer(req: IncomingMessage): Promise<AgentAnswer> {
    const url = new URL(req.url ?? '/', 'http://agent')
    const path = url.pathname
    const socketRank = rank.get(req.socket) ?? 0
    if (socketRank > maxConnections + (path === '/ping' ? PING_HEADROOM : 0))
      return plain(429, 'Connection limit exceeded', { Connection: 'close' })
    if (path !== '/ping') {
      if (req.headers['x-forwarded-for'] !== undefined) return plain(400, 'Forwarded')
      if (!tokenMatches(req)) return plain(403, 'Bad Token')
    }
    if (req.method !== 'GET') return plain(405, 'Not allowed', { Allow: 'GET' })
    if (hasBody(req)) return plain(413, 'Body not allowed')
    if (path === '/ping') return plain(200, 'healthy')
    let query: Query | AgentAnswer
    if (path === '/secretsmanager/get') query = parseQuery(url.searchParams, undefined)
    else if (path.startsWith(PATH_PREFIX))
      query = parseQuery(url.searchParams, path.slice(PATH_PREFIX.length))
    else return plain(404, 'Not found')
    if ('status' in query) return query
    return secretFor(query)
  }

  async function secretFor(q: Query): Promise<AgentAnswer> {
    if (q.versionStage !== undefined && q.versionStage !== SERVED_STAGE) {
      return awsError(
        400,
        'ResourceNotFoundException',
        `secret-broker serves the ${SERVED_STAGE} version only, not ${q.versionStage}`,
      )
    }
    try {
      let secret: BrokerSecret = q.refreshNow
        ? await opts.client.refreshEntry(q.secretId)
        : await opts.client.getSecretEntry(q.secretId)
      // A version id other than the one held: perhaps it was just rotated in; ask once more (rate-limited).
      if (q.versionId !== undefined && q.versionId !== secret.versionId)
        secret = await opts.client.refreshEntry(q.secretId)
      if (q.versionId !== undefined && q.versionId !== secret.versionId) {
        return awsError(
          400,
          'ResourceNotFoundException',
          `secret-broker serves the ${SERVED_STAGE} version only, and that is not the version asked for`,
        )
      }
      return secretAnswer(secret)
    } catch (err) {
      // The id as JSON: a caller-chosen string must not be able to forge a log line.
      log(`secret ${JSON.stringify(q.secretId.slice(0, 256))}: ${describe(err)}`)
      return answerForError(err)
    }
  }

  function respond(req: IncomingMessage, res: ServerResponse): void {
    answer(req).then(
      (a) => {
        if (a.status >= 400 && !a.json) log(`${req.method ?? '?'} ${pathOf(req)}: ${a.status} ${a.body}`)
        // A body is never read: close the connection rather than drain whatever was sent.
        send(res, hasBody(req) ? { ...a, headers: { ...a.headers, Connection: 'close' } } : a)
      },
      () => send(res, awsError(500, 'InternalFailure', '')),
    )
  }

  const server = createServer(
    {
      maxHeaderSize: MAX_HEADER_BYTES,
      requestTimeout: REQUEST_TIMEOUT_MS,
      headersTimeout: HEADERS_TIMEOUT_MS,
    },
    respond,
  )
  // A hard ceiling besides the 429s: connections past it are dropped by Node without an answer.
  server.maxConnections = 2 * maxConnections + PING_HEADROOM
  server.on('connection', (socket: Socket) => {
    open.add(socket)
    rank.set(socket, open.size)
    socket.once('close', () => open.delete(socket))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port, LOOPBACK, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://${LOOPBACK}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

/** The Agent's query rules: known parameters only, secretId required (from the path for /v1/). */
function parseQuery(params: URLSearchParams, pathId: string | undefined): Query | AgentAnswer {
  let secretId = pathId ?? ''
  let versionId: string | undefined
  let versionStage: string | undefined
  let refreshNow = false
  for (const [key, value] of params) {
    if (key === 'secretId' && pathId === undefined) secretId = value
    else if (key === 'versionId') versionId = value
    else if (key === 'versionStage') versionStage = value
    else if (key === 'refreshNow') {
      const v = value.toLowerCase()
      if (v !== 'true' && v !== '1' && v !== 'false' && v !== '0')
        return plain(400, 'invalid refreshNow value')
      refreshNow = v === 'true' || v === '1'
    } else return plain(400, `unknown parameter: ${key.slice(0, 64)}`)
  }
  if (secretId === '')
    return plain(400, pathId === undefined ? 'missing parameter secretId' : 'missing secret ID')
  return { secretId, versionId, versionStage, refreshNow }
}

/** An error's class, code, status and request id: never its cause or anything a body said. */
function describe(err: unknown): string {
  if (!(err instanceof BrokerClientError)) return err instanceof Error ? err.name : 'unknown error'
  const id = err.requestId === undefined ? '' : ` [broker request id ${err.requestId}]`
  return `${err.name} ${err.code} (${err.status})${id}`
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length']
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest()
}

/** The path without the query, for log lines (the query names a secret, never a value; kept short anyway). */
function pathOf(req: IncomingMessage): string {
  return (req.url ?? '/').split('?')[0]?.slice(0, 128) ?? '/'
}

function send(res: ServerResponse, a: AgentAnswer): void {
  res.writeHead(a.status, {
    'Content-Type': a.json ? 'application/json' : 'text/plain; charset=utf-8',
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    ...(a.headers ?? {}),
  })
  res.end(a.body)
}
