import { problemType, type Problem, type ProblemSlug } from '../../contract/wire'
import { isBrokerError, UpstreamUnavailableError, type ErrorCode } from '../errors'

/**
 * RFC 9457 problem documents. The `type` URIs are the contract's stable identifiers (contract/wire.ts), the
 * body never carries internal detail, and it depends only on the error kind: two different secrets that
 * are unknown or not allowed produce byte-identical bodies.
 */
const TITLES: Record<ErrorCode, { slug: ProblemSlug; title: string }> = {
  CONFIG_INVALID: { slug: 'internal', title: 'Internal Server Error' },
  BAD_REQUEST: { slug: 'bad-request', title: 'Bad Request' },
  UNAUTHENTICATED: { slug: 'unauthenticated', title: 'Unauthenticated' },
  ACCESS_DENIED: { slug: 'access-denied', title: 'Forbidden' },
  NOT_FOUND: { slug: 'not-found', title: 'Not Found' },
  METHOD_NOT_ALLOWED: { slug: 'method-not-allowed', title: 'Method Not Allowed' },
  PAYLOAD_TOO_LARGE: { slug: 'payload-too-large', title: 'Payload Too Large' },
  UPSTREAM_UNAVAILABLE: { slug: 'upstream-unavailable', title: 'Service Unavailable' },
  UPSTREAM_REFUSED: { slug: 'upstream-refused', title: 'Bad Gateway' },
  AUDIT_UNAVAILABLE: { slug: 'audit-unavailable', title: 'Service Unavailable' },
  ROTATION_STEP_FAILED: { slug: 'internal', title: 'Internal Server Error' },
  INTERNAL: { slug: 'internal', title: 'Internal Server Error' },
}

export type { Problem }

export function problemFor(err: unknown): { problem: Problem; headers: Record<string, string> } {
  if (isBrokerError(err)) {
    const t = TITLES[err.code]
    const problem: Problem = {
      type: problemType(t.slug),
      title: t.title,
      status: err.httpStatus,
      ...(err.expose ? { detail: err.message } : {}),
    }
    const headers: Record<string, string> = {}
    if (err instanceof UpstreamUnavailableError) headers['Retry-After'] = String(err.retryAfterSeconds)
    if (err.code === 'AUDIT_UNAVAILABLE') headers['Retry-After'] = '5'
    return { problem, headers }
  }
  return {
    problem: { type: problemType('internal'), title: 'Internal Server Error', status: 500 },
    headers: {},
  }
}

/** The problem for one item of a batch, without the HTTP headers. */
export function itemProblem(err: unknown): Problem {
  return problemFor(err).problem
}
