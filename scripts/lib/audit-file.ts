import { existsSync, readFileSync } from 'node:fs'
import type { AuditRecord } from '../../src/lib/audit'

/** The audit records a local stack wrote so far (one JSON line each). */
export function readAuditFile(file: string): AuditRecord[] {
  if (!existsSync(file)) return []
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as AuditRecord)
}
