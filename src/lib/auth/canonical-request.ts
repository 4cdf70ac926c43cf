import { createHash, createHmac } from 'node:crypto'

/**
 * The SigV4 canonical request as a service that normalises paths computes it from what it received (AWS
 * "Create a canonical request"; execute-api, like every service but S3): pure functions, no clock, no keys
 * table. The verifier feeds it what arrived; a signer would feed it what it is about to send, and both
 * must end with the same bytes.
 *
 * Hand-written rather than taken from @smithy/signature-v4 because a client signer canonicalises what it
 * sends, not what a server receives: it drops `X-Amz-Signature` from the query, cannot hold `__proto__`
 * or a repeated header, and takes a timestamp as a Date, so it cannot reproduce (and refuse) a request
 * whose date is not in the exact basic format. The conformance suite checks these rules against botocore.
 */
export const SIGV4_ALGORITHM = 'AWS4-HMAC-SHA256'

export interface CanonicalRequestInput {
  readonly method: string
  /** The path as the client sent it on the wire (percent-encoding included). */
  readonly path: string
  /** Query parameters, names and values percent-decoded, in any order; `X-Amz-Signature` already removed. */
  readonly query: readonly (readonly [string, string])[]
  /** Signed header names (lower-case, sorted) with every value the request carried, in arrival order. */
  readonly headers: readonly (readonly [string, readonly string[]])[]
  /** Hex SHA-256 of the body. */
  readonly payloadHash: string
}

export function buildCanonicalRequest(input: CanonicalRequestInput): string {
  const names = input.headers.map(([name]) => name)
  const headerLines = input.headers.map(([name, values]) => `${name}:${canonicalHeaderValue(values)}\n`)
  return [
    input.method,
    canonicalPath(input.path),
    canonicalQuery(input.query),
    headerLines.join(''),
    names.join(';'),
    input.payloadHash,
  ].join('\n')
}

/**
 * Dot segments resolved and empty segments dropped (RFC 3986 §5.2.4 plus AWS's collapsing of `//`), the
 * trailing slash kept when anything remains, then every byte but the unreserved ones and `/` encoded.
 * The path is encoded as received, so a `%` the client sent becomes `%25`: the double encoding every
 * service but S3 expects.
 */
export function canonicalPath(path: string): string {
  const segments: string[] = []
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue
    if (segment === '..') segments.pop()
    else segments.push(segment)
  }
  const trailing = path.endsWith('/') && segments.length > 0 ? '/' : ''
  return uriEncode(`/${segments.join('/')}${trailing}`, true)
}

/** Each name and value encoded, sorted by name then value (byte order of the encoded form). */
export function canonicalQuery(query: readonly (readonly [string, string])[]): string {
  return query
    .map(([name, value]) => [uriEncode(name, false), uriEncode(value, false)] as const)
    .sort(([an, av], [bn, bv]) => (an < bn ? -1 : an > bn ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&')
}

/**
 * A header's values as SigV4 signs them: each trimmed, runs of white space (the folds of a value sent on
 * several lines included) reduced to one space, and repeated headers joined with `,` in arrival order.
 */
export function canonicalHeaderValue(values: readonly string[]): string {
  return values.map((v) => v.replace(/[\t\n\v\f\r ]+/g, ' ').trim()).join(',')
}

/** RFC 3986 encoding of the UTF-8 bytes: only `A–Z a–z 0–9 - . _ ~` (and `/` for paths) stay as they are. */
export function uriEncode(value: string, keepSlash: boolean): string {
  let out = ''
  for (const byte of Buffer.from(value, 'utf8')) {
    const c = String.fromCharCode(byte)
    out +=
      /[A-Za-z0-9\-._~]/.test(c) || (keepSlash && c === '/')
        ? c
        : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex')
}

/** The string to sign and the HMAC chain of AWS's "Calculate the signature". */
export function signatureFor(opts: {
  readonly canonicalRequest: string
  /** X-Amz-Date exactly as the request carried it. */
  readonly amzDate: string
  /** `YYYYMMDD/region/service/aws4_request` exactly as the credential carried it. */
  readonly scope: string
  readonly secretAccessKey: string
}): Buffer {
  const [scopeDate, region, service] = opts.scope.split('/') as [string, string, string]
  const stringToSign = [SIGV4_ALGORITHM, opts.amzDate, opts.scope, sha256Hex(opts.canonicalRequest)].join(
    '\n',
  )
  let key: Buffer = hmac(`AWS4${opts.secretAccessKey}`, scopeDate)
  key = hmac(key, region)
  key = hmac(key, service)
  key = hmac(key, 'aws4_request')
  return hmac(key, stringToSign)
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest()
}
