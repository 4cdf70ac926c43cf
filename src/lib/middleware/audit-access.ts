import { clip, type AuditRecord, type AuditSink } from '../audit'
import type { Clock } from '../clock'
import {
  AuditUnavailableError,
  isBrokerError,
  SecretNotFoundError,
  UnauthenticatedError,
  AccessDeniedError,
  describeError,
} from '../errors'
import type { BrokerContext, BrokerResponse } from './http-types'
import { brokerContext, type HttpMiddleware } from './request-context'

/**
 * Exactly one audit record per request. `after` runs before the response is serialised (middy runs `after`
 * hooks in reverse order, and this one is added last), so the record is written before any value leaves;
 * if writing fails the request fails closed with 503. `onError` records failures too.
 */
export function buildAuditRecord(ctx: BrokerContext, status: number, now: number): AuditRecord {
  const { req, audit, caller } = ctx
  return {
    audit: 'secret.access',
    time: new Date(req.receivedAt).toISOString(),
    requestId: req.requestId,
    principal: caller?.principal.arn,
    accountId: caller?.principal.accountId,
    sourceIp: req.sourceIp,
    userAgent: clip(req.userAgent),
    method: req.method,
    route: req.route,
    status,
    outcome: audit.outcome ?? (status < 400 ? 'allowed' : 'error'),
    reason: audit.reason,
    secretName: clip(audit.secretName),
    versionId: audit.versionId,
    cache: audit.cache,
    staleForMs: audit.staleForMs,
    forceRefresh: audit.forceRefresh,
    items: audit.items,
    durationMs: now - req.receivedAt,
  }
}

function outcomeForError(err: unknown): { outcome: 'denied' | 'error'; reason: string } {
  if (err instanceof UnauthenticatedError) return { outcome: 'denied', reason: 'unauthenticated' }
  if (err instanceof AccessDeniedError) return { outcome: 'denied', reason: 'forbidden' }
  if (err instanceof SecretNotFoundError) return { outcome: 'denied', reason: 'not-found' }
  if (isBrokerError(err)) return { outcome: 'error', reason: err.code.toLowerCase() }
  return { outcome: 'error', reason: 'internal' }
}

export function auditAccess(opts: { sink: AuditSink; clock: Clock }): HttpMiddleware {
  const written = new WeakSet<BrokerContext>()
  const write = (ctx: BrokerContext, status: number): void => {
    written.add(ctx)
    opts.sink.write(buildAuditRecord(ctx, status, opts.clock.now()))
  }
  return {
    after: (request) => {
      const ctx = brokerContext(request.context)
      const status = (request.response as unknown as BrokerResponse | undefined)?.status ?? 200
      try {
        write(ctx, status)
      } catch (err) {
        ctx.audit.outcome = 'error'
        ctx.audit.reason = 'audit-unavailable'
        throw new AuditUnavailableError('The audit record could not be written.', { cause: err })
      }
    },
    onError: (request) => {
      const ctx = request.context.broker
      if (ctx === undefined || written.has(ctx)) return
      const err = request.error
      if (ctx.audit.outcome === undefined || ctx.audit.outcome === 'allowed') {
        const { outcome, reason } = outcomeForError(err)
        ctx.audit.outcome = outcome
        ctx.audit.reason ??= reason
      }
      const status = isBrokerError(err) ? err.httpStatus : 500
      try {
        write(ctx, status)
      } catch (auditErr) {
        // Nothing leaves on an error path anyway; say so loudly for the operators.
        ctx.log.error('audit record could not be written', describeError(auditErr))
      }
    },
  }
}
