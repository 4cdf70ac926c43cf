import { loadHttpConfig } from '../lib/config'
import { createHttpDeps, type HttpDeps } from '../lib/deps'
import { refuseQuery, requireCaller } from '../lib/http/request-rules'
import { withHttpStack } from '../lib/middleware/http-stack'
import type { BrokerContext, BrokerResponse } from '../lib/middleware/http-types'

/** GET /secrets: the logical names this caller may read. No values, no ARNs, no upstream call. */
export async function listSecrets(ctx: BrokerContext, d: Pick<HttpDeps, 'catalog'>): Promise<BrokerResponse> {
  const caller = requireCaller(ctx)
  refuseQuery(ctx.req)
  ctx.audit.outcome = 'allowed'
  return Promise.resolve({ status: 200, body: { names: d.catalog.namesReadableBy(caller.principal.arn) } })
}

const deps = createHttpDeps(loadHttpConfig())
export const handler = withHttpStack(listSecrets, deps)
