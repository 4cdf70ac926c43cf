import type { MetricsSink } from '../metrics'
import { cacheMetric, outcomeMetric } from '../metrics'
import type { BrokerContext } from './http-types'
import type { HttpMiddleware } from './request-context'

/**
 * One EMF document per request: its outcome and cache state(s), plus the upstream calls counted while it
 * ran, under the stage and route dimensions. Added before auditAccess, so its hooks run after the audit
 * record has settled the outcome.
 */
export function recordRequestMetrics(ctx: BrokerContext, metrics: MetricsSink): void {
  const { audit } = ctx
  metrics.count(outcomeMetric(audit.outcome ?? 'error'))
  if (audit.cache !== undefined) metrics.count(cacheMetric(audit.cache))
  for (const item of audit.items ?? []) if (item.cache !== undefined) metrics.count(cacheMetric(item.cache))
  if (audit.reason === 'audit-unavailable') metrics.count('AuditWriteFailed')
  metrics.flush({ route: ctx.req.route })
}

export function recordMetrics(opts: { metrics: MetricsSink }): HttpMiddleware {
  const record = (ctx: BrokerContext | undefined): void => {
    if (ctx !== undefined) recordRequestMetrics(ctx, opts.metrics)
  }
  return {
    after: (request) => {
      record(request.context.broker)
    },
    onError: (request) => {
      record(request.context.broker)
    },
  }
}
