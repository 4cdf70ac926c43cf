import { createHash } from 'node:crypto'

/**
 * Our own SigV4 conformance cases, one or more per category of AWS's published SigV4 test suite (botocore's
 * tests/unit/auth/aws4_testsuite, aws-c-auth's tests/aws-signing-test-suite/v4), written for execute-api:
 * the host is an API Gateway endpoint, paths carry the stage, and paths are normalised (as every service
 * but S3 does). Each is signed by botocore; the verifier must accept it and refuse every mutation of sigv4-mutations.ts.
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
