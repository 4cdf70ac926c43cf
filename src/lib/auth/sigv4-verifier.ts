import { createHash, timingSafeEqual } from 'node:crypto'
import { Sha256 } from '@aws-crypto/sha256-js'
import { SignatureV4 } from '@smithy/signature-v4'
import type { Clock } from '../clock'
import { UnauthenticatedError } from '../errors'

/**
 * AWS Signature Version 4 verification for the local stage, where serverless-offline does not enforce
 * AWS_IAM. It recomputes the signature with @smithy/signature-v4 (the SDK's own signer) over exactly the
 * headers the client says it signed, so botocore, aws4 and @smithy clients all verify the same way they
 * would against API Gateway. Never used in a deployed stage (config refuses it there).
 */
export const SIGV4_MAX_SKEW_MS = 5 * 60 * 1000

export interface SigV4Credential {
  readonly secretAccessKey: string
  readonly principalArn: string
}

export interface SignedRequest {
  readonly method: string
  readonly path: string
  /** Header names in any case; values as received. */
  readonly headers: Readonly<Record<string, string | undefined>>
  readonly query: Readonly<Record<string, string | string[]>>
  readonly body: string | Uint8Array | undefined
}

const AUTH =
  /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([a-z0-9-]+)\/([a-z0-9-]+)\/aws4_request, ?SignedHeaders=([a-z0-9;.-]+), ?Signature=([0-9a-f]{64})$/

export async function verifySigV4(
  req: SignedRequest,
  opts: {
    region: string
    service: string
    clock: Clock
    lookup: (accessKeyId: string) => SigV4Credential | undefined
  },
): Promise<{ principalArn: string; accessKeyId: string }> {
  const headers: Record<string, string> = {}
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k.toLowerCase()] = v
  const auth = headers['authorization']
  if (auth === undefined) throw new UnauthenticatedError('The request is not signed.')
  const m = AUTH.exec(auth)
  if (m === null) throw new UnauthenticatedError('The Authorization header is not an AWS SigV4 signature.')
  const [, accessKeyId, scopeDate, region, service, signedHeaderList, signature] = m as unknown as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ]
  if (region !== opts.region || service !== opts.service) {
    throw new UnauthenticatedError(`The signature's scope must be ${opts.region}/${opts.service}.`)
  }
  const amzDate = headers['x-amz-date']
  const signingDate = amzDate === undefined ? undefined : parseAmzDate(amzDate)
  if (signingDate === undefined) throw new UnauthenticatedError('The request has no valid X-Amz-Date.')
  if (amzDate?.slice(0, 8) !== scopeDate)
    throw new UnauthenticatedError('The credential scope date does not match X-Amz-Date.')
  if (Math.abs(opts.clock.now() - signingDate.getTime()) > SIGV4_MAX_SKEW_MS) {
    throw new UnauthenticatedError(
      'The signature has expired or is from the future (more than 5 minutes of skew).',
    )
  }
  const signedHeaders = signedHeaderList.split(';')
  if (!signedHeaders.includes('host') || !signedHeaders.includes('x-amz-date')) {
    throw new UnauthenticatedError('The signature must cover the Host and X-Amz-Date headers.')
  }
  if (headers['x-amz-security-token'] !== undefined) {
    throw new UnauthenticatedError('Temporary credentials are not accepted by the local stage.')
  }
  // The client may state the payload hash in X-Amz-Content-SHA256 (the SDK signers do); the signature then
  // covers that header, not the body, so the stated hash must be checked against the body itself.
  const statedHash = headers['x-amz-content-sha256']
  if (statedHash !== undefined && statedHash !== sha256Hex(req.body)) {
    throw new UnauthenticatedError('The payload does not match its signed hash.')
  }
  const credential = opts.lookup(accessKeyId)
  if (credential === undefined) throw new UnauthenticatedError('The access key is not known.')

  const toSign: Record<string, string> = {}
  for (const name of signedHeaders) {
    const value = headers[name]
    if (value === undefined) throw new UnauthenticatedError('A signed header is missing from the request.')
    toSign[name] = value
  }
  const signer = new SignatureV4({
    service,
    region,
    sha256: Sha256,
    credentials: { accessKeyId, secretAccessKey: credential.secretAccessKey },
    applyChecksum: false,
  })
  const hostHeader = toSign['host'] ?? ''
  const signed = await signer.sign(
    {
      method: req.method.toUpperCase(),
      protocol: 'https:',
      hostname: hostHeader,
      path: req.path,
      query: { ...req.query },
      headers: toSign,
      body: req.body,
    },
    { signingDate, signableHeaders: new Set(signedHeaders) },
  )
  const signedAuth = signed.headers['authorization'] ?? ''
  const expected = /Signature=([0-9a-f]{64})/.exec(signedAuth)?.[1]
  const expectedHeaders = /SignedHeaders=([^,]+)/.exec(signedAuth)?.[1]
  if (
    expected === undefined ||
    expectedHeaders !== signedHeaderList ||
    !timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(signature, 'hex'))
  ) {
    throw new UnauthenticatedError('The request signature does not match.')
  }
  return { principalArn: credential.principalArn, accessKeyId }
}

function sha256Hex(body: string | Uint8Array | undefined): string {
  return createHash('sha256')
    .update(body ?? '')
    .digest('hex')
}

function parseAmzDate(s: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s)
  if (m === null) return undefined
  const [, y, mo, d, h, mi, se] = m.map(Number) as [number, number, number, number, number, number, number]
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, se))
  return Number.isNaN(date.getTime()) ? undefined : date
}
