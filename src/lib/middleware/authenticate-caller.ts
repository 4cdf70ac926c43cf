import { resolveCaller } from '../auth/caller'
import { verifySigV4, type SigV4Credential } from '../auth/sigv4-verifier'
import type { Clock } from '../clock'
import type { AuthMode } from '../config'
import { UnauthenticatedError } from '../errors'
import { brokerContext, type HttpMiddleware } from './request-context'

/**
 * Resolves the caller's identity before any logic runs, never from a header the client can set.
 * `iam`: API Gateway's AWS_IAM identity. `local-sigv4`: the signature is verified here against the demo
 * consumers' keys (loaded into the Lambda context by @middy/secrets-manager under `localConsumerKeys`).
 */
export interface LocalConsumerKeys {
  readonly consumers: readonly { accessKeyId: string; secretAccessKey: string; principalArn: string }[]
}

export function authenticateCaller(opts: {
  mode: AuthMode
  accountId: string
  region: string
  clock: Clock
}): HttpMiddleware {
  if (!/^\d{12}$/.test(opts.accountId)) throw new Error('authenticateCaller: accountId must be 12 digits')
  return {
    before: async (request) => {
      const ctx = brokerContext(request.context)
      if (opts.mode === 'iam') {
        ctx.caller = resolveCaller(
          request.event.requestContext?.identity?.userArn,
          opts.accountId,
          'api-gateway-iam',
        )
        return
      }
      const keys = (request.context as unknown as { localConsumerKeys?: Partial<LocalConsumerKeys> })
        .localConsumerKeys
      if (keys?.consumers === undefined || !Array.isArray(keys.consumers))
        throw new UnauthenticatedError('The local consumer keys are not loaded.')
      const consumers: LocalConsumerKeys['consumers'] = keys.consumers
      const byKey = new Map<string, SigV4Credential>(consumers.map((c) => [c.accessKeyId, c]))
      const { principalArn } = await verifySigV4(
        {
          method: ctx.req.method,
          path: ctx.req.path,
          headers: ctx.req.headers,
          query: ctx.req.query,
          body: ctx.req.body,
        },
        { region: opts.region, service: 'execute-api', clock: opts.clock, lookup: (id) => byKey.get(id) },
      )
      ctx.caller = resolveCaller(principalArn, opts.accountId, 'local-sigv4')
    },
  }
}
