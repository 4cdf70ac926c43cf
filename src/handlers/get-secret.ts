import { ROUTES } from '../contract/wire'
import { loadHttpConfig } from '../lib/config'
import { createHttpDeps, type HttpDeps } from '../lib/deps'
import { BadRequestError } from '../lib/errors'
import { checkedName, refuseQuery, requireCaller, wantsRevalidation } from '../lib/http/request-rules'
import type { RouteRequest, RouteResult } from '../lib/http/route'
import { withHttpStack } from '../lib/middleware/http-stack'
import {
  authorizeRead,
  etagFor,
  ifNoneMatchVersions,
  matchesIfNoneMatch,
  readAuthorizedSecret,
  renderSecret,
  servedSecretJson,
  translateUpstreamError,
} from '../lib/secrets'

const ROTATION_SUFFIX = '/rotation'

/**
 * GET /secrets/{name+} serves two resources, since API Gateway cannot route below a greedy parameter:
 * `/secrets/{name}` (the value) and `/secrets/{name}/rotation` (rotation health). Catalog names may not
 * end in a `rotation` segment, so the two can never be confused.
 */
export async function getSecretOrRotation(r: RouteRequest, d: HttpDeps): Promise<RouteResult> {
  const raw = r.req.pathParameters['name']
  if (raw?.endsWith(ROTATION_SUFFIX) === true) return getRotationStatus(r, d)
  return getSecret(r, d)
}

/** GET /secrets/{name}/rotation: rotation state for callers allowed to read the secret (the same decision, the same 404). */
export async function getRotationStatus(r: RouteRequest, d: HttpDeps): Promise<RouteResult> {
  const caller = requireCaller(r)
  refuseQuery(r.req)
  const full = checkedName(r.req.path, r.req.pathParameters['name'])
  const name = full.slice(0, -ROTATION_SUFFIX.length)
  if (name.length === 0) throw new BadRequestError('Expected /secrets/{name}/rotation.')
  const entry = authorizeRead(d.catalog, caller.principal.arn, name)
  try {
    const { status, upstream } = await d.rotationStatus.read(entry)
    return {
      status: 200,
      body: status,
      audit: {
        outcome: 'allowed',
        reason: 'rotation-status',
        upstream,
        ...(status.currentVersionId === undefined ? {} : { versionId: status.currentVersionId }),
      },
    }
  } catch (err) {
    throw translateUpstreamError(err, entry)
  }
}

/** GET /secrets/{name}: the current version of one secret, if this caller may read it. */
export async function getSecret(r: RouteRequest, d: HttpDeps): Promise<RouteResult> {
  const caller = requireCaller(r)
  refuseQuery(r.req)
  const name = checkedName(r.req.path, r.req.pathParameters['name'])
  const forceRevalidate = wantsRevalidation(r.req.header('cache-control'))
  // Never backwards: a version the caller already has, and this container does not, makes it revalidate first.
  const clientVersions = ifNoneMatchVersions(r.req.header('if-none-match'))
  const read = await readAuthorizedSecret(d, caller.principal.arn, name, {
    forceRevalidate,
    ...(clientVersions.length === 0 ? {} : { clientVersions }),
  })
  const audit = {
    versionId: read.secret.versionId,
    cache: read.state,
    upstream: read.upstream,
    ...(read.register === undefined ? {} : { register: read.register.calls }),
    ...(read.invalidated ? { invalidated: 1 } : {}),
    ...(read.behind ? { behind: true } : {}),
    ...(read.backedOff ? { backedOff: true } : {}),
    ...(read.state === 'stale' ? { staleForMs: read.staleForMs } : {}),
    ...(read.revalidation === undefined ? {} : { forceRefresh: read.revalidation }),
  }
  const headers: Record<string, string> = {
    ETag: etagFor(read.secret.versionId),
    'X-Broker-Cache': read.state,
  }
  if (read.state === 'stale') headers['Warning'] = '110 - "Response is Stale"'
  else if (read.revalidation === 'failed') headers['Warning'] = '111 - "Revalidation Failed"'
  if (matchesIfNoneMatch(r.req.header('if-none-match'), read.secret.versionId)) {
    return { status: 304, headers, audit: { outcome: 'not-modified', ...audit } }
  }
  return {
    status: 200,
    bodyText: servedSecretJson(renderSecret(name, read.secret)),
    headers,
    audit: { outcome: 'allowed', ...audit },
  }
}

const deps = createHttpDeps(loadHttpConfig())
export const handler = withHttpStack(getSecretOrRotation, deps, { method: ROUTES.getSecret.method })
