import { createAuditChain, sealRecord } from '../../../src/lib/audit'
import { formatChainReport, verifyAuditChains } from '../../../scripts/lib/audit-verify'

/** A container's chain of `n` sealed audit lines. */
function chainOf(n: number, container?: string): string[] {
  const chain = createAuditChain(container)
  return Array.from({ length: n }, (_, i) => {
    const sealed = sealRecord(chain, { audit: 'secret.access', requestId: `r-${i + 1}`, outcome: 'allowed' })
    sealed.commit()
    return sealed.line
  })
}

const verify = (lines: string[]) => verifyAuditChains([{ name: 'audit.jsonl', lines }])

describe('verifyAuditChains', () => {
  it('accepts untouched chains of several containers, interleaved, and ignores other log lines', () => {
    const a = chainOf(4, 'aaaa')
    const b = chainOf(3, 'bbbb')
    const lines = [a[0], b[0], '{"level":"INFO","message":"hello"}', a[1], b[1], a[2], b[2], a[3]] as string[]
    const report = verify(lines)
    expect(report).toEqual({ records: 7, containers: 2, problems: [] })
    expect(formatChainReport(report)).toContain('every chain is intact')
  })

  it('reports a deleted record as a gap', () => {
    const lines = chainOf(5)
    lines.splice(2, 1)
    expect(verify(lines).problems).toMatchObject([
      { kind: 'gap', seq: 4, line: 3, detail: 'record 3 is missing' },
    ])
  })

  it('reports an altered record at the record after it', () => {
    const lines = chainOf(4)
    lines[1] = (lines[1] as string).replace('"outcome":"allowed"', '"outcome":"denied"')
    expect(verify(lines).problems).toMatchObject([{ kind: 'altered', seq: 3, line: 3 }])
  })

  it('reports records out of order', () => {
    const lines = chainOf(4)
    ;[lines[1], lines[2]] = [lines[2] as string, lines[1] as string]
    const kinds = verify(lines).problems.map((p) => p.kind)
    expect(kinds).toContain('reorder')
    expect(kinds).toContain('gap')
  })

  it('reports a cut or garbled audit line, and records without chain fields', () => {
    const lines = chainOf(2)
    lines.push('{"audit":"secret.access","requestId":"r-x"')
    lines.push(JSON.stringify({ audit: 'secret.access', requestId: 'old' }))
    expect(verify(lines).problems.map((p) => p.kind)).toEqual(['unreadable', 'unchained'])
  })
})
