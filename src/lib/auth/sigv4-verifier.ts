import { createHash, timingSafeEqual } from 'node:crypto'
import type { Clock } from '../clock'
import { UnauthenticatedError } from '../errors'
import { buildCanonicalRequest, sha256Hex, signatureFor } from './canonical-request'
import { parseSigV4Auth, type SigV4Auth } from './sigv4-auth'

export interface SigV4Credential {
  readonly secretAccessKey: string
  /** How the caller is reported: an IAM user or role ARN, or `arn:aws:sts::…:assumed-role/ROLE/SESSION`. */
  readonly principalArn: string
  /** Temporary credentials: the token each request must carry, and when (epoch ms) they stop working. */
  readonly session?: { readonly token: string; readonly expiresAt: number }
}

export interface SignedRequest {
  readonly method: string
  /** The path as delivered, percent-encoding as on the wire. */
  readonly path: string
  /**
   * The HTTP layer removed any trailing slash before delivering `path` (serverless-offline's router does),
   * so the client may have signed `path` or `path/`; both are tried.
   */
  readonly trailingSlashMayBeStripped?: boolean
  /** Every header line: lower-cased name → its values in arrival order. */
  readonly headers: ReadonlyMap<string, readonly string[]>
  /** Every query parameter in arrival order, percent-decoded. */
  readonly query: readonly (readonly [string, string])[]
  readonly body: string | Uint8Array | undefined
}

export interface VerifyOptions {
  readonly region: string
  readonly service: string
  readonly clock: Clock
  readonly lookup: (accessKeyId: string) => SigV4Credential | undefined
  /** The Host values that name this endpoint (`host:port`); a request signed for another host is refused. */
  readonly endpointHosts: readonly string[]
}

export interface VerifiedCaller {
  readonly principalArn: string
  readonly accessKeyId: string
  readonly form: SigV4Auth['form']
}

/**
 * AWS Signature Version 4 verification for the local stage, where serverless-offline does not enforce
 * AWS_IAM: it accepts what API Gateway's AWS_IAM accepts and refuses what it refuses, so a consumer that
 * works locally works deployed. Header (`Authorization`) and query-string (presigned) forms, temporary
 * credentials with their session token, repeated headers, and execute-api's path normalisation. Never used
 * in a deployed stage (config refuses it there). Every refusal is an UnauthenticatedError (401) whose
 * message names the rule, never a value from the request.
 *
 * @example
 * const { principalArn } = verifySigV4(
 *   { method: 'GET', path: '/whoami', headers: req.rawHeaders, query: req.rawQuery, body: undefined },
 *   { region: 'us-east-1', service: 'execute-api', clock, lookup, endpointHosts: ['127.0.0.1:3000'] },
 * )
 */
export function verifySigV4(req: SignedRequest, opts: VerifyOptions): VerifiedCaller {
  const auth = parseSigV4Auth(req, opts)
  checkHost(req, opts.endpointHosts)
  const payloadHash = checkPayload(req)
  const credential = opts.lookup(auth.accessKeyId)
  if (credential === undefined) throw new UnauthenticatedError('The access key is not known.')
  checkSessionToken(auth, credential, opts.clock.now())

  const headers = auth.signedHeaders.map((name) => {
    const values = req.headers.get(name)
    if (values === undefined) throw new UnauthenticatedError('A signed header is missing from the request.')
    return [name, values] as const
  })
  const query = auth.form === 'query' ? req.query.filter(([name]) => name !== 'X-Amz-Signature') : req.query
  const paths = [req.path]
  if (req.trailingSlashMayBeStripped === true && !req.path.endsWith('/')) paths.push(`${req.path}/`)
  const presented = Buffer.from(auth.signature, 'hex')
  let matched = false
  // Every candidate is computed and compared, so the time taken does not say which one matched.
  for (const path of paths) {
    const canonicalRequest = buildCanonicalRequest({
      method: req.method,
      path,
      query,
      headers,
      payloadHash,
    })
    const expected = signatureFor({
      canonicalRequest,
      amzDate: auth.amzDate,
      scope: auth.scope,
      secretAccessKey: credential.secretAccessKey,
    })
    if (timingSafeEqual(expected, presented)) matched = true
  }
  if (!matched) throw new UnauthenticatedError('The request signature does not match.')
  return { principalArn: credential.principalArn, accessKeyId: auth.accessKeyId, form: auth.form }
}

function checkHost(req: SignedRequest, endpointHosts: readonly string[]): void {
  const host = req.headers.get('host')?.[0]?.trim().toLowerCase()
  if (host === undefined || !endpointHosts.some((h) => h.toLowerCase() === host)) {
    throw new UnauthenticatedError("The Host header does not name this API's endpoint.")
  }
}

/**
 * The payload hash is always computed from the body. A client may also state it in X-Amz-Content-SHA256
 * (the SDK signers do); the signature then covers that header, so a stated hash must match the body.
 */
function checkPayload(req: SignedRequest): string {
  const hash = sha256Hex(req.body ?? '')
  const stated = req.headers.get('x-amz-content-sha256')
  if (stated !== undefined && stated[0]?.trim() !== hash) {
    throw new UnauthenticatedError('The payload does not match its signed hash.')
  }
  return hash
}

/**
 * Temporary credentials are valid only with their session token and until they expire; long-term keys
 * never carry a token. The token need not be signed (AWS's "token added after signing" form) but must be
 * the one issued with the key. Compared as digests, so neither length nor content shows in the timing.
 */
function checkSessionToken(auth: SigV4Auth, credential: SigV4Credential, now: number): void {
  if (credential.session === undefined) {
    if (auth.sessionToken !== undefined)
      throw new UnauthenticatedError('The security token is not valid for these credentials.')
    return
  }
  if (auth.sessionToken === undefined)
    throw new UnauthenticatedError('Temporary credentials need their security token (X-Amz-Security-Token).')
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest()
  if (!timingSafeEqual(digest(auth.sessionToken), digest(credential.session.token)))
    throw new UnauthenticatedError('The security token is not valid for these credentials.')
  if (now >= credential.session.expiresAt)
    throw new UnauthenticatedError('The security token included in the request has expired.')
}
