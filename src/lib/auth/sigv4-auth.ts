import type { Clock } from '../clock'
import { UnauthenticatedError } from '../errors'
import { SIGV4_ALGORITHM } from './canonical-request'

/**
 * The signature's claims, read from the Authorization header or from a presigned URL's query string,
 * each field held to the exact form AWS defines before any key is looked up. A request either carries
 * one unambiguous set of claims or is refused: a header that would have a copy ignored, a date that only
 * names the right instant after normalisation, or an expired presigned URL never reaches the HMAC.
 */
export interface SigV4Auth {
  readonly form: 'header' | 'query'
  readonly accessKeyId: string
  /** `YYYYMMDD/region/service/aws4_request`, exactly as sent. */
  readonly scope: string
  /** X-Amz-Date exactly as sent. */
  readonly amzDate: string
  readonly signedHeaders: readonly string[]
  readonly signature: string
  readonly sessionToken: string | undefined
}

/** The query parameters of a presigned request. They authenticate it and are not the route's input. */
export const SIGV4_QUERY_PARAMETERS: readonly string[] = [
  'X-Amz-Algorithm',
  'X-Amz-Credential',
  'X-Amz-Date',
  'X-Amz-Expires',
  'X-Amz-SignedHeaders',
  'X-Amz-Signature',
  'X-Amz-Security-Token',
]

/** AWS's limit on X-Amz-Expires: seven days. */
export const SIGV4_MAX_EXPIRES_SECONDS = 604_800
const MAX_SKEW_MS = 5 * 60 * 1000

/** Headers of which the verifier reads one copy: a second copy would be ignored, so it is refused. */
const SINGLE_HEADERS: readonly (readonly [string, string])[] = [
  ['authorization', 'Authorization'],
  ['x-amz-date', 'X-Amz-Date'],
  ['x-amz-security-token', 'X-Amz-Security-Token'],
  ['host', 'Host'],
  ['x-amz-content-sha256', 'X-Amz-Content-SHA256'],
]

interface RequestParts {
  readonly headers: ReadonlyMap<string, readonly string[]>
  readonly query: readonly (readonly [string, string])[]
}

export function parseSigV4Auth(
  req: RequestParts,
  opts: { readonly region: string; readonly service: string; readonly clock: Clock },
): SigV4Auth {
  for (const [name, display] of SINGLE_HEADERS) {
    if ((req.headers.get(name)?.length ?? 0) > 1)
      throw new UnauthenticatedError(`The ${display} header appears more than once.`)
  }
  const authorization = req.headers.get('authorization')?.[0]
  if (authorization !== undefined) return headerAuth(authorization, req, opts)
  if (req.query.some(([name]) => SIGV4_QUERY_PARAMETERS.includes(name))) return queryAuth(req, opts)
  throw new UnauthenticatedError('The request is not signed.')
}

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^,\s]+), ?SignedHeaders=([^,\s]+), ?Signature=([^,\s]+)$/

function headerAuth(
  authorization: string,
  req: RequestParts,
  opts: { readonly region: string; readonly service: string; readonly clock: Clock },
): SigV4Auth {
  const m = AUTHORIZATION.exec(authorization.trim())
  if (m === null) throw new UnauthenticatedError('The Authorization header is not an AWS SigV4 signature.')
  const [, credential, signedHeaderList, signature] = m as unknown as [string, string, string, string]
  const amzDate = req.headers.get('x-amz-date')?.[0]?.trim()
  if (amzDate === undefined) throw new UnauthenticatedError('The request has no X-Amz-Date header.')
  const { accessKeyId, scope } = parseCredential(credential, amzDate, opts)
  const signedAt = parseAmzDate(amzDate)
  if (Math.abs(opts.clock.now() - signedAt) > MAX_SKEW_MS) {
    throw new UnauthenticatedError(
      'The signature has expired or is from the future (more than 5 minutes of skew).',
    )
  }
  const signedHeaders = parseSignedHeaders(signedHeaderList)
  if (!signedHeaders.includes('x-amz-date') || signedHeaders.includes('authorization'))
    throw new UnauthenticatedError('The signature must cover X-Amz-Date and cannot cover Authorization.')
  return {
    form: 'header',
    accessKeyId,
    scope,
    amzDate,
    signedHeaders,
    signature: parseSignature(signature),
    sessionToken: req.headers.get('x-amz-security-token')?.[0]?.trim(),
  }
}

function queryAuth(
  req: RequestParts,
  opts: { readonly region: string; readonly service: string; readonly clock: Clock },
): SigV4Auth {
  const param = (name: string, required: boolean): string | undefined => {
    const values = req.query.filter(([n]) => n === name)
    if (values.length > 1)
      throw new UnauthenticatedError(`The ${name} query parameter appears more than once.`)
    if (values.length === 0 && required)
      throw new UnauthenticatedError(`A presigned request needs the ${name} query parameter.`)
    return values[0]?.[1]
  }
  const algorithm = param('X-Amz-Algorithm', true)
  const credential = param('X-Amz-Credential', true) as string
  const amzDate = param('X-Amz-Date', true) as string
  const expires = param('X-Amz-Expires', true) as string
  const signedHeaderList = param('X-Amz-SignedHeaders', true) as string
  const signature = param('X-Amz-Signature', true) as string
  const sessionToken = param('X-Amz-Security-Token', false)
  if (algorithm !== SIGV4_ALGORITHM)
    throw new UnauthenticatedError(`X-Amz-Algorithm must be ${SIGV4_ALGORITHM}.`)
  const { accessKeyId, scope } = parseCredential(credential, amzDate, opts)
  const signedAt = parseAmzDate(amzDate)
  if (!/^\d{1,6}$/.test(expires) || Number(expires) < 1 || Number(expires) > SIGV4_MAX_EXPIRES_SECONDS)
    throw new UnauthenticatedError(`X-Amz-Expires must be 1–${SIGV4_MAX_EXPIRES_SECONDS} seconds.`)
  const now = opts.clock.now()
  if (now > signedAt + Number(expires) * 1000)
    throw new UnauthenticatedError('The presigned request has expired.')
  if (signedAt - now > MAX_SKEW_MS)
    throw new UnauthenticatedError('The presigned request is dated more than 5 minutes in the future.')
  return {
    form: 'query',
    accessKeyId,
    scope,
    amzDate,
    signedHeaders: parseSignedHeaders(signedHeaderList),
    signature: parseSignature(signature),
    sessionToken,
  }
}

/** `AKID/YYYYMMDD/region/service/aws4_request`, its date that of X-Amz-Date, for this region and service. */
function parseCredential(
  credential: string,
  amzDate: string,
  opts: { readonly region: string; readonly service: string },
): { accessKeyId: string; scope: string } {
  const parts = credential.split('/')
  const [accessKeyId, scopeDate, region, service, terminator] = parts
  if (
    parts.length !== 5 ||
    accessKeyId === undefined ||
    !/^[A-Za-z0-9]{4,128}$/.test(accessKeyId) ||
    terminator !== 'aws4_request'
  ) {
    throw new UnauthenticatedError('The credential must be AccessKeyId/YYYYMMDD/region/service/aws4_request.')
  }
  if (region !== opts.region || service !== opts.service)
    throw new UnauthenticatedError(`The signature's scope must be ${opts.region}/${opts.service}.`)
  if (scopeDate === undefined || !isExactDate(scopeDate))
    throw new UnauthenticatedError('The credential scope date must be a calendar date in the form YYYYMMDD.')
  if (amzDate.slice(0, 8) !== scopeDate)
    throw new UnauthenticatedError('The credential scope date does not match X-Amz-Date.')
  return { accessKeyId, scope: parts.slice(1).join('/') }
}

/**
 * X-Amz-Date in the exact basic ISO 8601 form `YYYYMMDDTHHMMSSZ`. The signature covers the string, not the
 * instant, so a string that only names a valid instant after normalisation (second 60, a 61st day) is
 * refused, as AWS refuses it, rather than read as the instant it rolls over to.
 */
function parseAmzDate(amzDate: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate)
  const [y = NaN, mo = NaN, d, h, mi, s] = (m?.slice(1) ?? []).map(Number)
  const t = Date.UTC(y, mo - 1, d, h, mi, s)
  if (Number.isNaN(t) || formatAmzDate(t) !== amzDate)
    throw new UnauthenticatedError('X-Amz-Date must be a valid time in the form YYYYMMDDTHHMMSSZ.')
  return t
}

function isExactDate(yyyymmdd: string): boolean {
  if (!/^\d{8}$/.test(yyyymmdd)) return false
  const t = Date.UTC(
    Number(yyyymmdd.slice(0, 4)),
    Number(yyyymmdd.slice(4, 6)) - 1,
    Number(yyyymmdd.slice(6, 8)),
  )
  return !Number.isNaN(t) && formatAmzDate(t).slice(0, 8) === yyyymmdd
}

function formatAmzDate(t: number): string {
  const iso = new Date(t).toISOString() // 2026-01-31T12:36:00.000Z; years before 1000 or after 9999 never match
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`
}

/** Lower-case header names, sorted and without repeats (as every signer writes them), covering Host. */
function parseSignedHeaders(list: string): string[] {
  const names = list.split(';')
  const wellFormed = names.every(
    (n, i) => /^[a-z0-9!#$%&'*+\-.^_`|~]+$/.test(n) && (i === 0 || (names[i - 1] as string) < n),
  )
  if (!wellFormed)
    throw new UnauthenticatedError('SignedHeaders must list lower-case header names, sorted, each once.')
  if (!names.includes('host')) throw new UnauthenticatedError('The signature must cover the Host header.')
  return names
}

function parseSignature(signature: string): string {
  if (!/^[0-9a-f]{64}$/.test(signature))
    throw new UnauthenticatedError('The signature must be 64 lower-case hexadecimal digits.')
  return signature
}
