import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import middy, { type MiddlewareObj } from '@middy/core'
import secretsManager from '@middy/secrets-manager'
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda'
import type { AuditChain, AuditSink } from '../audit'
import type { CallerIdentity } from '../auth/caller'
import type { Clock } from '../clock'
import type { HttpConfig } from '../config'
import { AuditUnavailableError, describeError, isBrokerError } from '../errors'
import { buildAuditRecord, factsForError } from '../http/audit-record'
import { normaliseEvent, type BrokerRequest } from '../http/request'
import { respond, respondWithProblem } from '../http/respond'
import type { AuditFacts, RouteLogic, RouteResult } from '../http/route'
import { lazyChild, type Log } from '../logger'
import { emfFields, emfMembersJson, serviceDimensionsJson } from '../metrics'
import { requestMetrics } from '../request-metrics'
import { checkApiOrigin, eventOrigin, type ApiOrigin } from './api-origin'
import { authenticateCaller, type KeysContext } from './authenticate-caller'

/**
 * The one place middy is composed, and the request pipeline, in order: normalise the event (and give the
 * request its logger) → [local stage: @middy/secrets-manager has loaded the demo consumers' keys] →
 * authenticate the caller → the route's logic → ONE audit line (the record, its chain fields and the
 * request's EMF metrics), written synchronously before any value leaves; if it cannot be written the request
 * fails closed with 503 → the response (protective headers; errors as problem+json).
 */
export interface HttpStackDeps {
  readonly config: HttpConfig
  readonly clock: Clock
  readonly log: Log
  readonly auditSink: AuditSink
  readonly auditChain: AuditChain
  /** Client options for @middy/secrets-manager (local stage key loading); the SDK's env endpoint otherwise. */
  readonly localKeysClientOptions?: ConstructorParameters<typeof SecretsManagerClient>[0]
}

export type HttpHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>

export interface HttpStackOptions {
  /** No authentication and no audit record (health). */
  readonly public?: boolean
  /** The method API Gateway routes to this function; any other never reaches it in AWS, nor here. */
  readonly method?: string
}

/** What API Gateway answers for a method a resource does not declare (it never invokes the function). */
const MISSING_AUTHENTICATION_TOKEN: APIGatewayProxyResult = {
  statusCode: 403,
  headers: { 'Content-Type': 'application/json', 'x-amzn-ErrorType': 'MissingAuthenticationTokenException' },
  body: JSON.stringify({ message: 'Missing Authentication Token' }),
}

/** A refused foreign event is worth a warning with what it claimed (ids, never a value). */
function logForeignEvent(log: Log, event: APIGatewayProxyEvent, expected: ApiOrigin): void {
  const { apiId, stage } = eventOrigin(event)
  log.warn("event refused: not from this stage's API (direct invocation?)", {
    expectedApiId: expected.apiId,
    expectedStage: expected.stage,
    apiId: typeof apiId === 'string' ? apiId.slice(0, 64) : typeof apiId,
    stage: typeof stage === 'string' ? stage.slice(0, 64) : typeof stage,
  })
}

function logFailure(log: Log, err: unknown): void {
  if (!isBrokerError(err)) log.error('unexpected error', describeError(err))
  else if (err.httpStatus >= 500) log.warn('request failed', describeError(err))
}

export function withHttpStack<D extends HttpStackDeps>(
  logic: RouteLogic<D>,
  deps: D,
  opts: HttpStackOptions = {},
): HttpHandler {
  const { config, clock } = deps
  const dimensionsJson = serviceDimensionsJson(config.stage)
  const origin: ApiOrigin | undefined =
    config.apiId === undefined ? undefined : { apiId: config.apiId, stage: config.stage }
  /** The tripwire (lib/middleware/api-origin.ts), before anything reads the event's identity. */
  const checkOrigin = (event: APIGatewayProxyEvent, log: Log): void => {
    if (origin === undefined) return
    try {
      checkApiOrigin(event, origin)
    } catch (err) {
      logForeignEvent(log, event, origin)
      throw err
    }
  }
  const authenticate = authenticateCaller({
    mode: config.authMode,
    accountId: config.accountId,
    region: config.region,
    clock,
  })

  /** Writes the request's audit line; false (and the failure logged, and counted) if it could not be written. */
  function audit(
    req: BrokerRequest,
    caller: CallerIdentity | undefined,
    status: number,
    facts: AuditFacts,
  ): boolean {
    const now = clock.now()
    const link = deps.auditChain.link()
    const record = buildAuditRecord(req, caller, status, facts, now, link)
    // The record's JSON, then its EMF members (definitions made once per combination of metrics).
    const recordJson = JSON.stringify(record)
    const emf = emfMembersJson({ dimensionsJson, ...requestMetrics(facts), timestamp: now })
    const line = `${recordJson.slice(0, -1)},${emf}}`
    try {
      deps.auditSink.writeLine(line, record)
      deps.auditChain.commit(link, line)
      return true
    } catch (err) {
      deps.log.error('audit record could not be written', describeError(err))
      try {
        // Best effort, on its own line: the failure is an operational signal (and alarm) in itself.
        const metrics = { counts: { AuditWriteFailed: 1 }, timings: {} }
        deps.auditSink.writeLine(
          JSON.stringify(emfFields({ stage: config.stage, route: req.route, ...metrics, timestamp: now })),
        )
      } catch {
        // stdout itself is failing; the log line above is all that can be done
      }
      return false
    }
  }

  async function handle(
    event: APIGatewayProxyEvent,
    context: Context & KeysContext,
  ): Promise<APIGatewayProxyResult> {
    const req = normaliseEvent(event, context, clock.now())
    if (opts.method !== undefined && req.method !== opts.method) return MISSING_AUTHENTICATION_TOKEN
    const log = lazyChild(deps.log, { requestId: req.requestId, route: req.route })
    if (opts.public === true) {
      try {
        checkOrigin(event, log)
        return respond(req.requestId, await logic({ req, caller: undefined, log }, deps))
      } catch (err) {
        logFailure(log, err)
        return respondWithProblem(req.requestId, err)
      }
    }
    let caller: CallerIdentity | undefined
    let result: RouteResult
    try {
      checkOrigin(event, log)
      caller = await authenticate(req, event.requestContext?.identity?.userArn, context)
      result = await logic({ req, caller, log }, deps)
    } catch (err) {
      logFailure(log, err)
      const status = isBrokerError(err) ? err.httpStatus : 500
      audit(req, caller, status, factsForError(err))
      return respondWithProblem(req.requestId, err)
    }
    if (!audit(req, caller, result.status, result.audit)) {
      // Nothing leaves without its audit record.
      return respondWithProblem(
        req.requestId,
        new AuditUnavailableError('The audit record could not be written.'),
      )
    }
    return respond(req.requestId, result)
  }

  const stack = middy<APIGatewayProxyEvent, APIGatewayProxyResult, Error, Context & KeysContext>()
  if (
    opts.public !== true &&
    config.authMode === 'local-sigv4' &&
    config.localConsumersSecretId !== undefined
  ) {
    stack.use(
      secretsManager({
        AwsClient: SecretsManagerClient,
        awsClientOptions: deps.localKeysClientOptions ?? { region: config.region },
        fetchData: { localConsumerKeys: config.localConsumersSecretId },
        setToContext: true,
        // Loaded once per container, no refresh timer (timers keep processes alive and fire in frozen Lambdas).
        cacheExpiry: -1,
        disablePrefetch: true,
        cacheKey: `local-consumer-keys:${config.localConsumersSecretId}`,
      }) as MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult, Error, Context & KeysContext>,
    )
    // The keys could not be loaded: an audited 500 rather than a bare Lambda error.
    stack.onError((request) => {
      const req = normaliseEvent(request.event, request.context, clock.now())
      logFailure(deps.log, request.error)
      audit(req, undefined, 500, factsForError(request.error))
      request.response = respondWithProblem(req.requestId, request.error)
    })
  }
  return stack.handler(handle)
}
