/**
 * Rotation schedules as Secrets Manager accepts them: `rate(N hours|days)` or a six-field `cron(...)`.
 * Secrets Manager refuses anything more frequent than every four hours, so packaging does too, with a
 * message that says why, instead of a failed deploy twenty minutes later.
 */
export const MIN_ROTATION_INTERVAL_HOURS = 4

export function checkRotationSchedule(expr: string): string | undefined {
  const rate = /^rate\((\d+) (hour|hours|day|days)\)$/.exec(expr)
  if (rate !== null) {
    const n = Number(rate[1])
    const hours = (rate[2] as string).startsWith('hour') ? n : n * 24
    if (n < 1) return `${expr}: the interval must be at least 1`
    if ((rate[2] === 'hour' || rate[2] === 'day') && n !== 1)
      return `${expr}: use the plural unit for values above 1`
    if ((rate[2] === 'hours' || rate[2] === 'days') && n === 1) return `${expr}: use the singular unit for 1`
    if (hours < MIN_ROTATION_INTERVAL_HOURS) {
      return `${expr} rotates more often than every ${MIN_ROTATION_INTERVAL_HOURS} hours, which Secrets Manager refuses`
    }
    if (rate[2]?.startsWith('day') === true && n > 1000) return `${expr}: at most 1000 days`
    return undefined
  }
  const cron = /^cron\((.+)\)$/.exec(expr)
  if (cron === null)
    return `${expr}: expected rate(N hours|days) or cron(minutes hours day-of-month month day-of-week year)`
  const fields = (cron[1] as string).trim().split(/\s+/)
  if (fields.length !== 6) return `${expr}: a cron expression has six fields`
  const [minutes, hours] = fields as [string, string]
  if (!/^\d{1,2}$/.test(minutes)) {
    return `${expr}: the minutes field must be a single value, or the secret would rotate more than once an hour`
  }
  const hourSet = expandHours(hours)
  if (hourSet === undefined) return `${expr}: cannot read the hours field "${hours}"`
  if (hourSet.length > 1) {
    const sorted = [...hourSet].sort((a, b) => a - b)
    const gaps = sorted.map((h, i) => ((sorted[(i + 1) % sorted.length] as number) - h + 24) % 24 || 24)
    if (Math.min(...gaps) < MIN_ROTATION_INTERVAL_HOURS) {
      return `${expr} rotates more often than every ${MIN_ROTATION_INTERVAL_HOURS} hours, which Secrets Manager refuses`
    }
  }
  return undefined
}

function expandHours(field: string): number[] | undefined {
  const out = new Set<number>()
  for (const part of field.split(',')) {
    const m = /^(\*|\d{1,2}(?:-\d{1,2})?)(?:\/(\d{1,2}))?$/.exec(part)
    if (m === null) return undefined
    const [lo, hi] =
      m[1] === '*' ? [0, 23] : ((m[1] as string).split('-').map(Number).concat([]) as [number, number?])
    const end = m[1] === '*' ? 23 : (hi ?? (m[2] === undefined ? lo : 23))
    const step = m[2] === undefined ? 1 : Number(m[2])
    if (lo > 23 || end > 23 || step < 1) return undefined
    for (let h = lo; h <= end; h += step) out.add(h)
  }
  return [...out]
}
