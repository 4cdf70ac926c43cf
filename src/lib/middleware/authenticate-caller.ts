import { resolveCaller, type CallerIdentity } from '../auth/caller'
import { credentialsByAccessKey, parseLocalConsumerKeys } from '../auth/local-consumer-keys'
import { verifySigV4 } from '../auth/sigv4-verifier'
import type { Clock } from '../clock'
import type { AuthMode } from '../config'
import { UnauthenticatedError } from '../errors'
import type { BrokerRequest } from '../http/request'

/**
 * Resolves the caller's identity before any logic runs, never from a header the client can set.
 * `iam`: API Gateway's AWS_IAM identity. `local-sigv4`: the signature is verified here, as API Gateway
 * would, against the demo consumers' credentials (the consumer-keys secret, loaded into the Lambda context
 * by @middy/secrets-manager under `localConsumerKeys`; see src/lib/auth/local-consumer-keys.ts).
 */
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
  return (req, _identityArn, context) => {
    const keys =
      context.localConsumerKeys === undefined ? undefined : parseLocalConsumerKeys(context.localConsumerKeys)
    if (keys === undefined) throw new UnauthenticatedError('The local consumer keys are not loaded.')
    const byKey = credentialsByAccessKey(keys)
    const { principalArn } = verifySigV4(
      {
        method: req.method,
        path: req.path,
        // serverless-offline's router (hapi, stripTrailingSlash) removes a trailing slash before the event
        // is built, and the event keeps no raw URL: the client may have signed `/whoami/` for `/whoami`.
        trailingSlashMayBeStripped: true,
        headers: req.rawHeaders,
        query: req.rawQuery,
        body: req.body,
      },
      {
        region: opts.region,
        service: 'execute-api',
        clock: opts.clock,
        lookup: (id) => byKey.get(id),
        endpointHosts: keys.endpointHosts,
      },
    )
    return Promise.resolve(resolveCaller(principalArn, opts.accountId, 'local-sigv4'))
  }
}
