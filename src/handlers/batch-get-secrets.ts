import {
  BatchRequestSchema,
  MAX_BATCH_BODY_BYTES,
  MAX_BATCH_NAMES,
  ROUTES,
  type CacheState,
} from '../contract/wire'
import { checkSecretName } from '../contract/secret-name'
import { clip, type AuditItem } from '../lib/audit'
import { loadHttpConfig } from '../lib/config'
import { createHttpDeps, type HttpDeps } from '../lib/deps'
import { BadRequestError, isBrokerError, PayloadTooLargeError, type UpstreamCallRecord } from '../lib/errors'
import { itemProblem } from '../lib/http/problem'
import type { BrokerRequest } from '../lib/http/request'
import { NAME_RULE, refuseQuery, requireCaller } from '../lib/http/request-rules'
import type { RouteRequest, RouteResult } from '../lib/http/route'
import { withHttpStack } from '../lib/middleware/http-stack'
import { readAuthorizedSecret, renderSecret } from '../lib/secrets'

/**
 * POST /batch-get-secrets (and its first route, POST /secrets:batchGet) {"names": [...]}: up to 20 names in
 * one response, each authorized on its own
 * (a denied or unknown name is reported exactly like a missing one), read through the same cache. Served
 * values are embedded byte for byte, as by GET /secrets/{name}.
 */
export { MAX_BATCH_BODY_BYTES, MAX_BATCH_NAMES }

function parseBody(req: BrokerRequest): string[] {
  if (req.bodyBytes > MAX_BATCH_BODY_BYTES)
    throw new PayloadTooLargeError(`The body must be at most ${MAX_BATCH_BODY_BYTES} bytes.`)
  const type = req.header('content-type')
  if (type !== undefined && !/^application\/json\s*(;|$)/i.test(type))
    throw new BadRequestError('The body must be application/json.')
  let raw: unknown
  try {
    raw = JSON.parse(req.body ?? '')
  } catch {
    throw new BadRequestError('The body must be a JSON object {"names": [...]}.')
  }
  const parsed = BatchRequestSchema.safeParse(raw)
  const names = parsed.success ? parsed.data.names : undefined
  if (
    names === undefined ||
    names.length < 1 ||
    names.length > MAX_BATCH_NAMES ||
    names.some((n) => n.length > 1024)
  )
    throw new BadRequestError(`The body must be {"names": [...]} with 1 to ${MAX_BATCH_NAMES} names.`)
  if (new Set(names).size !== names.length) throw new BadRequestError('Each name may appear only once.')
  return names
}

interface ItemOutcome {
  readonly json: string
  readonly status: number
  readonly audit: AuditItem
  readonly upstream: readonly UpstreamCallRecord[]
  readonly register: readonly UpstreamCallRecord[]
  readonly invalidated: boolean
}

async function readItem(d: HttpDeps, principalArn: string, name: string): Promise<ItemOutcome> {
  const audit = (fields: Partial<AuditItem>): AuditItem => ({
    secretName: clip(name),
    versionId: undefined,
    outcome: 'error',
    reason: undefined,
    cache: undefined,
    ...fields,
  })
  const failed = (err: unknown, reason: string | undefined): ItemOutcome => {
    const problem = itemProblem(err)
    return {
      json: JSON.stringify({ name, status: problem.status, problem }),
      status: problem.status,
      audit: audit({ outcome: problem.status === 404 ? 'denied' : 'error', reason }),
      upstream: isBrokerError(err) ? (err.facts.upstream ?? []) : [],
      register: isBrokerError(err) ? (err.facts.register ?? []) : [],
      invalidated: false,
    }
  }
  if (checkSecretName(name) !== undefined) return failed(new BadRequestError(NAME_RULE), 'invalid-name')
  try {
    const read = await readAuthorizedSecret(d, principalArn, name)
    const cache: CacheState = read.state
    return {
      json: `{"status":200,"cache":${JSON.stringify(cache)},${renderSecret(name, read.secret).members}}`,
      status: 200,
      audit: audit({
        versionId: read.secret.versionId,
        outcome: 'allowed',
        cache,
        ...(read.state === 'stale' ? { staleForMs: read.staleForMs } : {}),
      }),
      upstream: read.upstream,
      register: read.register?.calls ?? [],
      invalidated: read.invalidated,
    }
  } catch (err) {
    return failed(err, isBrokerError(err) ? err.facts.auditReason : undefined)
  }
}

export async function batchGetSecrets(r: RouteRequest, d: HttpDeps): Promise<RouteResult> {
  const caller = requireCaller(r)
  refuseQuery(r.req)
  const names = parseBody(r.req)
  const results = await Promise.all(names.map((name) => readItem(d, caller.principal.arn, name)))
  const items = results.map((i) => i.audit)
  const allowed = items.filter((i) => i.outcome === 'allowed').length
  // Nothing served: a batch in which Secrets Manager failed is an error, not a denial (the denial alarm must
  // not fire on an outage, nor an outage hide behind it).
  const upstreamFailed = results.some((i) => i.status >= 500)
  const register = results.flatMap((i) => i.register)
  const invalidated = results.filter((i) => i.invalidated).length
  return {
    status: 200,
    bodyText: `{"results":[${results.map((i) => i.json).join(',')}]}`,
    audit: {
      outcome: allowed > 0 ? 'allowed' : upstreamFailed ? 'error' : 'denied',
      ...(allowed > 0 && allowed < items.length ? { reason: 'partial' } : {}),
      items,
      upstream: results.flatMap((i) => i.upstream),
      ...(register.length === 0 ? {} : { register }),
      ...(invalidated === 0 ? {} : { invalidated }),
    },
  }
}

const deps = createHttpDeps(loadHttpConfig())
export const handler = withHttpStack(batchGetSecrets, deps, { method: ROUTES.batchGetSecrets.method })
