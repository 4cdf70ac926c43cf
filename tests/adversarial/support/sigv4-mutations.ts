import type { SignedRequest } from '../../../src/lib/auth/sigv4-verifier'
import {
  ENDPOINT_HOST,
  OTHER_USER,
  ROLLED_DAY,
  SECOND_60,
  SESSION,
  SIGNED_AT,
  type ConformanceCase,
} from './sigv4-cases'

/**
 * Mutations of a signed request, as API Gateway would receive it: each changes one thing the signature
 * covers (or one rule of the form), so each must be refused. Controls change only what is not signed, so
 * each must still be accepted.
 */
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
