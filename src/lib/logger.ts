import { Logger } from '@aws-lambda-powertools/logger'
import type { LogLevel } from './config'

/**
 * One structured logger for the whole service. Everything that logs takes a `Log`; production passes the
 * Powertools-backed one, tests a `createMemoryLog`. Fields pass through `redact` first, so a value stored
 * under a secret-looking key never reaches a log line even if a caller of the logger slips.
 */
export type LogFields = Record<string, unknown>

export interface Log {
  debug(message: string, fields?: LogFields): void
  info(message: string, fields?: LogFields): void
  warn(message: string, fields?: LogFields): void
  error(message: string, fields?: LogFields): void
  /** A logger that adds `fields` to every line (request id, function name…). */
  child(fields: LogFields): Log
}

const REDACTED = '[REDACTED]'
const SECRET_KEYS = new Set([
  'password',
  'passwd',
  'secret',
  'secretstring',
  'secretbinary',
  'value',
  'authorization',
  'x-amz-security-token',
  'sessiontoken',
  'secretaccesskey',
  'privatekey',
  'body',
])

function isSecretKey(key: string): boolean {
  const k = key.toLowerCase()
  return SECRET_KEYS.has(k) || k.endsWith('password') || k.endsWith('secretaccesskey')
}

/** A deep copy of `fields` with secret-looking keys replaced. Cycles and depth are bounded. */
export function redact(fields: unknown, depth = 0): unknown {
  if (depth > 6) return '[TRUNCATED]'
  if (Array.isArray(fields)) return fields.map((f) => redact(f, depth + 1))
  if (fields !== null && typeof fields === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(fields)) out[k] = isSecretKey(k) ? REDACTED : redact(v, depth + 1)
    return out
  }
  return fields
}

export function createLogger(opts: { level: LogLevel; serviceName?: string; persistent?: LogFields }): Log {
  const base = new Logger({
    serviceName: opts.serviceName ?? 'secret-broker',
    logLevel: opts.level,
    ...(opts.persistent === undefined ? {} : { persistentKeys: redact(opts.persistent) as LogFields }),
  })
  return wrapPowertools(base)
}

function wrapPowertools(base: Logger): Log {
  const emit =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (message: string, fields?: LogFields): void => {
      if (fields === undefined) base[level](message)
      else base[level](message, redact(fields) as LogFields)
    }
  return {
    debug: emit('debug'),
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
    child: (fields) => wrapPowertools(base.createChild({ persistentKeys: redact(fields) as LogFields })),
  }
}

/**
 * A child logger built on first use. Building a Powertools child costs more than the whole cache-hit path,
 * and most requests log nothing, so the request-scoped logger is only made when a line is written.
 */
class LazyChild implements Log {
  #child: Log | undefined
  constructor(
    private readonly parent: Log,
    private readonly fields: LogFields,
  ) {}
  #get(): Log {
    return (this.#child ??= this.parent.child(this.fields))
  }
  debug(message: string, fields?: LogFields): void {
    this.#get().debug(message, fields)
  }
  info(message: string, fields?: LogFields): void {
    this.#get().info(message, fields)
  }
  warn(message: string, fields?: LogFields): void {
    this.#get().warn(message, fields)
  }
  error(message: string, fields?: LogFields): void {
    this.#get().error(message, fields)
  }
  child(more: LogFields): Log {
    return new LazyChild(this.parent, { ...this.fields, ...more })
  }
}

/** A child logger built on first use (a class: no closures made per request). */
export function lazyChild(parent: Log, fields: LogFields): Log {
  return new LazyChild(parent, fields)
}

export interface MemoryLog extends Log {
  readonly lines: { level: string; message: string; fields: LogFields }[]
}

/** A logger that keeps its lines in memory, for tests that assert on (or scan) what was logged. */
export function createMemoryLog(persistent: LogFields = {}, lines: MemoryLog['lines'] = []): MemoryLog {
  const emit =
    (level: string) =>
    (message: string, fields?: LogFields): void => {
      lines.push({
        level,
        message,
        fields: { ...persistent, ...((redact(fields ?? {}) as LogFields) ?? {}) },
      })
    }
  return {
    lines,
    debug: emit('DEBUG'),
    info: emit('INFO'),
    warn: emit('WARN'),
    error: emit('ERROR'),
    child: (fields) => createMemoryLog({ ...persistent, ...(redact(fields) as LogFields) }, lines),
  }
}
