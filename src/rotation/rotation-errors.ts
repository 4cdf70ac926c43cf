import { RotationStepError } from '../lib/errors'
import { EngineError } from './engines/engine-error'

/** Where a rotation step is: carried into every error so the log line and the retry say which step failed. */
export interface StepScope {
  readonly step: string
  readonly secretId: string
  readonly clientRequestToken: string
}

/** A refusal or failure with a message that is safe to log: it names fields and codes, never values. */
export function stepError(scope: StepScope, message: string): RotationStepError {
  return new RotationStepError(`${scope.step}: ${message}`, {
    step: scope.step,
    secretId: scope.secretId,
    token: scope.clientRequestToken,
  })
}

/**
 * A failure described in our own words: the message says what failed and is safe to log as it is (it names
 * fields, secrets, roles and codes, never values). The step runner prefixes it with the step.
 */
export class RotationFailure extends Error {
  constructor(message: string) {
    super(message)
    this.name = new.target.name
  }
}

/** A secret value that is not what its strategy needs. The message names the field, never its content. */
export class InvalidSecretValueError extends RotationFailure {}

/**
 * An operation of a step failed: `operation` says what was being done to what ("reading the master secret
 * rds!db-… (AWSCURRENT)", "changing the password of role app on db.internal:5432/app"), the cause is the
 * SDK, pg or socket error. It never leaves the step runner: there it becomes a RotationStepError whose
 * message is the operation plus the cause chain's classes and codes (never their messages, which can quote
 * SQL or input).
 */
export class RotationOperationError extends Error {
  constructor(
    readonly operation: string,
    options: { cause: unknown },
  ) {
    super(`${operation} failed`, options)
    this.name = 'RotationOperationError'
  }
}

/** Errors that already say what went wrong in our own words, and so are never wrapped again. */
export function isOwnError(err: unknown): boolean {
  return (
    err instanceof RotationStepError ||
    err instanceof RotationFailure ||
    err instanceof RotationOperationError
  )
}

/** Rethrow `err`, wrapped (unless it is already our own) so that the failure names `operation`. */
export function failed(operation: string, err: unknown): never {
  if (isOwnError(err)) throw err
  throw new RotationOperationError(operation, { cause: err })
}

/** Run `fn`; a foreign error it throws is wrapped so that the failure names `operation`. */
export async function attempt<T>(operation: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    return failed(operation, err)
  }
}

/** One link of a cause chain, as it may be logged: a class name and a code, never a message. */
export interface CauseLink {
  readonly errorClass: string
  /**
   * A PostgreSQL SQLSTATE or a socket errno code (`42501`, `ECONNREFUSED`); for an engine error (MySQL,
   * Redis, IAM), the server's error name (`ER_ACCESS_DENIED_ERROR`, `NOPERM`, `AccessDenied`) or its kind.
   */
  readonly code?: string
  /** An engine error's kind (`authentication-failed`, `permission-denied`, `unavailable`…). */
  readonly kind?: string
  /** An AWS SDK error's HTTP status. */
  readonly httpStatus?: number
  /** An AWS SDK error's request id, for a support case (logged, not put in the thrown message). */
  readonly awsRequestId?: string
}

const SAFE_CLASS = /^[A-Za-z_$][\w$.]{0,63}$/
const SAFE_CODE = /^[A-Z0-9_]{1,32}$/

function field(err: unknown, key: string): unknown {
  return err !== null && typeof err === 'object' ? (err as Record<string, unknown>)[key] : undefined
}

/**
 * The error's class name. Not `instanceof Error`: errors from Node's core modules (pg's socket errors) can
 * come from another realm (jest's VM contexts) and still be errors. pg's server errors are named "error"
 * (the protocol message type): their constructor's name, DatabaseError, says more.
 */
export function errorClassOf(err: unknown): string {
  const name = field(err, 'name')
  const ctor = (field(err, 'constructor') as { name?: unknown } | undefined)?.name
  if (name === 'error' && typeof ctor === 'string' && SAFE_CLASS.test(ctor)) return ctor
  return typeof name === 'string' && SAFE_CLASS.test(name) ? name : typeof err
}

/** The SQLSTATE of a PostgreSQL error, or the errno code of a socket error: safe to log, unlike messages. */
export function errorCodeOf(err: unknown): string | undefined {
  const code = field(err, 'code')
  return typeof code === 'string' && SAFE_CODE.test(code) ? code : undefined
}

/**
 * The cause chain from `err` inwards (err, err.cause, …; at most 5 links), skipping our own wrappers, each
 * link a class and a code. An AggregateError (a connection tried on several addresses) adds its first error.
 */
export function causeChain(err: unknown): CauseLink[] {
  const links: CauseLink[] = []
  let current: unknown = err
  for (let depth = 0; depth < 5 && current !== undefined && current !== null; depth++) {
    if (current instanceof EngineError) {
      // Its code was checked when it was made (engine-error.ts safeCode), mixed case included (IAM's names).
      links.push({ errorClass: 'EngineError', code: current.code ?? current.kind, kind: current.kind })
    } else if (!(current instanceof RotationOperationError)) {
      const meta = field(current, '$metadata') as
        { httpStatusCode?: unknown; requestId?: unknown } | undefined
      const code = errorCodeOf(current)
      const requestId = meta?.requestId
      links.push({
        errorClass: errorClassOf(current),
        ...(code === undefined ? {} : { code }),
        ...(typeof meta?.httpStatusCode === 'number' ? { httpStatus: meta.httpStatusCode } : {}),
        ...(typeof requestId === 'string' && /^[\w-]{1,128}$/.test(requestId)
          ? { awsRequestId: requestId }
          : {}),
      })
    }
    const inner = field(current, 'errors')
    current = field(current, 'cause') ?? (Array.isArray(inner) ? (inner[0] as unknown) : undefined)
  }
  return links
}

/** `ResourceNotFoundException, HTTP 400` / `DatabaseError 42501` / `Error ECONNREFUSED ← caused by …`. */
export function formatCauseChain(links: readonly CauseLink[]): string {
  return links
    .map((l) =>
      [
        l.errorClass,
        ...(l.code === undefined ? [] : [` ${l.code}`]),
        ...(l.httpStatus === undefined ? [] : [`, HTTP ${l.httpStatus}`]),
      ].join(''),
    )
    .join(' ← caused by ')
}
