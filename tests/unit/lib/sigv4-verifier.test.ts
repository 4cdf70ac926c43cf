import { verifySigV4, type SignedRequest } from '../../../src/lib/auth/sigv4-verifier'
import { UnauthenticatedError } from '../../../src/lib/errors'
import { FakeClock } from '../../support/fake-clock'
import { signRequest } from '../../../scripts/lib/signed-fetch'

const A = {
  accessKeyId: 'LOCLAAAAAAAAAAAAAAAA',
  secretAccessKey: 'secret-key-of-consumer-a-0123456789abcdef',
}
const B = {
  accessKeyId: 'LOCLBBBBBBBBBBBBBBBB',
  secretAccessKey: 'secret-key-of-consumer-b-0123456789abcdef',
}
const PRINCIPALS: Record<string, string> = {
  [A.accessKeyId]: 'arn:aws:iam::123456789012:user/a',
  [B.accessKeyId]: 'arn:aws:iam::123456789012:user/b',
}
const lookup = (id: string) => {
  const key = id === A.accessKeyId ? A : id === B.accessKeyId ? B : undefined
  return key === undefined
    ? undefined
    : { secretAccessKey: key.secretAccessKey, principalArn: PRINCIPALS[id] as string }
}

async function signed(
  url: string,
  creds = A,
  opts: { method?: string; body?: string; date?: Date; headers?: Record<string, string> } = {},
): Promise<SignedRequest> {
  const u = new URL(url)
  const { headers } = await signRequest(url, {
    credentials: creds,
    method: opts.method ?? 'GET',
    ...(opts.body === undefined ? {} : { body: opts.body }),
    signingDate: opts.date ?? new Date(clock.now()),
    ...(opts.headers === undefined ? {} : { headers: opts.headers }),
  })
  const query: Record<string, string> = {}
  u.searchParams.forEach((v, k) => (query[k] = v))
  return { method: opts.method ?? 'GET', path: u.pathname, headers, query, body: opts.body }
}

const clock = new FakeClock()
const verify = (req: SignedRequest) =>
  verifySigV4(req, { region: 'us-east-1', service: 'execute-api', clock, lookup })

describe('verifySigV4', () => {
  it('accepts a request signed by a known consumer and names its principal', async () => {
    await expect(verify(await signed('http://127.0.0.1:3000/secrets/demo/db'))).resolves.toEqual({
      principalArn: PRINCIPALS[A.accessKeyId],
      accessKeyId: A.accessKeyId,
    })
  })

  it('accepts a signed POST body and a query string', async () => {
    await expect(
      verify(
        await signed('http://127.0.0.1:3000/secrets:batchGet?x=1', A, {
          method: 'POST',
          body: '{"names":["a"]}',
          headers: { 'content-type': 'application/json' },
        }),
      ),
    ).resolves.toBeDefined()
  })

  it('refuses an unsigned request', async () => {
    await expect(
      verify({ method: 'GET', path: '/whoami', headers: { host: 'h' }, query: {}, body: undefined }),
    ).rejects.toThrow('not signed')
  })

  it('refuses a wrong secret key', async () => {
    const req = await signed('http://127.0.0.1:3000/whoami', {
      accessKeyId: A.accessKeyId,
      secretAccessKey: 'wrong',
    })
    await expect(verify(req)).rejects.toThrow('does not match')
  })

  it('refuses an unknown access key', async () => {
    await expect(
      verify(
        await signed('http://127.0.0.1:3000/whoami', {
          accessKeyId: 'LOCLZZZZZZZZZZZZZZZZ',
          secretAccessKey: 'x',
        }),
      ),
    ).rejects.toThrow('not known')
  })

  it('refuses a tampered path, method or body', async () => {
    const req = await signed('http://127.0.0.1:3000/secrets/demo/db')
    await expect(verify({ ...req, path: '/secrets/demo/other' })).rejects.toBeInstanceOf(UnauthenticatedError)
    await expect(verify({ ...req, method: 'POST' })).rejects.toBeInstanceOf(UnauthenticatedError)
    const post = await signed('http://127.0.0.1:3000/secrets:batchGet', A, {
      method: 'POST',
      body: '{"names":["a"]}',
    })
    await expect(verify({ ...post, body: '{"names":["b"]}' })).rejects.toThrow('signed hash')
  })

  it('refuses a tampered body even when the client did not send X-Amz-Content-SHA256', async () => {
    const post = await signed('http://127.0.0.1:3000/secrets:batchGet', A, {
      method: 'POST',
      body: '{"names":["a"]}',
    })
    const headers = Object.fromEntries(
      Object.entries(post.headers).filter(([k]) => k !== 'x-amz-content-sha256'),
    )
    expect(String(headers['authorization'])).toContain('x-amz-content-sha256')
    await expect(verify({ ...post, headers, body: '{"names":["b"]}' })).rejects.toBeInstanceOf(
      UnauthenticatedError,
    )
  })

  it('refuses a signature older or newer than five minutes', async () => {
    await expect(
      verify(await signed('http://127.0.0.1:3000/whoami', A, { date: new Date(clock.now() - 301_000) })),
    ).rejects.toThrow('skew')
    await expect(
      verify(await signed('http://127.0.0.1:3000/whoami', A, { date: new Date(clock.now() + 301_000) })),
    ).rejects.toThrow('skew')
    await expect(
      verify(await signed('http://127.0.0.1:3000/whoami', A, { date: new Date(clock.now() - 299_000) })),
    ).resolves.toBeDefined()
  })

  it("refuses another consumer's signature replayed under a different key id", async () => {
    const req = await signed('http://127.0.0.1:3000/whoami', A)
    const forged = {
      ...req,
      headers: {
        ...req.headers,
        authorization: String(req.headers['authorization']).replace(A.accessKeyId, B.accessKeyId),
      },
    }
    await expect(verify(forged)).rejects.toThrow('does not match')
  })

  it('refuses a signature scoped to another service or region', async () => {
    const req = await signed('http://127.0.0.1:3000/whoami')
    const auth = String(req.headers['authorization'])
    await expect(
      verify({
        ...req,
        headers: { ...req.headers, authorization: auth.replace('/execute-api/', '/secretsmanager/') },
      }),
    ).rejects.toThrow('scope')
    await expect(
      verify({
        ...req,
        headers: { ...req.headers, authorization: auth.replace('/us-east-1/', '/eu-west-1/') },
      }),
    ).rejects.toThrow('scope')
  })
})
