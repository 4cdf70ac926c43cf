import type { AccessMatrix } from './catalog-model'

/**
 * `npm run catalog -- report`: the access matrix an access review asks for, in three formats. `md` has one
 * table per question (what may each principal read; who may read each secret; who may read what inside each
 * brokered prefix); `csv` is the long form, one row per principal and name or pattern, for a spreadsheet;
 * `json` is the matrix itself.
 */
export const REPORT_FORMATS = ['md', 'csv', 'json'] as const
export type ReportFormat = (typeof REPORT_FORMATS)[number]

const cell = (s: string): string => s.replace(/\|/g, '\\|')
const code = (s: string): string => `\`${s}\``
const list = (items: readonly string[]): string => (items.length === 0 ? '—' : items.map(code).join(', '))

function markdown(stage: string, m: AccessMatrix): string {
  const out = [
    `# Access review: stage ${stage}`,
    '',
    'Patterns are expanded against the declared names; inside brokered prefixes (secrets other stacks own) the',
    'patterns a principal may read are shown as patterns. A role family (`role/name-*`) row is what every role',
    'of the family may read.',
    '',
    '## What each principal may read',
    '',
    '| principal | declared names | patterns in brokered prefixes |',
    '|---|---|---|',
    ...m.principals.map(
      (p) => `| ${code(p.principal)} | ${cell(list(p.names))} | ${cell(list(p.patterns))} |`,
    ),
    '',
    '## Who may read each declared secret',
    '',
    '| name | secret | readers |',
    '|---|---|---|',
    ...m.secrets.map((s) => `| ${code(s.name)} | ${code(s.secret)} | ${cell(list(s.readers))} |`),
  ]
  if (m.prefixes.length > 0) {
    out.push(
      '',
      '## Brokered prefixes',
      '',
      '| pattern | Secrets Manager prefix | required tag | readers |',
      '|---|---|---|---|',
    )
    for (const p of m.prefixes) {
      const readers = p.readers.map((r) => `${code(r.principal)}: ${list(r.patterns)}`)
      out.push(
        `| ${code(p.pattern)} | ${code(p.secretPrefix)} | ${p.requireTag === undefined ? '—' : code(p.requireTag)} | ${cell(readers.length === 0 ? '—' : readers.join('<br>'))} |`,
      )
    }
  }
  return `${out.join('\n')}\n`
}

const csvField = (s: string): string => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s)

function csv(m: AccessMatrix): string {
  const secretOf = new Map(m.secrets.map((s) => [s.name, s.secret]))
  const rows = [['principal', 'access', 'name', 'secret']]
  for (const p of m.principals) {
    for (const name of p.names) rows.push([p.principal, 'name', name, secretOf.get(name) ?? ''])
    for (const pattern of p.patterns) {
      const prefix = m.prefixes.find((x) => pattern.startsWith(x.pattern.slice(0, -1)))
      const secret =
        prefix === undefined ? '' : `${prefix.secretPrefix}${pattern.slice(prefix.pattern.length - 1)}`
      rows.push([p.principal, 'pattern', pattern, secret])
    }
  }
  return `${rows.map((r) => r.map(csvField).join(',')).join('\n')}\n`
}

export function renderReport(stage: string, m: AccessMatrix, format: ReportFormat): string {
  switch (format) {
    case 'md':
      return markdown(stage, m)
    case 'csv':
      return csv(m)
    case 'json':
      return `${JSON.stringify({ stage, ...m }, null, 2)}\n`
    default: {
      const unreachable: never = format
      return unreachable
    }
  }
}
