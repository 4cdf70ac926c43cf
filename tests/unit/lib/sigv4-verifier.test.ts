import { Sha256 } from '@aws-crypto/sha256-js'
import { SignatureV4 } from '@smithy/signature-v4'
import {
  buildCanonicalRequest,
  canonicalHeaderValue,
  canonicalPath,
  canonicalQuery,
  sha256Hex,
  signatureFor,
} from '../../../src/lib/auth/canonical-request'
import { verifySigV4, type SigV4Credential, type SignedRequest } from '../../../src/lib/auth/sigv4-verifier'
import { UnauthenticatedError } from '../../../src/lib/errors'
import { FakeClock } from '../../support/fake-clock'
import { signRequest } from '../../../scripts/lib/signed-fetch'

const HOST = '127.0.0.1:3000'
const BASE = `http://${HOST}`
const A = {
  accessKeyId: 'LOCLAAAAAAAAAAAAAAAA',
  secretAccessKey: 'secret-key-of-consumer-a-0123456789abcdef',
}
const B = {
  accessKeyId: 'LOCLBBBBBBBBBBBBBBBB',
  secretAccessKey: 'secret-key-of-consumer-b-0123456789abcdef',
}
const S = {
  accessKeyId: 'ASIASSSSSSSSSSSSSSSS',
  secretAccessKey: 'secret-key-of-session-s-0123456789abcdef',
  sessionToken: 'IQoJb3JpZ2luX2VjEJ//////////session+token/with=padding==',
}
const SESSION_ARN = 'arn:aws:sts::123456789012:assumed-role/billing/session-1'
const clock = new FakeClock()
const SESSION_EXPIRES = clock.now() + 3_600_000
const KEYS = new Map<string, SigV4Credential>([
  [A.accessKeyId, { secretAccessKey: A.secretAccessKey, principalArn: 'arn:aws:iam::123456789012:user/a' }],
  [B.accessKeyId, { secretAccessKey: B.secretAccessKey, principalArn: 'arn:aws:iam::123456789012:user/b' }],
  [
    S.accessKeyId,
    {
      secretAccessKey: S.secretAccessKey,
      principalArn: SESSION_ARN,
      session: { token: S.sessionToken, expiresAt: SESSION_EXPIRES },
    },
  ],
])
const verify = (req: SignedRequest, at: FakeClock = clock) =>
  verifySigV4(req, {
    region: 'us-east-1',
    service: 'execute-api',
    clock: at,
    lookup: (id) => KEYS.get(id),
    endpointHosts: [HOST, `localhost:3000`],
  })

type Creds = { accessKeyId: string; secretAccessKey: string; sessionToken?: string }

function delivered(
  url: string,
  method: string,
  headers: Record<string, string>,
  body?: string,
): SignedRequest {
  const u = new URL(url)
  const map = new Map<string, string[]>()
  for (const [k, v] of Object.entries(headers))
    map.set(k.toLowerCase(), [...(map.get(k.toLowerCase()) ?? []), v])
  return { method, path: u.pathname, headers: map, query: [...u.searchParams], body }
}

/** Signed by the SDK's own signer (@smithy/signature-v4), as the bundled client and AWS SDK consumers sign. */
async function signed(
  url: string,
  creds: Creds = A,
  opts: { method?: string; body?: string; date?: Date; headers?: Record<string, string> } = {},
): Promise<SignedRequest> {
  const { headers } = await signRequest(url, {
    credentials: creds,
    method: opts.method ?? 'GET',
    ...(opts.body === undefined ? {} : { body: opts.body }),
    signingDate: opts.date ?? new Date(clock.now()),
    ...(opts.headers === undefined ? {} : { headers: opts.headers }),
  })
  return delivered(url, opts.method ?? 'GET', headers, opts.body)
}

/** Presigned by the SDK's signer: the signature and its claims travel in the query string. */
async function presigned(url: string, creds: Creds, expiresIn: number, date = new Date(clock.now())) {
  const u = new URL(url)
  const signer = new SignatureV4({
    service: 'execute-api',
    region: 'us-east-1',
    sha256: Sha256,
    credentials: creds,
  })
  const req = await signer.presign(
    {
      method: 'GET',
      protocol: u.protocol,
      hostname: u.hostname,
      port: Number(u.port),
      path: u.pathname,
      query: Object.fromEntries(u.searchParams),
      headers: { host: u.host },
    },
    { expiresIn, signingDate: date },
  )
  const query: [string, string][] = []
  for (const [k, v] of Object.entries(req.query ?? {}))
    for (const one of [v].flat()) query.push([k, one as string])
  return { method: 'GET', path: u.pathname, headers: new Map([['host', [u.host]]]), query, body: undefined }
}

/** Signed over exactly the given strings (dates the SDK signers cannot produce), with this module's rules. */
function signedVerbatim(opts: {
  path: string
  amzDate: string
  scopeDate?: string
  headers?: [string, string[]][]
  query?: [string, string][]
  creds?: Creds
  host?: string
}): SignedRequest {
  const creds = opts.creds ?? A
  const scope = `${opts.scopeDate ?? opts.amzDate.slice(0, 8)}/us-east-1/execute-api/aws4_request`
  const headers = new Map<string, string[]>([
    ['host', [opts.host ?? HOST]],
    ['x-amz-date', [opts.amzDate]],
    ...(opts.headers ?? []),
  ])
  const names = [...headers.keys()].sort()
  const canonicalRequest = buildCanonicalRequest({
    method: 'GET',
    path: opts.path,
    query: opts.query ?? [],
    headers: names.map((n) => [n, headers.get(n) as string[]]),
    payloadHash: sha256Hex(''),
  })
  const sig = signatureFor({
    canonicalRequest,
    amzDate: opts.amzDate,
    scope,
    secretAccessKey: creds.secretAccessKey,
  })
  headers.set('authorization', [
    `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${sig.toString('hex')}`,
  ])
  return { method: 'GET', path: opts.path, headers, query: opts.query ?? [], body: undefined }
}

const withHeader = (req: SignedRequest, name: string, values: string[]): SignedRequest => {
  const headers = new Map(req.headers)
  headers.set(name, values)
  return { ...req, headers }
}
const header = (req: SignedRequest, name: string): string => req.headers.get(name)?.[0] ?? ''
const amzNow = (t = clock.now()) =>
  new Date(t)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '')

describe('verifySigV4: header form', () => {
  it('accepts a request signed by a known consumer and names its principal', async () => {
    expect(verify(await signed(`${BASE}/secrets/demo/db`))).toEqual({
      principalArn: 'arn:aws:iam::123456789012:user/a',
      accessKeyId: A.accessKeyId,
      form: 'header',
    })
  })

  it('accepts a signed POST body and a query string', async () => {
    const req = await signed(`${BASE}/secrets:batchGet?x=1`, A, {
      method: 'POST',
      body: '{"names":["a"]}',
      headers: { 'content-type': 'application/json' },
    })
    expect(verify(req).principalArn).toBe('arn:aws:iam::123456789012:user/a')
  })

  it('refuses an unsigned request', () => {
    expect(() => verify(delivered(`${BASE}/whoami`, 'GET', { host: HOST }))).toThrow('not signed')
  })

  it('refuses a wrong secret key and an unknown access key', async () => {
    const wrong = await signed(`${BASE}/whoami`, { accessKeyId: A.accessKeyId, secretAccessKey: 'wrong' })
    expect(() => verify(wrong)).toThrow('does not match')
    const unknown = await signed(`${BASE}/whoami`, {
      accessKeyId: 'LOCLZZZZZZZZZZZZZZZZ',
      secretAccessKey: 'x',
    })
    expect(() => verify(unknown)).toThrow('not known')
  })

  it('refuses a tampered path, method or body', async () => {
    const req = await signed(`${BASE}/secrets/demo/db`)
    expect(() => verify({ ...req, path: '/secrets/demo/other' })).toThrow(UnauthenticatedError)
    expect(() => verify({ ...req, method: 'POST' })).toThrow(UnauthenticatedError)
    const post = await signed(`${BASE}/secrets:batchGet`, A, { method: 'POST', body: '{"names":["a"]}' })
    expect(() => verify({ ...post, body: '{"names":["b"]}' })).toThrow('signed hash')
    const noStatedHash = new Map(post.headers)
    noStatedHash.delete('x-amz-content-sha256')
    expect(() => verify({ ...post, headers: noStatedHash, body: '{"names":["b"]}' })).toThrow(
      UnauthenticatedError,
    )
  })

  it('refuses a signature older or newer than five minutes', async () => {
    const at = (ms: number) => signed(`${BASE}/whoami`, A, { date: new Date(clock.now() + ms) })
    await expect(at(-301_000).then(verify)).rejects.toThrow('skew')
    await expect(at(301_000).then(verify)).rejects.toThrow('skew')
    await expect(at(-299_000).then(verify)).resolves.toBeDefined()
  })

  it("refuses another consumer's signature replayed under a different key id", async () => {
    const req = await signed(`${BASE}/whoami`, A)
    const forged = withHeader(req, 'authorization', [
      header(req, 'authorization').replace(A.accessKeyId, B.accessKeyId),
    ])
    expect(() => verify(forged)).toThrow('does not match')
  })

  it('refuses a signature scoped to another service or region', async () => {
    const req = await signed(`${BASE}/whoami`)
    const auth = header(req, 'authorization')
    expect(() =>
      verify(withHeader(req, 'authorization', [auth.replace('/execute-api/', '/secretsmanager/')])),
    ).toThrow('scope')
    expect(() =>
      verify(withHeader(req, 'authorization', [auth.replace('/us-east-1/', '/eu-west-1/')])),
    ).toThrow('scope')
  })
})

describe('verifySigV4: temporary credentials', () => {
  it('accepts a session key with its token and reports the assumed-role session', async () => {
    const req = await signed(`${BASE}/whoami`, S)
    expect(header(req, 'x-amz-security-token')).toBe(S.sessionToken)
    expect(verify(req)).toMatchObject({ principalArn: SESSION_ARN, accessKeyId: S.accessKeyId })
  })

  it('accepts the token sent after signing (not covered by SignedHeaders), as AWS does', async () => {
    const req = await signed(`${BASE}/whoami`, {
      accessKeyId: S.accessKeyId,
      secretAccessKey: S.secretAccessKey,
    })
    expect(verify(withHeader(req, 'x-amz-security-token', [S.sessionToken])).principalArn).toBe(SESSION_ARN)
  })

  it('refuses a session key without its token, or with another token', async () => {
    const noToken = await signed(`${BASE}/whoami`, {
      accessKeyId: S.accessKeyId,
      secretAccessKey: S.secretAccessKey,
    })
    expect(() => verify(noToken)).toThrow('need their security token')
    const wrong = await signed(`${BASE}/whoami`, { ...S, sessionToken: `${S.sessionToken}x` })
    expect(() => verify(wrong)).toThrow('not valid for these credentials')
  })

  it('refuses a session token sent with long-term keys', async () => {
    const req = await signed(`${BASE}/whoami`, { ...A, sessionToken: S.sessionToken })
    expect(() => verify(req)).toThrow('not valid for these credentials')
  })

  it('refuses session credentials once they have expired', async () => {
    const later = new FakeClock(SESSION_EXPIRES)
    const req = await signed(`${BASE}/whoami`, S, { date: new Date(later.now()) })
    expect(() => verify(req, later)).toThrow('expired')
    expect(verify(req, new FakeClock(SESSION_EXPIRES - 1)).principalArn).toBe(SESSION_ARN)
  })
})

describe('verifySigV4: query-string (presigned) form', () => {
  it('accepts a presigned GET, with the session token in the query', async () => {
    const req = await presigned(`${BASE}/secrets/demo/db`, S, 300)
    expect(req.query.map(([k]) => k)).toEqual(
      expect.arrayContaining(['X-Amz-Signature', 'X-Amz-Security-Token']),
    )
    expect(verify(req)).toMatchObject({ principalArn: SESSION_ARN, form: 'query' })
  })

  it('refuses it once X-Amz-Expires has passed, and accepts it up to that second', async () => {
    const req = await presigned(`${BASE}/whoami`, A, 60)
    expect(verify(req, new FakeClock(clock.now() + 60_000)).form).toBe('query')
    expect(() => verify(req, new FakeClock(clock.now() + 60_001))).toThrow('expired')
  })

  it('refuses X-Amz-Expires beyond seven days, and a presigned request dated in the future', async () => {
    const req = await presigned(`${BASE}/whoami`, A, 604_800)
    expect(verify(req).form).toBe('query')
    const week = req.query.map(([k, v]): [string, string] => [k, k === 'X-Amz-Expires' ? '604801' : v])
    expect(() => verify({ ...req, query: week })).toThrow('X-Amz-Expires')
    const future = await presigned(`${BASE}/whoami`, A, 60, new Date(clock.now() + 301_000))
    expect(() => verify(future)).toThrow('future')
  })

  it('refuses a second X-Amz-Signature, a query parameter added after signing, and __proto__', async () => {
    const req = await presigned(`${BASE}/whoami`, A, 300)
    expect(() => verify({ ...req, query: [...req.query, ['X-Amz-Signature', '0'.repeat(64)]] })).toThrow(
      'more than once',
    )
    expect(() => verify({ ...req, query: [...req.query, ['extra', '1']] })).toThrow('does not match')
    expect(() => verify({ ...req, query: [...req.query, ['__proto__', 'x']] })).toThrow('does not match')
  })
})

describe('verifySigV4: what API Gateway refuses', () => {
  it('refuses X-Amz-Signature or __proto__ added to the query of a header-signed request', async () => {
    const req = await signed(`${BASE}/whoami`)
    expect(() => verify({ ...req, query: [['X-Amz-Signature', '0'.repeat(64)]] })).toThrow('does not match')
    expect(() => verify({ ...req, query: [['__proto__', 'x']] })).toThrow('does not match')
  })

  it('accepts a request signed verbatim over a well-formed date (control for the date tests)', () => {
    expect(verify(signedVerbatim({ path: '/whoami', amzDate: amzNow() })).form).toBe('header')
  })

  it('refuses a correctly signed X-Amz-Date with second 60, even though it names a valid instant', () => {
    // 12:00:00 written as 11:59:60: the instant is right, the form is not.
    const amzDate = `${amzNow().slice(0, 9)}115960Z`
    expect(() => verify(signedVerbatim({ path: '/whoami', amzDate }))).toThrow('X-Amz-Date must be')
  })

  it('refuses a correctly signed date on a 61st day, for the scope and X-Amz-Date alike', () => {
    // 2026-11-28 written as the 59th day of October; and a credential scope naming the 61st of September.
    const t = new FakeClock(Date.UTC(2026, 10, 28, 12, 0, 0))
    const rolled = signedVerbatim({ path: '/whoami', amzDate: '20261059T120000Z' })
    expect(() => verify(rolled, t)).toThrow('scope date must be a calendar date')
    const scopeOnly = signedVerbatim({ path: '/whoami', amzDate: '20261128T120000Z', scopeDate: '20260961' })
    expect(() => verify(scopeOnly, t)).toThrow(UnauthenticatedError)
    expect(verify(signedVerbatim({ path: '/whoami', amzDate: '20261128T120000Z' }), t).form).toBe('header')
  })

  it.each(['authorization', 'x-amz-date', 'x-amz-security-token', 'host', 'x-amz-content-sha256'])(
    'refuses a duplicated %s header, whichever copy is the right one',
    async (name) => {
      const req = await signed(`${BASE}/secrets:batchGet`, S, { method: 'POST', body: '{}' })
      const value = header(req, name)
      for (const values of [
        [value, 'other'],
        ['other', value],
        [value, value],
      ])
        expect(() => verify(withHeader(req, name, values))).toThrow('appears more than once')
    },
  )

  it('refuses a correctly signed Host that is not the endpoint (another name or port)', async () => {
    for (const url of [
      'http://evil.example:3000/whoami',
      'http://127.0.0.1:3001/whoami',
      'http://127.0.0.1/whoami',
    ])
      expect(() =>
        verify(signedVerbatim({ path: '/whoami', amzDate: amzNow(), host: new URL(url).host })),
      ).toThrow("does not name this API's endpoint")
    await expect(signed('http://localhost:3000/whoami').then(verify)).resolves.toMatchObject({
      form: 'header',
    })
  })
})

describe('verifySigV4: paths and repeated headers', () => {
  it('accepts a path the emulator delivered without the trailing slash the client signed', async () => {
    const req = await signed(`${BASE}/whoami/`)
    const delivered = { ...req, path: '/whoami' }
    expect(() => verify(delivered)).toThrow('does not match')
    expect(verify({ ...delivered, trailingSlashMayBeStripped: true }).form).toBe('header')
  })

  it('combines a repeated header in arrival order, and refuses the copies reordered or one dropped', () => {
    const req = signedVerbatim({
      path: '/whoami',
      amzDate: amzNow(),
      headers: [['x-demo', ['b', ' a  a ', 'c']]],
    })
    expect(verify(req).form).toBe('header')
    expect(() => verify(withHeader(req, 'x-demo', ['a  a', 'b', 'c']))).toThrow('does not match')
    expect(() => verify(withHeader(req, 'x-demo', ['b', 'c']))).toThrow('does not match')
  })
})

describe('canonical request rules (AWS "Create a canonical request")', () => {
  it.each([
    ['', '/'],
    ['/', '/'],
    ['/./', '/'],
    ['//', '/'],
    ['/a/b/../..', '/'],
    ['/a/./b/../c', '/a/c'],
    ['//secrets//demo//', '/secrets/demo/'],
    ['/whoami/', '/whoami/'],
    ['/-._~AZaz09', '/-._~AZaz09'],
    ['/a b', '/a%20b'],
    ['/%E1%88%B4', '/%25E1%2588%25B4'],
    ['/caf\u00e9', '/caf%C3%A9'],
    ['/secrets:batchGet', '/secrets%3AbatchGet'],
  ])('normalises and double-encodes the path %j as %j', (path, expected) => {
    expect(canonicalPath(path)).toBe(expected)
  })

  it('sorts the query by encoded name then value and encodes all but the unreserved characters', () => {
    const pairs: [string, string][] = [
      ['b', '2'],
      ['a', 'z'],
      ['A', '1'],
      ['a', 'y'],
      ['é', 'x y'],
      ['k', '+/=:'],
      ['e', ''],
    ]
    expect(canonicalQuery(pairs)).toBe('%C3%A9=x%20y&A=1&a=y&a=z&b=2&e=&k=%2B%2F%3D%3A')
  })

  it('trims header values, folds white space (folded lines included) and joins repeats with commas', () => {
    expect(canonicalHeaderValue(['  value1\n   value2\r\n\tvalue3 '])).toBe('value1 value2 value3')
    expect(canonicalHeaderValue(['v2', 'v2', ' "a   b" '])).toBe('v2,v2,"a b"')
  })
})
