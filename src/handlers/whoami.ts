import { ROUTES, type Whoami } from '../contract/wire'
import { loadHttpConfig } from '../lib/config'
import { createHttpDeps } from '../lib/deps'
import { refuseQuery, requireCaller } from '../lib/http/request-rules'
import type { RouteRequest, RouteResult } from '../lib/http/route'
import { withHttpStack } from '../lib/middleware/http-stack'

/** GET /whoami: the caller's principal as the broker resolves it, so a consumer can debug its identity. */
export async function whoami(r: RouteRequest): Promise<RouteResult> {
  const caller = requireCaller(r)
  refuseQuery(r.req)
  const { principal } = caller
  const body: Whoami = {
    principalArn: principal.arn,
    accountId: principal.accountId,
    type: principal.kind,
    ...(principal.session === undefined
      ? {}
      : { sessionName: principal.session, reportedArn: caller.reportedArn }),
    authenticatedBy: caller.via,
  }
  return Promise.resolve({ status: 200, body, audit: { outcome: 'allowed' } })
}

const deps = createHttpDeps(loadHttpConfig())
export const handler = withHttpStack(whoami, deps, { method: ROUTES.whoami.method })
