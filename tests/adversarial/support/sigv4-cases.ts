import { createHash } from 'node:crypto'
import type { SignedRequest } from '../../../src/lib/auth/sigv4-verifier'

/**
 * Our own SigV4 conformance cases, one or more per category of AWS's published SigV4 test suite (botocore's
 * tests/unit/auth/aws4_testsuite, aws-c-auth's tests/aws-signing-test-suite/v4), written for execute-api:
 * the host is an API Gateway endpoint, paths carry the stage, and paths are normalised (as every service
 * but S3 does). Each is signed by botocore; the verifier must accept it and refuse every mutation below.
 */
export const ENDPOINT_HOST = 'a1b2c3d4e5.execute-api.us-east-1.amazonaws.com'
export const USER = { accessKeyId: 'AKIDCONFORMANCEUSER01', secretAccessKey: 'conformance/user+secret=key0' }
export const OTHER_USER = {
  accessKeyId: 'AKIDCONFORMANCEUSER02',
  secretAccessKey: 'conformance/other+secret=key',
}
export const SESSION = {
  accessKeyId: 'ASIACONFORMANCESESS01',
  secretAccessKey: 'conformance/session+secret=key',
  sessionToken: 'FwoGZXIvYXdzEConformanceSessionToken//////////+pad/with=signs==',
}
/** Every case is signed at this instant (second 00, the 28th: both inexact forms of it exist). */
export const SIGNED_AT = '20261128T120000Z'
export const SIGNED_AT_MS = Date.UTC(2026, 10, 28, 12, 0, 0)
/** The same instant written with second 60, and as the 59th day of October. */
export const SECOND_60 = '20261128T115960Z'
export const ROLLED_DAY = '20261059T120000Z'

export type Category =
  | 'vanilla'
  | 'empty path'
  | 'dotted paths'
  | 'slashes'
  | 'path encoding'
  | 'unreserved characters'
  | 'UTF-8'
  | 'query order'
  | 'query encoding'
  | 'empty query values'
  | 'repeated headers'
  | 'multi-line headers'
  | 'header trimming'
  | 'header case'
  | 'POST body'
  | 'session tokens'

export interface ConformanceCase {
  readonly id: string
  readonly categories: readonly Category[]
  readonly method: 'GET' | 'POST'
  /** Path and query as they go on the wire (percent-encoded where the wire needs it). */
  readonly target: string
  readonly headers?: readonly (readonly [string, string])[]
  readonly body?: string
  readonly session?: boolean
  /** Signed without the token, which is added afterwards (AWS's "token after signing" form). */
  readonly tokenAfterSigning?: boolean
}

const JSON_TYPE: readonly [string, string] = ['Content-Type', 'application/json']

/** The forms a case is signed in: a body or a token added after signing only exists in the header form. */
export function formsOf(c: ConformanceCase): readonly ('header' | 'query')[] {
  return c.body === undefined && c.tokenAfterSigning !== true ? ['header', 'query'] : ['header']
}

export const CASES: readonly ConformanceCase[] = [
  { id: 'get-stage-root', categories: ['vanilla'], method: 'GET', target: '/prod/' },
  { id: 'get-whoami', categories: ['vanilla'], method: 'GET', target: '/prod/whoami' },
  { id: 'get-empty-path', categories: ['empty path'], method: 'GET', target: '' },
  { id: 'get-root', categories: ['empty path'], method: 'GET', target: '/' },
  { id: 'get-trailing-slash', categories: ['slashes'], method: 'GET', target: '/prod/secrets/' },
  { id: 'get-double-slashes', categories: ['slashes'], method: 'GET', target: '//prod//secrets//demo//db' },
  { id: 'get-slashes-trailing', categories: ['slashes'], method: 'GET', target: '//prod//whoami//' },
  { id: 'get-dot', categories: ['dotted paths'], method: 'GET', target: '/prod/./whoami' },
  { id: 'get-dot-slash-root', categories: ['dotted paths'], method: 'GET', target: '/./' },
  {
    id: 'get-dot-dot',
    categories: ['dotted paths'],
    method: 'GET',
    target: '/prod/secrets/demo/../../whoami',
  },
  { id: 'get-dot-dot-to-root', categories: ['dotted paths'], method: 'GET', target: '/prod/secrets/../..' },
  { id: 'get-dot-dot-above-root', categories: ['dotted paths'], method: 'GET', target: '/../prod/whoami' },
  { id: 'get-trailing-dot', categories: ['dotted paths'], method: 'GET', target: '/prod/secrets/.' },
  { id: 'get-space', categories: ['path encoding'], method: 'GET', target: '/prod/secrets/my%20name' },
  {
    id: 'get-encoded-slash',
    categories: ['path encoding'],
    method: 'GET',
    target: '/prod/secrets/demo%2Fdb',
  },
  {
    id: 'get-name-chars',
    categories: ['path encoding'],
    method: 'GET',
    target: '/prod/secrets/a+b=c@d,e;f:g',
  },
  {
    id: 'get-unreserved',
    categories: ['unreserved characters'],
    method: 'GET',
    target: '/prod/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz',
  },
  { id: 'get-utf8-path', categories: ['UTF-8'], method: 'GET', target: '/prod/secrets/%E1%88%B4' },
  { id: 'get-utf8-path-latin', categories: ['UTF-8'], method: 'GET', target: '/prod/caf%C3%A9/na%C3%AFve' },
  {
    id: 'get-query-order',
    categories: ['query order'],
    method: 'GET',
    target: '/prod/whoami?b=2&a=1&A=0&_=3',
  },
  {
    id: 'get-query-repeated-key',
    categories: ['query order'],
    method: 'GET',
    target: '/prod/whoami?k=v2&k=v1&k=v10',
  },
  {
    id: 'get-query-encoded-order',
    categories: ['query order', 'UTF-8'],
    method: 'GET',
    target: '/prod/whoami?Param-3=Value3&Param=Value2&%E1%88%B4=Value1',
  },
  {
    id: 'get-query-unreserved',
    categories: ['query encoding', 'unreserved characters'],
    method: 'GET',
    target: '/prod/whoami?-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789',
  },
  {
    id: 'get-query-reserved',
    categories: ['query encoding'],
    method: 'GET',
    target: '/prod/whoami?q=a%20b%2Bc%2Fd%3De%3Af%26g%3Fh%40i',
  },
  {
    id: 'get-query-utf8',
    categories: ['query encoding', 'UTF-8'],
    method: 'GET',
    target: '/prod/whoami?name=%C3%A9t%C3%A9',
  },
  {
    id: 'get-query-empty-value',
    categories: ['empty query values'],
    method: 'GET',
    target: '/prod/whoami?flag=&x=1',
  },
  {
    id: 'get-query-no-equals',
    categories: ['empty query values'],
    method: 'GET',
    target: '/prod/whoami?flag',
  },
  {
    id: 'get-header-repeated',
    categories: ['repeated headers'],
    method: 'GET',
    target: '/prod/whoami',
    headers: [
      ['My-Header', 'v2'],
      ['My-Header', 'v2'],
      ['My-Header', 'v1'],
    ],
  },
  {
    id: 'get-header-repeated-order',
    categories: ['repeated headers'],
    method: 'GET',
    target: '/prod/whoami',
    headers: [
      ['X-Trace', 'hop-4'],
      ['X-Trace', 'hop-1'],
      ['X-Trace', 'hop-3'],
      ['X-Trace', 'hop-2'],
    ],
  },
  {
    id: 'get-header-repeated-mixed-case',
    categories: ['repeated headers', 'header case'],
    method: 'GET',
    target: '/prod/whoami',
    headers: [
      ['X-Trace', 'first'],
      ['x-trace', 'second'],
    ],
  },
  {
    id: 'get-header-multiline',
    categories: ['multi-line headers'],
    method: 'GET',
    target: '/prod/whoami',
    headers: [['My-Header', 'line1\n  line2\n     line3']],
  },
  {
    id: 'get-header-trim',
    categories: ['header trimming'],
    method: 'GET',
    target: '/prod/whoami',
    headers: [
      ['My-Header1', '  value1  '],
      ['My-Header2', '"a   b   c"'],
      ['My-Header3', 'tab\there'],
    ],
  },
  {
    id: 'get-header-key-case',
    categories: ['header case'],
    method: 'GET',
    target: '/prod/whoami',
    headers: [
      ['MY-HEADER', 'one'],
      ['x-AMZ-meta-ID', 'two'],
    ],
  },
  {
    id: 'get-header-value-case',
    categories: ['header case'],
    method: 'GET',
    target: '/prod/whoami',
    headers: [['My-Header', 'VALUE mixed Case']],
  },
  {
    id: 'post-json',
    categories: ['POST body'],
    method: 'POST',
    target: '/prod/secrets:batchGet',
    headers: [JSON_TYPE],
    body: '{"names":["demo/db","demo/api-key"]}',
  },
  {
    id: 'post-x-www-form-urlencoded',
    categories: ['POST body'],
    method: 'POST',
    target: '/prod/forms',
    headers: [['Content-Type', 'application/x-www-form-urlencoded; charset=utf-8']],
    body: 'Param1=value1&Param2=caf%C3%A9',
  },
  {
    id: 'post-with-query',
    categories: ['POST body', 'empty query values'],
    method: 'POST',
    target: '/prod/secrets:batchGet?dryRun=&Param1=value1',
    headers: [JSON_TYPE],
    body: '{}',
  },
  {
    id: 'post-empty-body',
    categories: ['POST body'],
    method: 'POST',
    target: '/prod/whoami',
  },
  {
    id: 'post-content-sha256',
    categories: ['POST body'],
    method: 'POST',
    target: '/prod/secrets:batchGet',
    headers: [
      JSON_TYPE,
      ['X-Amz-Content-SHA256', createHash('sha256').update('{"names":["demo/db"]}').digest('hex')],
    ],
    body: '{"names":["demo/db"]}',
  },
  { id: 'get-session', categories: ['session tokens'], method: 'GET', target: '/prod/whoami', session: true },
  {
    id: 'get-session-query',
    categories: ['session tokens', 'query order'],
    method: 'GET',
    target: '/prod/secrets/demo/db?b=2&a=1',
    session: true,
  },
  {
    id: 'post-session',
    categories: ['session tokens', 'POST body'],
    method: 'POST',
    target: '/prod/secrets:batchGet',
    headers: [JSON_TYPE],
    body: '{"names":["demo/reporting-db"]}',
    session: true,
  },
  {
    id: 'get-session-token-after-signing',
    categories: ['session tokens'],
    method: 'GET',
    target: '/prod/whoami',
    session: true,
    tokenAfterSigning: true,
  },
]

/** A delivered request with one thing changed; `label` names the kind of change, for the figures. */
export interface Mutation {
  readonly label: string
  readonly request: SignedRequest
}

type Pairs = readonly (readonly [string, string])[]

export function mutationsOf(req: SignedRequest, form: 'header' | 'query', c: ConformanceCase): Mutation[] {
  const out: Mutation[] = []
  const add = (label: string, change: Partial<SignedRequest>) =>
    out.push({ label, request: { ...req, ...change } })
  const setHeader = (name: string, values: readonly string[] | undefined) => {
    const headers = new Map(req.headers)
    if (values === undefined) headers.delete(name)
    else headers.set(name, values)
    return headers
  }
  const appQuery = req.query.filter(([k]) => !k.startsWith('X-Amz-'))
  const setParam = (name: string, value: string | undefined, query: Pairs = req.query) =>
    query.flatMap(([k, v]): [string, string][] =>
      k !== name ? [[k, v]] : value === undefined ? [] : [[k, value]],
    )

  add('method changed', { method: req.method === 'GET' ? 'POST' : 'GET' })
  add('path segment added', { path: `${req.path.replace(/\/$/, '')}/x` })
  add('path changed', {
    path:
      req.path === '/' || req.path === ''
        ? '/x'
        : `${req.path.slice(0, -1)}${req.path.endsWith('z') ? 'y' : 'z'}`,
  })
  add('query parameter added', { query: [...req.query, ['extra', '1']] })
  add('__proto__ added to the query', { query: [...req.query, ['__proto__', 'polluted']] })
  if (form === 'header')
    add('X-Amz-Signature added to the query', {
      query: [...req.query, ['X-Amz-Signature', signatureOf(req, form)]],
    })
  else
    add('X-Amz-Signature repeated in the query', {
      query: [...req.query, ['X-Amz-Signature', '0'.repeat(64)]],
    })
  const firstParam = appQuery[0]
  if (firstParam !== undefined) {
    add('query value changed', { query: setParam(firstParam[0], `${firstParam[1]}x`) })
    add('query parameter removed', { query: req.query.filter((p) => p !== firstParam) })
    add('query parameter repeated', { query: [...req.query, firstParam] })
  }
  for (const name of signedHeadersOf(req, form)) {
    if (name === 'host') continue
    const values = req.headers.get(name) ?? []
    add(`signed header ${name} changed`, {
      headers: setHeader(
        name,
        values.map((v, i) => (i === values.length - 1 ? `${v}x` : v)),
      ),
    })
    add(`signed header ${name} removed`, { headers: setHeader(name, undefined) })
    if (values.length > 1) {
      add(`repeated header ${name} reordered`, { headers: setHeader(name, [...values].reverse()) })
      add(`repeated header ${name} copy dropped`, { headers: setHeader(name, values.slice(1)) })
    }
    if (!['x-amz-date', 'x-amz-security-token', 'x-amz-content-sha256'].includes(name))
      add(`signed header ${name} copy added`, { headers: setHeader(name, [...values, 'extra']) })
  }
  add('Host changed', { headers: setHeader('host', ['evil.example.com']) })
  add('Host port added', { headers: setHeader('host', [`${ENDPOINT_HOST}:8443`]) })
  for (const [name, decoy] of [
    ['host', 'evil.example.com'],
    ['authorization', 'AWS4-HMAC-SHA256 Credential=x'],
    ['x-amz-date', '20200101T000000Z'],
    ['x-amz-security-token', 'decoy-token'],
  ] as const) {
    const values = req.headers.get(name)
    if (values === undefined) {
      if (name === 'authorization')
        add('Authorization added to a presigned request', { headers: setHeader(name, [decoy]) })
      continue
    }
    add(`${name} duplicated (decoy first)`, { headers: setHeader(name, [decoy, ...values]) })
    add(`${name} duplicated (decoy last)`, { headers: setHeader(name, [...values, decoy]) })
  }
  if (c.session !== true)
    add('session token added to long-term keys', withToken(req, form, SESSION.sessionToken))
  else {
    add('session token changed', withToken(req, form, `${SESSION.sessionToken}x`))
    add('session token removed', withToken(req, form, undefined))
  }
  const auth = authFields(req, form)
  const withAuth = (change: Partial<typeof auth>) => rebuildAuth(req, form, { ...auth, ...change })
  const flipped = `${auth.signature.slice(0, -1)}${auth.signature.endsWith('0') ? '1' : '0'}`
  add('signature digit flipped', withAuth({ signature: flipped }))
  add('signature in upper case', withAuth({ signature: auth.signature.toUpperCase() }))
  add(
    'access key id of another user',
    withAuth({ credential: auth.credential.replace(/^[^/]+/, OTHER_USER.accessKeyId) }),
  )
  add('scope region changed', withAuth({ credential: auth.credential.replace('/us-east-1/', '/us-west-2/') }))
  add(
    'scope service changed',
    withAuth({ credential: auth.credential.replace('/execute-api/', '/apigateway/') }),
  )
  add('scope date changed', withAuth({ credential: auth.credential.replace('/20261128/', '/20261127/') }))
  const signed = auth.signedHeaders.split(';')
  const dropped = signed.find((n) => n !== 'host') ?? 'host'
  add(
    `SignedHeaders without ${dropped}`,
    withAuth({ signedHeaders: signed.filter((n) => n !== dropped).join(';') }),
  )
  if (signed.length > 1)
    add('SignedHeaders unsorted', withAuth({ signedHeaders: [...signed].reverse().join(';') }))
  add('X-Amz-Date moved by one second', withDate(req, form, '20261128T120001Z', false))
  add('X-Amz-Date rewritten with second 60', withDate(req, form, SECOND_60, false))
  add('X-Amz-Date and scope rewritten to the 59th day', withDate(req, form, ROLLED_DAY, true))
  if (form === 'query') {
    add('X-Amz-Expires lengthened', { query: setParam('X-Amz-Expires', '3601') })
    add('X-Amz-Expires beyond seven days', { query: setParam('X-Amz-Expires', '604801') })
    add('X-Amz-Algorithm changed', { query: setParam('X-Amz-Algorithm', 'AWS4-HMAC-SHA512') })
  }
  if (typeof req.body === 'string') add('body changed', { body: `${req.body} ` })
  add('stated payload hash of another body', {
    headers: setHeader('x-amz-content-sha256', ['0'.repeat(64)]),
  })
  return out
}

/** Changes that do not touch what was signed: the verifier must still accept them. */
export function controlsOf(req: SignedRequest): Mutation[] {
  const headers = new Map(req.headers)
  headers.set('user-agent', ['conformance/1.0 (unsigned)'])
  headers.set('x-forwarded-for', ['10.1.2.3'])
  const out: Mutation[] = [
    { label: 'unsigned headers added', request: { ...req, headers } },
    { label: 'query parameters in another order', request: { ...req, query: [...req.query].reverse() } },
  ]
  // serverless-offline strips the trailing slash before the function sees the path (the local stage's case).
  if (req.path.length > 1 && req.path.endsWith('/'))
    out.push({
      label: 'trailing slash stripped by the emulator',
      request: { ...req, path: req.path.slice(0, -1), trailingSlashMayBeStripped: true },
    })
  return out
}

function signedHeadersOf(req: SignedRequest, form: 'header' | 'query'): string[] {
  return authFields(req, form).signedHeaders.split(';')
}

interface AuthFields {
  credential: string
  signedHeaders: string
  signature: string
}

function authFields(req: SignedRequest, form: 'header' | 'query'): AuthFields {
  if (form === 'query') {
    const get = (n: string) => req.query.find(([k]) => k === n)?.[1] ?? ''
    return {
      credential: get('X-Amz-Credential'),
      signedHeaders: get('X-Amz-SignedHeaders'),
      signature: get('X-Amz-Signature'),
    }
  }
  const m = /Credential=([^,]+), ?SignedHeaders=([^,]+), ?Signature=(\S+)/.exec(
    req.headers.get('authorization')?.[0] ?? '',
  )
  return { credential: m?.[1] ?? '', signedHeaders: m?.[2] ?? '', signature: m?.[3] ?? '' }
}

function signatureOf(req: SignedRequest, form: 'header' | 'query'): string {
  return authFields(req, form).signature
}

function rebuildAuth(req: SignedRequest, form: 'header' | 'query', f: AuthFields): Partial<SignedRequest> {
  if (form === 'query') {
    const values: Record<string, string> = {
      'X-Amz-Credential': f.credential,
      'X-Amz-SignedHeaders': f.signedHeaders,
      'X-Amz-Signature': f.signature,
    }
    return { query: req.query.map(([k, v]): [string, string] => [k, values[k] ?? v]) }
  }
  const headers = new Map(req.headers)
  headers.set('authorization', [
    `AWS4-HMAC-SHA256 Credential=${f.credential}, SignedHeaders=${f.signedHeaders}, Signature=${f.signature}`,
  ])
  return { headers }
}

function withToken(
  req: SignedRequest,
  form: 'header' | 'query',
  token: string | undefined,
): Partial<SignedRequest> {
  if (form === 'query') {
    const query = req.query.filter(([k]) => k !== 'X-Amz-Security-Token')
    return { query: token === undefined ? query : [...query, ['X-Amz-Security-Token', token]] }
  }
  const headers = new Map(req.headers)
  if (token === undefined) headers.delete('x-amz-security-token')
  else headers.set('x-amz-security-token', [token])
  return { headers }
}

function withDate(
  req: SignedRequest,
  form: 'header' | 'query',
  amzDate: string,
  scopeToo: boolean,
): Partial<SignedRequest> {
  const auth = authFields(req, form)
  const credential = scopeToo
    ? auth.credential.replace(`/${SIGNED_AT.slice(0, 8)}/`, `/${amzDate.slice(0, 8)}/`)
    : auth.credential
  const rebuilt = rebuildAuth(req, form, { ...auth, credential })
  if (form === 'query') {
    return {
      query: (rebuilt.query ?? req.query).map(([k, v]): [string, string] => [
        k,
        k === 'X-Amz-Date' ? amzDate : v,
      ]),
    }
  }
  const headers = new Map(rebuilt.headers ?? req.headers)
  headers.set('x-amz-date', [amzDate])
  return { headers }
}
