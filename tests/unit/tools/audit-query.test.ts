import { formatRows, parseSince, queryAudit } from '../../../scripts/lib/audit-query'
import type { AuditRecord } from '../../../src/lib/audit'

const base: AuditRecord = {
  audit: 'secret.access',
  time: '2026-11-28T12:00:00.000Z',
  requestId: 'r1',
  principal: 'arn:aws:iam::123456789012:role/orders',
  accountId: '123456789012',
  sourceIp: '10.0.0.1',
  userAgent: 'ua',
  method: 'GET',
  route: '/secrets/{name+}',
  status: 200,
  outcome: 'allowed',
  reason: undefined,
  secretName: 'orders/db',
  versionId: 'v1',
  cache: 'hit',
  staleForMs: undefined,
  forceRefresh: undefined,
  items: undefined,
  durationMs: 1,
}

describe('queryAudit', () => {
  const records: AuditRecord[] = [
    base,
    {
      ...base,
      requestId: 'r2',
      time: '2026-11-28T12:30:00.000Z',
      principal: 'arn:aws:iam::123456789012:role/billing',
      outcome: 'denied',
      reason: 'caller-not-allowed',
      versionId: undefined,
      cache: undefined,
    },
    {
      ...base,
      requestId: 'r3',
      time: '2026-11-28T12:40:00.000Z',
      route: '/secrets:batchGet',
      secretName: undefined,
      versionId: undefined,
      items: [
        { secretName: 'orders/db', versionId: 'v2', outcome: 'allowed', reason: undefined, cache: 'miss' },
        {
          secretName: 'other',
          versionId: undefined,
          outcome: 'denied',
          reason: 'unknown-name',
          cache: undefined,
        },
      ],
    },
    { ...base, requestId: 'r4', secretName: 'payments/key' },
  ]

  it('finds every read of a secret, batch items included, oldest first', () => {
    const rows = queryAudit(records, { secret: 'orders/db' })
    expect(rows.map((r) => [r.requestId, r.versionId, r.outcome])).toEqual([
      ['r1', 'v1', 'allowed'],
      ['r2', '-', 'denied (caller-not-allowed)'],
      ['r3', 'v2', 'allowed'],
    ])
  })

  it('filters by principal and time', () => {
    expect(
      queryAudit(records, { secret: 'orders/db', principal: 'arn:aws:iam::123456789012:role/billing' }).map(
        (r) => r.requestId,
      ),
    ).toEqual(['r2'])
    expect(
      queryAudit(records, { secret: 'orders/db', sinceMs: Date.parse('2026-11-28T12:35:00Z') }).map(
        (r) => r.requestId,
      ),
    ).toEqual(['r3'])
  })

  it('reads durations and times for --since, and refuses nonsense', () => {
    const now = Date.parse('2026-11-28T13:00:00Z')
    expect(parseSince('1h', now)).toBe(now - 3_600_000)
    expect(parseSince('30m', now)).toBe(now - 1_800_000)
    expect(parseSince('2026-11-28T00:00:00Z', now)).toBe(Date.parse('2026-11-28T00:00:00Z'))
    expect(() => parseSince('yesterday', now)).toThrow(/--since must be/)
  })

  it('prints a table with a header, or says nothing matched', () => {
    expect(formatRows([])).toBe('No matching reads.\n')
    const table = formatRows(queryAudit(records, { secret: 'payments/key' }))
    expect(table.split('\n')[0]).toMatch(/^TIME\s+PRINCIPAL\s+SECRET\s+VERSION\s+OUTCOME/)
    expect(table).toContain('payments/key')
  })
})
