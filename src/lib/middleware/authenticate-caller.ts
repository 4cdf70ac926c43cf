import { resolveCaller, type CallerIdentity } from '../auth/caller'
import { verifySigV4, type SigV4Credential } from '../auth/sigv4-verifier'
import type { Clock } from '../clock'
import type { AuthMode } from '../config'
import { UnauthenticatedError } from '../errors'
import type { BrokerRequest } from '../http/request'

/**
 * Resolves the caller's identity before any logic runs, never from a header the client can set.
 * `iam`: API Gateway's AWS_IAM identity. `local-sigv4`: the signature is verified here against the demo
 * consumers' keys (loaded into the Lambda context by @middy/secrets-manager under `localConsumerKeys`).
 */
export interface LocalConsumerKeys {
  readonly consumers: readonly { accessKeyId: string; secretAccessKey: string; principalArn: string }[]
}

/** The Lambda context as the HTTP stack sees it: the local stage's keys, when @middy/secrets-manager loaded them. */
export interface KeysContext {
  readonly localConsumerKeys?: unknown
}

export type Authenticate = (
  req: BrokerRequest,
  identityArn: string | null | undefined,
  context: KeysContext,
) => Promise<CallerIdentity>

export function authenticateCaller(opts: {
  mode: AuthMode
  accountId: string
  region: string
  clock: Clock
}): Authenticate {
  if (!/^\d{12}$/.test(opts.accountId)) throw new Error('authenticateCaller: accountId must be 12 digits')
  if (opts.mode === 'iam') {
    return (_req, identityArn) =>
      Promise.resolve(resolveCaller(identityArn, opts.accountId, 'api-gateway-iam'))
  }
  return async (req, _identityArn, context) => {
    const keys = context.localConsumerKeys as Partial<LocalConsumerKeys> | undefined
    if (keys?.consumers === undefined || !Array.isArray(keys.consumers))
      throw new UnauthenticatedError('The local consumer keys are not loaded.')
    const consumers: LocalConsumerKeys['consumers'] = keys.consumers
    const byKey = new Map<string, SigV4Credential>(consumers.map((c) => [c.accessKeyId, c]))
    const { principalArn } = await verifySigV4(
      { method: req.method, path: req.path, headers: req.headers, query: req.query, body: req.body },
      { region: opts.region, service: 'execute-api', clock: opts.clock, lookup: (id) => byKey.get(id) },
    )
    return resolveCaller(principalArn, opts.accountId, 'local-sigv4')
  }
}
