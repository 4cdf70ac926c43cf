import * as z from 'zod/mini'
import type { AuditItem } from '../lib/audit'
import { clip } from '../lib/audit'
import { loadHttpConfig } from '../lib/config'
import { createHttpDeps, type HttpDeps } from '../lib/deps'
import { BadRequestError, PayloadTooLargeError } from '../lib/errors'
import { refuseQuery, requireCaller, NAME_RULE } from '../lib/http/request-rules'
import { withHttpStack } from '../lib/middleware/http-stack'
import type { BrokerContext, BrokerResponse } from '../lib/middleware/http-types'
import { itemProblem } from '../lib/middleware/problem'
import { checkSecretName, readAuthorizedSecret, renderSecret, type ReadFailureReason } from '../lib/secrets'

/**
 * POST /secrets:batchGet {"names": [...]}: up to 20 names in one response, each authorized on its own
 * (a denied or unknown name is reported exactly like a missing one), read through the same cache.
 */
export const MAX_BATCH_NAMES = 20
export const MAX_BATCH_BODY_BYTES = 16 * 1024

const BatchBody = z.strictObject({
  names: z.array(z.string().check(z.maxLength(1024))).check(z.minLength(1), z.maxLength(MAX_BATCH_NAMES)),
})

function parseBody(ctx: BrokerContext): string[] {
  if (ctx.req.bodyBytes > MAX_BATCH_BODY_BYTES)
    throw new PayloadTooLargeError(`The body must be at most ${MAX_BATCH_BODY_BYTES} bytes.`)
  const type = ctx.req.headers['content-type']
  if (type !== undefined && !/^application\/json\s*(;|$)/i.test(type))
    throw new BadRequestError('The body must be application/json.')
  let raw: unknown
  try {
    raw = JSON.parse(ctx.req.body ?? '')
  } catch {
    throw new BadRequestError('The body must be a JSON object {"names": [...]}.')
  }
  const parsed = BatchBody.safeParse(raw)
  if (!parsed.success)
    throw new BadRequestError(`The body must be {"names": [...]} with 1 to ${MAX_BATCH_NAMES} names.`)
  if (new Set(parsed.data.names).size !== parsed.data.names.length)
    throw new BadRequestError('Each name may appear only once.')
  return parsed.data.names
}

export async function batchGetSecrets(ctx: BrokerContext, d: HttpDeps): Promise<BrokerResponse> {
  const caller = requireCaller(ctx)
  refuseQuery(ctx.req)
  const names = parseBody(ctx)
  const items: AuditItem[] = []
  const results = await Promise.all(
    names.map(async (name) => {
      const item: AuditItem = {
        secretName: clip(name),
        versionId: undefined,
        outcome: 'error',
        reason: undefined,
        cache: undefined,
      }
      items.push(item)
      if (checkSecretName(name) !== undefined) {
        item.reason = 'invalid-name'
        return { name, status: 400, problem: { ...itemProblem(new BadRequestError(NAME_RULE)) } }
      }
      try {
        const read = await readAuthorizedSecret(d, caller.principal.arn, name, {
          onFailure: (reason: ReadFailureReason) => {
            item.reason = reason
          },
        })
        Object.assign(item, { versionId: read.secret.versionId, outcome: 'allowed', cache: read.state })
        if (read.state === 'stale') item.staleForMs = read.staleForMs
        return { status: 200, cache: read.state, ...renderSecret(name, read.secret) }
      } catch (err) {
        const problem = itemProblem(err)
        item.outcome = problem.status === 404 ? 'denied' : 'error'
        return { name, status: problem.status, problem }
      }
    }),
  )
  ctx.audit.items = items
  const allowed = items.filter((i) => i.outcome === 'allowed').length
  // Nothing served: a batch in which Secrets Manager failed is an error, not a denial (the denial alarm must
  // not fire on an outage, nor an outage hide behind it).
  const upstreamFailed = results.some((r) => r.status >= 500)
  ctx.audit.outcome = allowed > 0 ? 'allowed' : upstreamFailed ? 'error' : 'denied'
  if (allowed > 0 && allowed < items.length) ctx.audit.reason = 'partial'
  return { status: 200, body: { results } }
}

const deps = createHttpDeps(loadHttpConfig())
export const handler = withHttpStack(batchGetSecrets, deps)
