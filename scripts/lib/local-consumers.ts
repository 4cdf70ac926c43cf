import { randomBytes } from 'node:crypto'
import type { LocalConsumerKey, LocalConsumerKeysDocument } from '../../src/lib/auth/local-consumer-keys'
import { parsePrincipalArn } from '../../src/lib/auth/principal'

/**
 * Credentials for the local stage's demo consumers (`params.local.localConsumers`), shaped as AWS hands
 * them out so a consumer signs locally exactly as it will deployed: an IAM user gets a long-term key pair;
 * an IAM role gets what AssumeRole returns (an `ASIA…` key id, a secret key, a session token, a session
 * name and an expiry), and the verifier reports it as `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`.
 */
export type LocalConsumer = LocalConsumerKey

/**
 * Role sessions last 12 hours: a local stack runs for a working day, and 12 h is the longest session AWS
 * lets a role have (MaxSessionDuration), so nothing local outlives what AWS would allow. After that the
 * broker answers 401 (expired token) until `npm start` is run again.
 */
export const LOCAL_SESSION_DURATION_SECONDS = 12 * 60 * 60

const KEY_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
function accessKeyId(prefix: 'LOCL' | 'ASIA'): string {
  return `${prefix}${Array.from(randomBytes(16), (b) => KEY_ALPHABET[b % 32]).join('')}`
}

export function mintLocalConsumers(
  declared: readonly { readonly name: string; readonly principalArn: string }[],
  opts: { readonly now: number; readonly sessionDurationSeconds?: number },
): LocalConsumer[] {
  return declared.map((c) => {
    const isRole = parsePrincipalArn(c.principalArn)?.kind === 'role'
    const key = {
      name: c.name,
      principalArn: c.principalArn,
      accessKeyId: accessKeyId(isRole ? 'ASIA' : 'LOCL'),
      secretAccessKey: randomBytes(30).toString('base64'),
    }
    if (!isRole) return key
    const seconds = opts.sessionDurationSeconds ?? LOCAL_SESSION_DURATION_SECONDS
    return {
      ...key,
      // Opaque, like STS's: base64 with `+`, `/` and `=`, so clients must encode it in a presigned URL.
      sessionToken: randomBytes(256).toString('base64'),
      sessionName: `secret-broker-local-${randomBytes(4).toString('hex')}`,
      expiration: new Date(opts.now + seconds * 1000).toISOString(),
    }
  })
}

/** The consumer-keys secret: the consumers and the Host values that name the local API (its port). */
export function localConsumerKeysDocument(
  consumers: readonly LocalConsumer[],
  httpPort: number,
): LocalConsumerKeysDocument {
  return { endpointHosts: [`127.0.0.1:${httpPort}`, `localhost:${httpPort}`], consumers }
}
