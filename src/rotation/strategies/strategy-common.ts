import type { EngineClients, EngineName } from '../engine-clients'
import { EngineError } from '../engines'
import type { EngineMaster } from '../engine-values'
import { failed, RotationFailure, stepError } from '../rotation-errors'
import { differingFields, type SecretDocument } from '../secret-document'
import type { RotationContext } from './rotation-strategy'

/**
 * What every strategy with an external system shares: the pending-value checks, password generation,
 * sessions that are always closed, engine calls whose failures name what they did, and the master login.
 */

/** Nothing but `changed` may differ between the pending and the current value, compared losslessly. */
export function checkOnlyChanged(
  pending: SecretDocument,
  current: SecretDocument,
  changed: readonly string[],
  ctx: RotationContext,
): void {
  const differing = differingFields(pending, current, changed)
  if (differing.length > 0)
    throw stepError(
      ctx.scope,
      `refusing a pending value that differs from the current one in ${differing.join(', ')} (only ${changed.join(' and ')} may change)`,
    )
}

export async function generatePassword(ctx: RotationContext): Promise<string> {
  return ctx.passwords.generate({
    length: ctx.target.passwordLength,
    excludeCharacters: ctx.target.excludeCharacters,
  })
}

/** Run `fn` with `session`, and close it whatever happens. */
export async function withSession<S extends { close(): Promise<void> }, T>(
  session: S,
  fn: (s: S) => Promise<T>,
): Promise<T> {
  try {
    return await fn(session)
  } finally {
    await session.close()
  }
}

/**
 * Run an engine primitive (MySQL, Redis, IAM) at the strategy boundary. A failure names `operation` and
 * keeps the EngineError as its cause, so the step's message reads `<operation> failed (EngineError
 * ER_ACCESS_DENIED_ERROR)` like a PostgreSQL failure with its SQLSTATE. An `invalid-input` refusal (an
 * unsupported plugin, an ambiguous account, a name outside the allowed alphabet) can never succeed on a
 * retry: it is reported in the engine's own words, which name fields and never values.
 */
export async function engineCall<T>(operation: string, fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    if (err instanceof EngineError && err.kind === 'invalid-input')
      throw new RotationFailure(`${operation}: ${err.message}`)
    return failed(operation, err)
  }
}

/** True when `err` (or the engine error it wraps) says these credentials do not log in. */
export function isLoginRefused(err: unknown): boolean {
  const cause = err instanceof EngineError ? err : (err as { cause?: unknown } | null)?.cause
  return cause instanceof EngineError && cause.kind === 'authentication-failed'
}

const ENGINE_NAMES: Readonly<Record<EngineName, string>> = {
  mysql: 'MySQL connector',
  redis: 'Redis connector',
  iam: 'IAM client',
  getCallerIdentity: 'STS GetCallerIdentity',
  sleep: 'sleep function',
}

/** The engine client a strategy needs; the composition builds them all, so a missing one is a wiring bug. */
export function requireEngine<K extends EngineName>(ctx: RotationContext, name: K): EngineClients[K] {
  const client = ctx.engines[name]
  if (client === undefined)
    throw stepError(
      ctx.scope,
      `${ctx.target.strategy} needs a ${ENGINE_NAMES[name]}, and this function has none`,
    )
  return client
}

/** The master secret's id (the configuration refuses a master strategy without one, at cold start). */
export function masterSecretIdOf(ctx: RotationContext): string {
  const id = ctx.target.masterSecretId
  if (id === undefined) throw stepError(ctx.scope, `${ctx.target.strategy} needs a masterSecretId`)
  return id
}

const PRINTABLE_HOST = /^[A-Za-z0-9._:[\]-]{1,253}$/

/** "on cache.internal:6379": names a server in an error, printing the host only when it looks like one. */
export function onServer(c: { readonly host: string; readonly port: number }): string {
  return `on ${PRINTABLE_HOST.test(c.host) ? c.host : '(host)'}:${c.port}`
}

/**
 * How a master logs in: its username and password; host and port from the master secret when it has them
 * (they must then be the rotated secret's, else the master is refused), else the rotated secret's.
 */
export function masterLogin(
  masterId: string,
  master: EngineMaster,
  current: { readonly host: string; readonly port: number },
  ctx: RotationContext,
): { username: string; password: string; host: string; port: number } {
  const host = master.host ?? current.host
  const port = master.port ?? current.port
  if (host.toLowerCase() !== current.host.toLowerCase() || port !== current.port)
    throw stepError(
      ctx.scope,
      `refusing the master secret ${masterId}: its host or port is not the current value's`,
    )
  return { username: master.username, password: master.password, host, port }
}
