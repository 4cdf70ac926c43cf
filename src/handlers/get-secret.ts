import { loadHttpConfig } from '../lib/config'
import { createHttpDeps, type HttpDeps } from '../lib/deps'
import { nameFromPath, refuseQuery, requireCaller, wantsRevalidation } from '../lib/http/request-rules'
import { withHttpStack } from '../lib/middleware/http-stack'
import type { BrokerContext, BrokerResponse } from '../lib/middleware/http-types'
import { BadRequestError, SecretNotFoundError } from '../lib/errors'
import {
  decideAccess,
  etagFor,
  matchesIfNoneMatch,
  readAuthorizedSecret,
  renderSecret,
  translateUpstreamError,
} from '../lib/secrets'

const ROTATION_SUFFIX = '/rotation'

/**
 * GET /secrets/{name+} serves two resources, since API Gateway cannot route below a greedy parameter:
 * `/secrets/{name}` (the value) and `/secrets/{name}/rotation` (rotation health). Catalog names may not
 * end in a `rotation` segment, so the two can never be confused.
 */
export async function getSecretOrRotation(ctx: BrokerContext, d: HttpDeps): Promise<BrokerResponse> {
  const raw = ctx.req.pathParameters['name']
  if (raw?.endsWith(ROTATION_SUFFIX) === true) return getRotationStatus(ctx, d)
  return getSecret(ctx, d)
}

/** GET /secrets/{name}/rotation: rotation state for callers allowed to read the secret. */
export async function getRotationStatus(ctx: BrokerContext, d: HttpDeps): Promise<BrokerResponse> {
  const caller = requireCaller(ctx)
  refuseQuery(ctx.req)
  const full = nameFromPath(ctx.req)
  const name = full.slice(0, -ROTATION_SUFFIX.length)
  ctx.audit.secretName = name
  if (name.length === 0) throw new BadRequestError('Expected /secrets/{name}/rotation.')
  const decision = decideAccess(d.catalog, caller.principal.arn, name)
  if (!decision.allow) {
    ctx.audit.reason = decision.reason
    throw new SecretNotFoundError()
  }
  try {
    const status = await d.rotationStatus.read(decision.entry)
    ctx.audit.outcome = 'allowed'
    ctx.audit.reason = 'rotation-status'
    if (status.currentVersionId !== undefined) ctx.audit.versionId = status.currentVersionId
    return { status: 200, body: status }
  } catch (err) {
    throw translateUpstreamError(err, (reason) => {
      ctx.audit.reason = reason
    })
  }
}

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
  const headers: Record<string, string> = {
    ETag: etagFor(read.secret.versionId),
    'X-Broker-Cache': read.state,
  }
  if (read.state === 'stale') headers['Warning'] = '110 - "Response is Stale"'
  if (matchesIfNoneMatch(ctx.req.headers['if-none-match'], read.secret.versionId)) {
    ctx.audit.outcome = 'not-modified'
    return { status: 304, headers }
  }
  ctx.audit.outcome = 'allowed'
  return { status: 200, body: renderSecret(name, read.secret), headers }
}

const deps = createHttpDeps(loadHttpConfig())
export const handler = withHttpStack(getSecretOrRotation, deps)
