import type { APIGatewayProxyEvent } from 'aws-lambda'
import { AccessDeniedError } from '../errors'

/**
 * A tripwire, not a control: the HTTP functions trust `requestContext.identity` because only API Gateway is
 * meant to invoke them, and API Gateway puts its own API id and stage name in every event. An event without
 * this stage's pair was not sent by this stage's API — a test event, a wrongly wired integration, a copy of
 * another stage's event — and is refused before anything reads its identity.
 *
 * Anyone who may invoke the function directly can copy both values (they are not secret), so this stops
 * mistakes, never an attacker; what contains direct invocation is the generated SCP or permissions boundary,
 * and what notices it is the optional detection (infra/direct-invoke.ts, docs/SECURITY.md).
 */
export interface ApiOrigin {
  readonly apiId: string
  readonly stage: string
}

/** The audit reason of a refused event; the caller only sees a 403. */
export const FOREIGN_EVENT_REASON = 'event-not-from-this-api'

/** What the event says about where it came from; undefined fields when it says nothing. */
export function eventOrigin(event: APIGatewayProxyEvent): { apiId?: unknown; stage?: unknown } {
  const rc = (event as { requestContext?: unknown }).requestContext
  if (typeof rc !== 'object' || rc === null) return {}
  const { apiId, stage } = rc as { apiId?: unknown; stage?: unknown }
  return { apiId, stage }
}

/** @throws AccessDeniedError (audit reason {@link FOREIGN_EVENT_REASON}) unless the event names `expected`. */
export function checkApiOrigin(event: APIGatewayProxyEvent, expected: ApiOrigin): void {
  const { apiId, stage } = eventOrigin(event)
  if (apiId === expected.apiId && stage === expected.stage) return
  throw new AccessDeniedError('This function answers only its own API.', {
    facts: { auditReason: FOREIGN_EVENT_REASON },
  })
}
