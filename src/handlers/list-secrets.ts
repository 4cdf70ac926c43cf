import { ROUTES, type SecretNames } from '../contract/wire'
import { loadHttpConfig } from '../lib/config'
import { createHttpDeps, type HttpDeps } from '../lib/deps'
import { refuseQuery, requireCaller } from '../lib/http/request-rules'
import type { RouteRequest, RouteResult } from '../lib/http/route'
import { withHttpStack } from '../lib/middleware/http-stack'

/**
 * GET /secrets: the declared names this caller may read (pattern rules expanded against them), and the
 * patterns it may read inside brokered prefixes. No values, no ARNs, no upstream call: the catalog alone
 * answers, so listing needs no `secretsmanager:ListSecrets` (which IAM cannot narrow below the account).
 */
export async function listSecrets(r: RouteRequest, d: Pick<HttpDeps, 'catalog'>): Promise<RouteResult> {
  const caller = requireCaller(r)
  refuseQuery(r.req)
  const body: SecretNames = {
    names: [...d.catalog.namesReadableBy(caller.principal.arn)],
    patterns: [...d.catalog.patternsReadableBy(caller.principal.arn)],
  }
  return Promise.resolve({ status: 200, body, audit: { outcome: 'allowed' } })
}

const deps = createHttpDeps(loadHttpConfig())
export const handler = withHttpStack(listSecrets, deps, { method: ROUTES.listSecrets.method })
