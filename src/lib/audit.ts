import { hash, randomBytes } from 'node:crypto'
import { appendFileSync, writeSync } from 'node:fs'
import type { CacheState } from '../contract/wire'

/**
 * The audit record: the only place that names the end caller (CloudTrail sees the broker's role, and a cache
 * hit reaches nothing). Exactly one line per request, written before any value leaves; if it cannot be
 * written the request fails closed. It holds who, what, when, from where and the outcome, never a value,
 * and carries the request's CloudWatch metrics in Embedded Metric Format (CloudWatch extracts them from the
 * line), so audit and metrics can never interleave or disagree.
 *
 * Tamper evidence: each record carries its container's id, a sequence number and the SHA-256 of the
 * previous line that container wrote — a chain per container (and so per log stream). `npm run audit --
 * verify` reports any gap, reordering or altered record (lib/audit-chain.ts).
 */
export type AuditOutcome = 'allowed' | 'denied' | 'not-modified' | 'error'
export type ForceRefreshOutcome = 'done' | 'failed' | 'rate-limited'

export interface AuditItem {
  secretName: string | undefined
  versionId: string | undefined
  outcome: AuditOutcome
  reason: string | undefined
  cache: CacheState | undefined
  staleForMs?: number
}

/** The record's facts, before the chain fields and the metrics are added. */
export interface AuditRecord {
  readonly audit: 'secret.access'
  readonly time: string
  readonly requestId: string
  readonly principal: string | undefined
  readonly accountId: string | undefined
  readonly sourceIp: string | undefined
  readonly userAgent: string | undefined
  readonly method: string
  readonly route: string
  readonly status: number
  readonly outcome: AuditOutcome
  readonly reason: string | undefined
  readonly secretName: string | undefined
  readonly versionId: string | undefined
  readonly cache: CacheState | undefined
  readonly staleForMs: number | undefined
  readonly forceRefresh: ForceRefreshOutcome | undefined
  /** How many secrets this request re-read because the invalidation register said AWSCURRENT moved. */
  readonly invalidated?: number | undefined
  /** The caller's If-None-Match named a version this container did not hold, so it revalidated first. */
  readonly behind?: boolean | undefined
  readonly items: readonly AuditItem[] | undefined
  readonly durationMs: number
}

/** A record as written: its facts, its place in the container's chain, and its EMF metrics. */
export interface ChainedAuditRecord extends AuditRecord {
  readonly container: string
  readonly seq: number
  /** SHA-256 (hex) of the previous line this container wrote; 64 zeros for its first. */
  readonly prev: string
  readonly [metricOrEmf: string]: unknown
}

export interface AuditSink {
  /** Throws when the record could not be written; the caller then fails closed. */
  write(record: AuditRecord | ChainedAuditRecord): void
  /** Writes a line that is already JSON (a sealed, chained record); `record` is that line's object, for sinks that keep it. */
  writeLine(line: string, record?: object): void
}

/** Caller-controlled strings (names, user agents) are kept short in the record; JSON escapes the rest. */
export function clip(s: string | undefined, max = 256): string | undefined {
  if (s === undefined) return undefined
  return s.length <= max ? s : `${s.slice(0, max)}…(${s.length} chars)`
}

export const GENESIS = '0'.repeat(64)

/** SHA-256 (hex) of a line; `crypto.hash` is the one-shot form, about twice as fast as createHash for a line. */
export const sha256Hex = (line: string): string => hash('sha256', line, 'hex')

/** A record's place in its container's chain. */
export interface ChainLink {
  readonly container: string
  readonly seq: number
  /** SHA-256 (hex) of the previous line this container wrote; 64 zeros for its first. */
  readonly prev: string
}

/**
 * The chain of one container: `link` gives the next record its container id, sequence number and the
 * previous line's hash; `commit` advances the chain once that record's line was written in full, so a failed
 * write leaves no gap.
 */
export interface AuditChain {
  readonly container: string
  link(): ChainLink
  commit(link: ChainLink, line: string): void
}

export function createAuditChain(container = randomBytes(8).toString('hex')): AuditChain {
  let seq = 0
  let prev = GENESIS
  return {
    container,
    link: () => ({ container, seq: seq + 1, prev }),
    commit(link, line) {
      if (link.seq !== seq + 1) throw new Error('audit chain: a link was committed out of turn')
      seq = link.seq
      prev = sha256Hex(line)
    },
  }
}

/** Seal and serialise `record` as the chain's next line (`commit` once it is written). */
export function sealRecord(
  chain: AuditChain,
  record: object,
): { line: string; record: object; commit(): void } {
  const link = chain.link()
  const chained = { ...record, ...link }
  const line = JSON.stringify(chained)
  return { line, record: chained, commit: () => chain.commit(link, line) }
}

/** `fs.writeSync`'s shape: writes from `buffer[offset…]`, returns how many bytes it wrote. */
export type WriteSyncFn = (fd: number, buffer: Uint8Array, offset: number) => number

const WRITE_RETRIES = 200
const pause = new Int32Array(new SharedArrayBuffer(4))

/** A write that gave up part-way; `written` bytes of the line went out. */
export class PartialWriteError extends Error {
  constructor(
    readonly written: number,
    options?: { cause?: unknown },
  ) {
    super(`audit line cut after ${written} bytes`, options)
    this.name = 'PartialWriteError'
  }
}

/**
 * Writes all of `data` to `fd`. A pipe or terminal opened non-blocking (stdout under some supervisors) may
 * take part of a line, take nothing, or answer EAGAIN; a half-written record would be an unreadable audit
 * line, so the rest is written after a 1 ms pause, up to a bound (≈200 ms) after which the write fails and
 * the request fails closed.
 */
export function writeFully(fd: number, data: Uint8Array, write: WriteSyncFn = writeSync): void {
  let offset = 0
  let retries = 0
  while (offset < data.length) {
    let wrote = 0
    try {
      wrote = write(fd, data, offset)
    } catch (err) {
      if ((err as { code?: string }).code !== 'EAGAIN') throw new PartialWriteError(offset, { cause: err })
    }
    offset += wrote
    if (wrote > 0) continue
    if (retries >= WRITE_RETRIES) throw new PartialWriteError(offset)
    retries += 1
    Atomics.wait(pause, 0, 0, 1)
  }
}

/**
 * Writes each record as one JSON line to stdout (CloudWatch Logs in Lambda), synchronously so a failure is
 * seen before the response leaves, and optionally appends it to a file (the local stack's audit log). After
 * a line was cut short, the next record starts on a fresh line so it is not glued to the fragment.
 */
export function createAuditSink(
  opts: { file?: string | undefined; fd?: number; writeSync?: WriteSyncFn } = {},
): AuditSink {
  const fd = opts.fd ?? 1
  let lineOpen = false
  const writeLine = (json: string): void => {
    const line = `${json}\n`
    const out = lineOpen ? `\n${line}` : line
    try {
      writeFully(fd, Buffer.from(out, 'utf8'), opts.writeSync)
      lineOpen = false
    } catch (err) {
      if (err instanceof PartialWriteError && err.written > 0) lineOpen = true
      throw err
    }
    if (opts.file !== undefined) appendFileSync(opts.file, line)
  }
  return { writeLine, write: (record) => writeLine(JSON.stringify(record)) }
}

export interface MemoryAuditSink extends AuditSink {
  /** The records written (the objects the lines were made from, undefined members included). */
  readonly records: ChainedAuditRecord[]
  readonly lines: string[]
  failNext: boolean
}

export function createMemoryAuditSink(): MemoryAuditSink {
  const sink: MemoryAuditSink = {
    records: [],
    lines: [],
    failNext: false,
    writeLine(line, record) {
      if (sink.failNext) {
        sink.failNext = false
        throw new Error('audit sink unavailable')
      }
      sink.lines.push(line)
      // The object (undefined members included) with what only the line carries (its EMF members).
      sink.records.push({ ...(record ?? {}), ...(JSON.parse(line) as object) } as ChainedAuditRecord)
    },
    write: (record) => sink.writeLine(JSON.stringify(record), record),
  }
  return sink
}
