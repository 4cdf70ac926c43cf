import type { SigV4Credential } from './sigv4-verifier'

/**
 * The local stage's consumer-keys secret: written by `npm start` (scripts/lib/local-consumers.ts), loaded
 * into the Lambda context by @middy/secrets-manager, read here. It holds what AWS would know about each
 * demo consumer's credentials, and the Host values of the local endpoint, which API Gateway knows as its
 * own domain name. A user consumer gets a long-term key pair; a role consumer gets what AssumeRole hands
 * out: an `ASIA…` key id, a secret key, a session token, a session name and an expiry.
 */
export interface LocalConsumerKeysDocument {
  /** `host:port` values a request may be signed for (the loopback names of the API's port). */
  readonly endpointHosts: readonly string[]
  readonly consumers: readonly LocalConsumerKey[]
}

export interface LocalConsumerKey {
  readonly name: string
  /** The consumer's IAM user or role (`arn:aws:iam::ACCOUNT:role/NAME`), as the catalog lists it. */
  readonly principalArn: string
  readonly accessKeyId: string
  readonly secretAccessKey: string
  /** Role consumers only (all three or none): the assumed-role session's token, name and expiry (ISO 8601). */
  readonly sessionToken?: string
  readonly sessionName?: string
  readonly expiration?: string
}

/** The document, checked field by field; `undefined` when the secret does not have this shape. */
export function parseLocalConsumerKeys(raw: unknown): LocalConsumerKeysDocument | undefined {
  const o = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>
  const hosts = o['endpointHosts']
  const consumers = o['consumers']
  if (!Array.isArray(hosts) || !hosts.every((h) => typeof h === 'string') || !Array.isArray(consumers))
    return undefined
  const parsed = (consumers as unknown[]).map(parseConsumer)
  if (parsed.some((c) => c === undefined)) return undefined
  return { endpointHosts: hosts, consumers: parsed as LocalConsumerKey[] }
}

function parseConsumer(raw: unknown): LocalConsumerKey | undefined {
  const c = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>
  const { name, principalArn, accessKeyId, secretAccessKey, sessionToken, sessionName, expiration } = c
  if (
    typeof name !== 'string' ||
    typeof principalArn !== 'string' ||
    typeof accessKeyId !== 'string' ||
    typeof secretAccessKey !== 'string'
  )
    return undefined
  const key = { name, principalArn, accessKeyId, secretAccessKey }
  if (sessionToken === undefined && sessionName === undefined && expiration === undefined) return key
  if (
    typeof sessionToken !== 'string' ||
    typeof sessionName !== 'string' ||
    typeof expiration !== 'string' ||
    Number.isNaN(Date.parse(expiration))
  )
    return undefined
  return { ...key, sessionToken, sessionName, expiration }
}

/**
 * What the verifier needs per access key. A session is reported as STS reports an assumed role,
 * `arn:<partition>:sts::ACCOUNT:assumed-role/ROLE/SESSION`, which principal parsing normalises to the role.
 */
export function credentialsByAccessKey(doc: LocalConsumerKeysDocument): ReadonlyMap<string, SigV4Credential> {
  const byKey = new Map<string, SigV4Credential>()
  for (const c of doc.consumers) {
    if (c.sessionToken === undefined || c.sessionName === undefined || c.expiration === undefined) {
      byKey.set(c.accessKeyId, { secretAccessKey: c.secretAccessKey, principalArn: c.principalArn })
      continue
    }
    byKey.set(c.accessKeyId, {
      secretAccessKey: c.secretAccessKey,
      principalArn: assumedRoleArn(c.principalArn, c.sessionName),
      session: { token: c.sessionToken, expiresAt: Date.parse(c.expiration) },
    })
  }
  return byKey
}

/** `arn:aws:iam::A:role/R` + session S → `arn:aws:sts::A:assumed-role/R/S` (the role's path is not kept, as in STS). */
export function assumedRoleArn(roleArn: string, sessionName: string): string {
  const m = /^arn:([\w-]+):iam::(\d{12}):role\/(?:[^/]+\/)*([^/]+)$/.exec(roleArn)
  if (m === null) throw new Error('assumedRoleArn: not an IAM role ARN')
  const [, partition, account, role] = m as unknown as [string, string, string, string]
  return `arn:${partition}:sts::${account}:assumed-role/${role}/${sessionName}`
}
