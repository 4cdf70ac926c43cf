import type { AuditRecord } from '../../src/lib/audit'

/**
 * Who read which version of which secret, when, from where, with what outcome: the broker's audit records
 * filtered and flattened (a batch request contributes one row per name). Pure; the CLI feeds it records
 * from the local audit file or from CloudWatch Logs.
 */
export interface AuditQuery {
  readonly secret?: string | undefined
  readonly principal?: string | undefined
  readonly sinceMs?: number | undefined
}

export interface AuditRow {
  readonly time: string
  readonly principal: string
  readonly secret: string
  readonly versionId: string
  readonly outcome: string
  readonly cache: string
  readonly sourceIp: string
  readonly requestId: string
}

export function parseSince(s: string, now: number): number {
  const rel = /^(\d+)\s*([smhd])$/.exec(s.trim())
  if (rel !== null) {
    const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[rel[2] as 's' | 'm' | 'h' | 'd']
    return now - Number(rel[1]) * unit
  }
  const t = Date.parse(s)
  if (Number.isNaN(t))
    throw new Error(`--since must be a duration such as 30m, 1h, 2d, or an ISO time; got "${s}"`)
  return t
}

export function queryAudit(records: readonly AuditRecord[], q: AuditQuery): AuditRow[] {
  const rows: AuditRow[] = []
  for (const r of records) {
    if ((r as { audit?: string }).audit !== 'secret.access') continue
    if (q.principal !== undefined && r.principal !== q.principal) continue
    if (q.sinceMs !== undefined && Date.parse(r.time) < q.sinceMs) continue
    const base = {
      time: r.time,
      principal: r.principal ?? '(unauthenticated)',
      sourceIp: r.sourceIp ?? '-',
      requestId: r.requestId,
    }
    const items = r.items ?? [
      {
        secretName: r.secretName,
        versionId: r.versionId,
        outcome: r.outcome,
        reason: r.reason,
        cache: r.cache,
      },
    ]
    for (const item of items) {
      if (q.secret !== undefined && item.secretName !== q.secret) continue
      if (item.secretName === undefined && q.secret === undefined && r.route !== '/secrets/{name+}') continue
      rows.push({
        ...base,
        secret: item.secretName ?? '-',
        versionId: item.versionId ?? '-',
        outcome: item.reason === undefined ? item.outcome : `${item.outcome} (${item.reason})`,
        cache: item.cache ?? '-',
      })
    }
  }
  return rows.sort((a, b) => a.time.localeCompare(b.time))
}

export function formatRows(rows: readonly AuditRow[]): string {
  if (rows.length === 0) return 'No matching reads.\n'
  const header: AuditRow = {
    time: 'TIME',
    principal: 'PRINCIPAL',
    secret: 'SECRET',
    versionId: 'VERSION',
    outcome: 'OUTCOME',
    cache: 'CACHE',
    sourceIp: 'FROM',
    requestId: 'REQUEST',
  }
  const cols: (keyof AuditRow)[] = [
    'time',
    'principal',
    'secret',
    'versionId',
    'outcome',
    'cache',
    'sourceIp',
    'requestId',
  ]
  const widths = cols.map((c) => Math.max(...[header, ...rows].map((r) => r[c].length)))
  return (
    [header, ...rows]
      .map((r) =>
        cols
          .map((c, i) => r[c].padEnd(widths[i] ?? 0))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  )
}
