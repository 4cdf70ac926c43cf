import { loadHttpConfig } from '../lib/config'
import { createHttpDeps } from '../lib/deps'
import { refuseQuery, requireCaller } from '../lib/http/request-rules'
import { withHttpStack } from '../lib/middleware/http-stack'
import type { BrokerContext, BrokerResponse } from '../lib/middleware/http-types'

/** GET /whoami: the caller's principal as the broker resolves it, so a consumer can debug its identity. */
export async function whoami(ctx: BrokerContext): Promise<BrokerResponse> {
  const caller = requireCaller(ctx)
  refuseQuery(ctx.req)
  ctx.audit.outcome = 'allowed'
  const { principal } = caller
  return Promise.resolve({
    status: 200,
    body: {
      principalArn: principal.arn,
      accountId: principal.accountId,
      type: principal.kind,
      ...(principal.session === undefined
        ? {}
        : { sessionName: principal.session, reportedArn: caller.reportedArn }),
      authenticatedBy: caller.via,
    },
  })
}

const deps = createHttpDeps(loadHttpConfig())
export const handler = withHttpStack(whoami, deps)
