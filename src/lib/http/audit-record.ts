import { clip, type AuditOutcome, type AuditRecord, type ChainLink } from '../audit'
import type { CallerIdentity } from '../auth/caller'
import { AccessDeniedError, isBrokerError, SecretNotFoundError, UnauthenticatedError } from '../errors'
import type { BrokerRequest } from './request'
import type { AuditFacts } from './route'

/**
 * The audit record of one request, built from the request, the caller and what the logic returned (or the
 * error it threw) — nothing written back into shared state on the way. The secret's name is the one the
 * request named, as it was sent (clipped): a refused `/secrets/demo%2Fdb` is audited as `demo%2Fdb`, not as
 * the name API Gateway decoded from it.
 */
const SECRETS_PREFIX = '/secrets/'
const ROTATION_SUFFIX = '/rotation'

export function requestedSecretName(req: BrokerRequest): string | undefined {
  if (req.route !== '/secrets/{name+}') return undefined
  // The path parameter is decoded; a percent-encoded path is audited as sent.
  const at = req.path.indexOf(SECRETS_PREFIX)
  const raw =
    req.path.includes('%') && at >= 0
      ? req.path.slice(at + SECRETS_PREFIX.length)
      : req.pathParameters['name']
  if (raw === undefined) return undefined
  return raw.endsWith(ROTATION_SUFFIX) ? raw.slice(0, -ROTATION_SUFFIX.length) : raw
}

function outcomeForError(err: unknown): { outcome: AuditOutcome; reason: string } {
  if (err instanceof UnauthenticatedError) return { outcome: 'denied', reason: 'unauthenticated' }
  if (err instanceof AccessDeniedError) return { outcome: 'denied', reason: 'forbidden' }
  if (err instanceof SecretNotFoundError) return { outcome: 'denied', reason: 'not-found' }
  if (isBrokerError(err)) return { outcome: 'error', reason: err.code.toLowerCase() }
  return { outcome: 'error', reason: 'internal' }
}

/** The audit facts of a request that failed with `err`: its outcome, and the reason the error carries. */
export function factsForError(err: unknown): AuditFacts {
  const { outcome, reason } = outcomeForError(err)
  if (!isBrokerError(err)) return { outcome, reason }
  // A 404 for an upstream failure (the secret was deleted) is an error upstream, not a refusal of the caller,
  // unless the catalog refused it: those reasons do not start with "upstream-".
  const { auditReason, upstream, backedOff, register } = err.facts
  return {
    outcome,
    reason: auditReason ?? reason,
    ...(upstream === undefined ? {} : { upstream }),
    ...(backedOff === undefined ? {} : { backedOff }),
    ...(register === undefined || register.length === 0 ? {} : { register }),
  }
}

/** The record (with its place in the chain, when given), as one object the line is serialised from. */
export function buildAuditRecord(
  req: BrokerRequest,
  caller: CallerIdentity | undefined,
  status: number,
  facts: AuditFacts,
  now: number,
  link?: ChainLink,
): AuditRecord & { [K in keyof ChainLink]: ChainLink[K] | undefined } & Record<string, unknown> {
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
    outcome: facts.outcome,
    reason: facts.reason,
    secretName: clip(requestedSecretName(req)),
    versionId: facts.versionId,
    cache: facts.cache,
    staleForMs: facts.staleForMs,
    forceRefresh: facts.forceRefresh,
    invalidated: facts.invalidated,
    behind: facts.behind,
    items: facts.items,
    durationMs: now - req.receivedAt,
    container: link?.container,
    seq: link?.seq,
    prev: link?.prev,
  }
}
