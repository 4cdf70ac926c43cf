import { problemSlug, ProblemSchema, type Problem, type ProblemSlug } from '../../../src/contract/wire'
import {
  AccessDeniedError,
  BadRequestError,
  BrokerClientError,
  InternalServerError,
  NotFoundError,
  PayloadTooLargeError,
  UnauthenticatedError,
  UnavailableError,
  UpstreamRefusedError,
  WrongEndpointError,
  type BrokerClientErrorInit,
} from './client-errors'

/**
 * Which typed error an answer is. The broker's own answers carry a problem document whose `type` is one of
 * the contract's slugs, and that slug alone decides (so a 404 is a missing secret only when the broker says
 * `not-found`). Anything else did not come from the broker's code: API Gateway (`{"message": …}` with
 * `x-amzn-ErrorType`), serverless-offline, a proxy. Those are told apart by status and error type, and an
 * unknown route is reported as a wrong endpoint, never as a missing secret or bad credentials.
 */
export interface AnswerFacts {
  readonly requestId?: string | undefined
  readonly retryAfterSeconds?: number | undefined
  readonly amznErrorType?: string | undefined
}

type Make = (init: BrokerClientErrorInit, facts: AnswerFacts) => BrokerClientError

const BY_SLUG: Readonly<Record<ProblemSlug, Make>> = {
  'bad-request': (i) => new BadRequestError(i),
  unauthenticated: (i) => new UnauthenticatedError(i),
  'access-denied': (i) => new AccessDeniedError(i),
  'not-found': (i) => new NotFoundError(i),
  // The client calls every route with its declared method: a 405 means the endpoint routes differently.
  'method-not-allowed': (i) => new WrongEndpointError(i),
  'payload-too-large': (i) => new PayloadTooLargeError(i),
  'upstream-refused': (i) => new UpstreamRefusedError(i),
  'upstream-unavailable': (i, f) => new UnavailableError({ ...i, retryAfterSeconds: f.retryAfterSeconds }),
  'audit-unavailable': (i, f) => new UnavailableError({ ...i, retryAfterSeconds: f.retryAfterSeconds }),
  internal: (i) => new InternalServerError(i),
}

// Error types API Gateway (AWS_IAM) puts in x-amzn-ErrorType when the signature itself is the problem; it
// answers those with 403 like a policy denial, but the fix is different (credentials, clock, region).
const SIGNATURE_ERROR_TYPES =
  /^(IncompleteSignatureException|InvalidSignatureException|UnrecognizedClientException|ExpiredTokenException|InvalidClientTokenId)/
// API Gateway's answer for a request that matches no route (wrong path, stage or method). A signed request
// that gets it was sent to the wrong place: this client always signs.
const NO_ROUTE_ERROR_TYPE = /^MissingAuthenticationTokenException/
// API Gateway reports invalid keys as AccessDeniedException with this message.
const INVALID_TOKEN_MESSAGE = /security token included in the request is invalid/i

const STATUS_TITLES: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthenticated',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  413: 'Payload Too Large',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
}

/** The typed error for a problem document (a whole answer, or one item of a batch). */
export function errorForProblem(problem: Problem, facts: AnswerFacts = {}): BrokerClientError {
  const init: BrokerClientErrorInit = { ...problem, requestId: facts.requestId }
  const slug = problemSlug(problem.type)
  if (slug !== undefined) return BY_SLUG[slug](init, facts)
  return errorForForeignAnswer(init, facts, undefined)
}

/**
 * The typed error for a non-2xx answer. A problem+json body is used as sent; anything else becomes a
 * problem with the standard title for the status, plus API Gateway's short message when there is one.
 * Bodies are otherwise never quoted. `route` (method and path as sent) names what had no route.
 */
export function errorForResponse(res: {
  readonly status: number
  readonly contentType: string | undefined
  readonly text: string
  readonly route: string
  readonly facts: AnswerFacts
}): BrokerClientError {
  let parsed: unknown
  if (res.contentType !== undefined && /json/i.test(res.contentType)) {
    try {
      parsed = JSON.parse(res.text)
    } catch {
      parsed = undefined
    }
  }
  const problem = ProblemSchema.safeParse(parsed)
  if (problem.success && problemSlug(problem.data.type) !== undefined) {
    return errorForProblem({ ...problem.data, status: res.status }, res.facts)
  }
  const message = gatewayMessage(parsed)
  const init: BrokerClientErrorInit = {
    type: problem.success ? problem.data.type : 'about:blank',
    title: problem.success ? problem.data.title : (STATUS_TITLES[res.status] ?? `HTTP ${res.status}`),
    status: res.status,
    detail: problem.success ? problem.data.detail : message,
    requestId: res.facts.requestId,
  }
  return errorForForeignAnswer(init, res.facts, res.route)
}

/** An answer the broker's code did not write: classified by status and API Gateway's error type. */
function errorForForeignAnswer(
  init: BrokerClientErrorInit,
  facts: AnswerFacts,
  route: string | undefined,
): BrokerClientError {
  const amzn = facts.amznErrorType ?? ''
  const noRoute = (why: string): WrongEndpointError =>
    new WrongEndpointError({
      ...init,
      title: 'The endpoint has no such route',
      detail: `${why}${route === undefined ? '' : ` for ${route}`}: check the endpoint, the API's base URL with the stage for API Gateway`,
    })
  switch (init.status) {
    case 400:
      return new BadRequestError(init)
    case 401:
      return new UnauthenticatedError(init)
    case 403:
      if (NO_ROUTE_ERROR_TYPE.test(amzn))
        return noRoute('API Gateway answered MissingAuthenticationTokenException')
      if (SIGNATURE_ERROR_TYPES.test(amzn) || INVALID_TOKEN_MESSAGE.test(init.detail ?? ''))
        return new UnauthenticatedError(init)
      return new AccessDeniedError(init)
    case 404:
      return noRoute('404 without the broker’s problem document')
    case 405:
      return noRoute('405 without the broker’s problem document')
    case 413:
      return new PayloadTooLargeError(init)
    case 500:
      return new InternalServerError(init)
    case 502:
      return new UpstreamRefusedError(init)
    case 503:
    case 504:
      return new UnavailableError({ ...init, retryAfterSeconds: facts.retryAfterSeconds })
    default:
      return new BrokerClientError(init)
  }
}

/** API Gateway's `{"message": …}` (or `Message`), when short: it names the cause and never a value. */
function gatewayMessage(parsed: unknown): string | undefined {
  if (typeof parsed !== 'object' || parsed === null) return undefined
  const o = parsed as Record<string, unknown>
  const message = o['message'] ?? o['Message']
  return typeof message === 'string' && message.length <= 300 ? message : undefined
}
