import { loadHttpConfig } from '../lib/config'
import { createHttpDeps, type HttpDeps } from '../lib/deps'
import { nameFromPath, refuseQuery, requireCaller, wantsRevalidation } from '../lib/http/request-rules'
import { withHttpStack } from '../lib/middleware/http-stack'
import type { BrokerContext, BrokerResponse } from '../lib/middleware/http-types'
import { etagFor, matchesIfNoneMatch, readAuthorizedSecret, renderSecret } from '../lib/secrets'

/** GET /secrets/{name}: the current version of one secret, if this caller may read it. */
export async function getSecret(ctx: BrokerContext, d: HttpDeps): Promise<BrokerResponse> {
  const caller = requireCaller(ctx)
  const rawName = ctx.req.pathParameters['name']
  if (rawName !== undefined) ctx.audit.secretName = rawName
  refuseQuery(ctx.req)
  const name = nameFromPath(ctx.req)
  const forceRevalidate = wantsRevalidation(ctx.req.headers['cache-control'])
  const read = await readAuthorizedSecret(d, caller.principal.arn, name, {
    forceRevalidate,
    onFailure: (reason) => {
      ctx.audit.reason = reason
    },
  })
  Object.assign(ctx.audit, {
    versionId: read.secret.versionId,
    cache: read.state,
    ...(read.state === 'stale' ? { staleForMs: read.staleForMs } : {}),
    ...(forceRevalidate ? { forceRefresh: read.forceLimited ? 'rate-limited' : 'done' } : {}),
  })
  const headers: Record<string, string> = { ETag: etagFor(read.secret.versionId), 'X-Broker-Cache': read.state }
  if (read.state === 'stale') headers['Warning'] = '110 - "Response is Stale"'
  if (matchesIfNoneMatch(ctx.req.headers['if-none-match'], read.secret.versionId)) {
    ctx.audit.outcome = 'not-modified'
    return { status: 304, headers }
  }
  ctx.audit.outcome = 'allowed'
  return { status: 200, body: renderSecret(name, read.secret), headers }
}

const deps = createHttpDeps(loadHttpConfig())
export const handler = withHttpStack(getSecret, deps)
