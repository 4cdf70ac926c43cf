import { existsSync, readFileSync } from 'node:fs'
import type { AuditRecord } from '../../src/lib/audit'

/** The lines of a local stack's audit log, as written (one JSON record each). */
export function readAuditLines(file: string): string[] {
  if (!existsSync(file)) return []
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
}

/** The audit records a local stack wrote so far. */
export function readAuditFile(file: string): AuditRecord[] {
  return readAuditLines(file).map((l) => JSON.parse(l) as AuditRecord)
}
