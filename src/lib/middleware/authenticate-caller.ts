import { resolveCaller } from '../auth/caller'
import { credentialsByAccessKey, parseLocalConsumerKeys } from '../auth/local-consumer-keys'
import { verifySigV4 } from '../auth/sigv4-verifier'
import type { Clock } from '../clock'
import type { AuthMode } from '../config'
import { UnauthenticatedError } from '../errors'
import { brokerContext, type HttpMiddleware } from './request-context'

/**
 * Resolves the caller's identity before any logic runs, never from a header the client can set.
 * `iam`: API Gateway's AWS_IAM identity. `local-sigv4`: the signature is verified here, as API Gateway
 * would, against the demo consumers' credentials (the consumer-keys secret, loaded into the Lambda context
 * by @middy/secrets-manager under `localConsumerKeys`; see src/lib/auth/local-consumer-keys.ts).
 */
export function authenticateCaller(opts: {
  mode: AuthMode
  accountId: string
  region: string
  clock: Clock
}): HttpMiddleware {
  if (!/^\d{12}$/.test(opts.accountId)) throw new Error('authenticateCaller: accountId must be 12 digits')
  return {
    before: (request) => {
      const ctx = brokerContext(request.context)
      if (opts.mode === 'iam') {
        ctx.caller = resolveCaller(
          request.event.requestContext?.identity?.userArn,
          opts.accountId,
          'api-gateway-iam',
        )
        return
      }
      const loaded = (request.context as unknown as { localConsumerKeys?: unknown }).localConsumerKeys
      const keys = loaded === undefined ? undefined : parseLocalConsumerKeys(loaded)
      if (keys === undefined) throw new UnauthenticatedError('The local consumer keys are not loaded.')
      const byKey = credentialsByAccessKey(keys)
      const { principalArn } = verifySigV4(
        {
          method: ctx.req.method,
          path: ctx.req.path,
          // serverless-offline's router (hapi, stripTrailingSlash) removes a trailing slash before the event
          // is built, and the event keeps no raw URL: the client may have signed `/whoami/` for `/whoami`.
          trailingSlashMayBeStripped: true,
          headers: ctx.req.rawHeaders,
          query: ctx.req.rawQuery,
          body: ctx.req.body,
        },
        {
          region: opts.region,
          service: 'execute-api',
          clock: opts.clock,
          lookup: (id) => byKey.get(id),
          endpointHosts: keys.endpointHosts,
        },
      )
      ctx.caller = resolveCaller(principalArn, opts.accountId, 'local-sigv4')
    },
  }
}
