import { GENESIS, sha256Hex } from '../../src/lib/audit'

/**
 * Checks the audit records' chains (src/lib/audit.ts): each container numbers its records 1, 2, 3… and puts
 * the SHA-256 of its previous line into the next one. Read in the order they were written (a file, or one
 * log stream after another), a missing record shows as a gap in the numbers, a moved one as a number out of
 * order, and a changed one as a hash that no longer matches the line after it. The last record of a chain
 * has no successor to vouch for it: an edit to it shows only once the container writes again.
 */
export type ChainProblemKind = 'gap' | 'reorder' | 'altered' | 'unreadable' | 'unchained'

export interface ChainProblem {
  readonly kind: ChainProblemKind
  /** Where: the source (file or log stream) and the line number in it, from 1. */
  readonly source: string
  readonly line: number
  readonly container?: string
  readonly seq?: number
  readonly detail: string
}

export interface ChainReport {
  readonly records: number
  readonly containers: number
  readonly problems: readonly ChainProblem[]
}

interface ChainState {
  nextSeq: number
  lastHash: string
}

interface Sealed {
  audit?: unknown
  container?: unknown
  seq?: unknown
  prev?: unknown
}

/** Verify audit lines, each source in the order it was written. Lines that are not audit records are ignored. */
export function verifyAuditChains(
  sources: readonly { name: string; lines: readonly string[] }[],
): ChainReport {
  const chains = new Map<string, ChainState>()
  const problems: ChainProblem[] = []
  let records = 0
  for (const { name, lines } of sources) {
    lines.forEach((raw, i) => {
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw
      if (!line.includes('"secret.access"')) return
      const at = { source: name, line: i + 1 }
      let record: Sealed
      try {
        record = JSON.parse(line.slice(line.indexOf('{'))) as Sealed
      } catch {
        problems.push({
          kind: 'unreadable',
          ...at,
          detail: 'an audit line that is not valid JSON (cut short, or edited)',
        })
        return
      }
      if (record.audit !== 'secret.access') return
      records += 1
      const { container, seq, prev } = record
      if (typeof container !== 'string' || typeof seq !== 'number' || typeof prev !== 'string') {
        problems.push({
          kind: 'unchained',
          ...at,
          detail: 'a record without chain fields (container, seq, prev)',
        })
        return
      }
      const chain = chains.get(container) ?? { nextSeq: 1, lastHash: GENESIS }
      chains.set(container, chain)
      const where = { ...at, container, seq }
      if (seq < chain.nextSeq) {
        problems.push({
          kind: 'reorder',
          ...where,
          detail: `record ${seq} comes after record ${chain.nextSeq - 1} of the same container (moved or duplicated)`,
        })
        return
      }
      if (seq > chain.nextSeq) {
        problems.push({
          kind: 'gap',
          ...where,
          detail:
            seq === chain.nextSeq + 1
              ? `record ${chain.nextSeq} is missing`
              : `records ${chain.nextSeq}–${seq - 1} are missing`,
        })
      } else if (prev !== chain.lastHash) {
        problems.push({
          kind: 'altered',
          ...where,
          detail: `record ${seq - 1} (or this record's prev) was changed after it was written`,
        })
      }
      chain.nextSeq = seq + 1
      chain.lastHash = sha256Hex(line.slice(line.indexOf('{')))
    })
  }
  return { records, containers: chains.size, problems }
}

export function formatChainReport(report: ChainReport): string {
  const head = `${report.records} audit record(s) from ${report.containers} container(s): `
  if (report.problems.length === 0) return `${head}every chain is intact.\n`
  return (
    `${head}${report.problems.length} problem(s)\n` +
    report.problems
      .map(
        (p) =>
          `  ${p.kind.toUpperCase().padEnd(10)} ${p.source}:${p.line}${p.container === undefined ? '' : ` container ${p.container} seq ${p.seq ?? '?'}`}: ${p.detail}`,
      )
      .join('\n') +
    '\n'
  )
}
