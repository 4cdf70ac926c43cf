import type { LatencySummary } from './stats'

/**
 * The latency distributions as an SVG percentile plot (the HdrHistogram style): x is the percentile on a
 * "nines" scale (50, 90, 99, 99.9, 99.99, max), y the latency on a log scale. Hand-written, no dependency.
 */
const COLORS = ['#1b6ac9', '#6b7280', '#d97706', '#059669', '#dc2626', '#7c3aed']
const W = 860
const H = 460
const M = { left: 70, right: 250, top: 40, bottom: 50 }

function nines(q: number): number {
  return q >= 1 ? 4.3 : -Math.log10(1 - q)
}

function escape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

function fmtTick(us: number): string {
  if (us >= 1000) return `${Number((us / 1000).toFixed(2))} ms`
  return `${us} µs`
}

export function latencySvg(
  series: readonly { label: string; summary: LatencySummary }[],
  title: string,
): string {
  const all = series.flatMap((s) => s.summary.cdf.map(([, v]) => v)).filter((v) => v > 0)
  const lo = Math.floor(Math.log10(Math.min(...all)))
  const hi = Math.ceil(Math.log10(Math.max(...all)))
  const xMax = 4.3
  const px = (q: number): number => M.left + (nines(q) / xMax) * (W - M.left - M.right)
  const py = (us: number): number =>
    H - M.bottom - ((Math.log10(Math.max(us, 10 ** lo)) - lo) / (hi - lo)) * (H - M.top - M.bottom)
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${M.left}" y="22" font-size="15" font-weight="600">${escape(title)}</text>`,
  ]
  for (let e = lo; e <= hi; e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e
      if (Math.log10(v) > hi) continue
      const y = py(v)
      parts.push(
        `<line x1="${M.left}" x2="${W - M.right}" y1="${y}" y2="${y}" stroke="${m === 1 ? '#d1d5db' : '#f0f1f3'}"/>`,
      )
      if (m === 1 || hi - lo <= 3)
        parts.push(
          `<text x="${M.left - 6}" y="${y + 4}" text-anchor="end" fill="#374151">${fmtTick(v)}</text>`,
        )
    }
  }
  for (const [q, label] of [
    [0, '0'],
    [0.5, '50'],
    [0.9, '90'],
    [0.99, '99'],
    [0.999, '99.9'],
    [0.9999, '99.99'],
    [1, 'max'],
  ] as const) {
    const x = px(q)
    parts.push(`<line x1="${x}" x2="${x}" y1="${M.top}" y2="${H - M.bottom}" stroke="#e5e7eb"/>`)
    parts.push(`<text x="${x}" y="${H - M.bottom + 16}" text-anchor="middle" fill="#374151">${label}</text>`)
  }
  parts.push(
    `<text x="${(M.left + W - M.right) / 2}" y="${H - 12}" text-anchor="middle" fill="#111827">percentile</text>`,
  )
  parts.push(
    `<text transform="translate(16 ${(M.top + H - M.bottom) / 2}) rotate(-90)" text-anchor="middle" fill="#111827">latency per invocation (log)</text>`,
  )
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length] ?? '#000'
    const points = s.summary.cdf
      .filter(([q]) => q >= 0.01)
      .map(([q, v]) => `${px(q).toFixed(1)},${py(v).toFixed(1)}`)
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${points.join(' ')}"/>`)
    const ly = M.top + 10 + i * 36
    parts.push(
      `<line x1="${W - M.right + 16}" x2="${W - M.right + 36}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="3"/>`,
    )
    parts.push(`<text x="${W - M.right + 42}" y="${ly + 4}" fill="#111827">${escape(s.label)}</text>`)
    parts.push(
      `<text x="${W - M.right + 42}" y="${ly + 19}" fill="#6b7280">p50 ${fmtTick(Math.round(s.summary.p50 * 10) / 10)} · p99 ${fmtTick(Math.round(s.summary.p99 * 10) / 10)}</text>`,
    )
  })
  parts.push('</svg>')
  return `${parts.join('\n')}\n`
}
