import type { MetricName, TimingName } from '../src/lib/metrics'
import { METRICS_NAMESPACE } from '../src/lib/metrics'
import type { Cfn } from './cfn'
import type { StackPlan } from './plan'
import { SERVICE_NAME } from './stage-declarations'

/**
 * One CloudWatch dashboard per stage, so operators can look rather than read logs: reads and their answers
 * (allowed, denied, 304, errors), the cache's hit rate and stale answers, Secrets Manager calls and their
 * failures, the invalidation register, rotation outcomes and durations, and audit write failures, next to the
 * stage's alarms.
 *
 * The metrics are the ones the functions emit (EMF on the audit line, Powertools for the rotation and
 * invalidation functions; names typed by src/lib/metrics.ts, so a renamed metric fails the type check). Each
 * graph sums a metric over all its series with a SEARCH on the namespace, the name and the stage: the HTTP
 * functions add a `route` dimension and the rotation function a `step`, and a route added later is counted
 * without editing the dashboard.
 */
export const dashboardName = (stage: string): string => `${SERVICE_NAME}-${stage}`

const PERIOD_SECONDS = 300

type Emitted = MetricName | TimingName

interface Line {
  readonly metric: Emitted
  readonly label: string
  readonly stat?: 'Sum' | 'Average' | 'Maximum' | 'p50' | 'p99'
}

/** SUM over every series of one metric of this stage (0 when none exists yet, so sums stay defined). */
function search(stage: string, metric: Emitted, stat: string): string {
  return `SEARCH('Namespace="${METRICS_NAMESPACE}" MetricName="${metric}" stage="${stage}"', '${stat}', ${PERIOD_SECONDS})`
}

function total(stage: string, line: Line): string {
  const stat = line.stat ?? 'Sum'
  const fn = stat === 'Maximum' ? 'MAX' : stat === 'Sum' ? 'SUM' : 'AVG'
  return `FILL(${fn}(${search(stage, line.metric, stat)}), 0)`
}

function graph(title: string, metrics: unknown[][], opts: { stacked?: boolean; unit?: string } = {}): Cfn {
  return {
    type: 'metric',
    width: 24,
    height: 6,
    properties: {
      title,
      view: 'timeSeries',
      stacked: opts.stacked ?? false,
      region: '${AWS::Region}',
      period: PERIOD_SECONDS,
      metrics,
      ...(opts.unit === undefined ? {} : { yAxis: { left: { label: opts.unit, showUnits: false } } }),
    },
  }
}

function lines(stage: string, items: readonly Line[]): unknown[][] {
  return items.map((l, i) => [{ expression: total(stage, l), label: l.label, id: `m${i}` }])
}

/** The widgets, in reading order. Exported for the test that holds each name to what the code emits. */
export function dashboardLines(): Record<string, readonly Line[]> {
  return {
    'Reads and their answers (per 5 minutes)': [
      { metric: 'RequestsAllowed', label: 'allowed (200)' },
      { metric: 'RequestsNotModified', label: 'not modified (304)' },
      { metric: 'RequestsDenied', label: 'denied (401/403/404)' },
      { metric: 'RequestsError', label: 'errors (5xx and bad requests)' },
    ],
    'Cache (per 5 minutes)': [
      { metric: 'CacheHit', label: 'hits' },
      { metric: 'CacheRevalidated', label: 'revalidated (DescribeSecret)' },
      { metric: 'CacheMiss', label: 'misses (GetSecretValue)' },
      { metric: 'CacheStale', label: 'stale answers (Secrets Manager failing)' },
      { metric: 'CacheInvalidated', label: 'invalidated by the register' },
      { metric: 'RevalidatedBehind', label: 'revalidated for a caller ahead of the container' },
    ],
    'Secrets Manager calls and failures (per 5 minutes)': [
      { metric: 'UpstreamCalls', label: 'calls' },
      { metric: 'UpstreamThrottled', label: 'throttled' },
      { metric: 'UpstreamServerError', label: 'server errors' },
      { metric: 'UpstreamTimeout', label: 'timeouts' },
      { metric: 'UpstreamOtherError', label: 'other failures' },
      { metric: 'UpstreamBackoff', label: 'answered in back-off (no call)' },
    ],
    'Secrets Manager latency (ms)': [
      { metric: 'UpstreamLatency', label: 'average', stat: 'Average' },
      { metric: 'UpstreamLatency', label: 'maximum', stat: 'Maximum' },
    ],
    'Invalidation register (per 5 minutes)': [
      { metric: 'InvalidationRecorded', label: 'moves recorded' },
      { metric: 'InvalidationSuperseded', label: 'already recorded' },
      { metric: 'InvalidationIgnored', label: 'events ignored' },
      { metric: 'RegisterReads', label: 'register reads' },
      { metric: 'RegisterThrottled', label: 'register throttled' },
      { metric: 'RegisterUnavailable', label: 'register unavailable' },
    ],
    'Rotation steps (per 5 minutes)': [
      { metric: 'RotationStepSucceeded', label: 'steps succeeded' },
      { metric: 'RotationStepFailed', label: 'steps failed' },
    ],
    'Rotation step duration (ms)': [
      { metric: 'RotationStepDuration', label: 'average', stat: 'Average' },
      { metric: 'RotationStepDuration', label: 'maximum', stat: 'Maximum' },
    ],
    'Audit write failures (requests refused with 503)': [
      { metric: 'AuditWriteFailed', label: 'audit records that could not be written' },
    ],
  }
}

/** The dashboard body, as a string with `${AWS::Region}` for Fn::Sub (CloudWatch takes JSON text). */
export function dashboardBody(plan: StackPlan, alarmArns: readonly string[]): Cfn {
  const { stage } = plan.decl
  const widgets: Cfn[] = []
  for (const [title, items] of Object.entries(dashboardLines())) {
    if (title === 'Cache (per 5 minutes)') {
      widgets.push(
        graph(
          'Cache hit rate (% of values served from a container without a Secrets Manager call)',
          [
            ...lines(stage, items.slice(0, 4)).map((m) => [{ ...(m[0] as object), visible: false }]),
            [{ expression: '100 * m0 / MAX([m0 + m1 + m2 + m3, 1])', label: 'hit rate %', id: 'rate' }],
          ],
          { unit: '%' },
        ),
      )
    }
    widgets.push(graph(title, lines(stage, items)))
  }
  widgets.unshift({
    type: 'alarm',
    width: 24,
    height: 3,
    properties: { title: `Alarms of ${SERVICE_NAME}-${stage}`, alarms: alarmArns },
  })
  // One column, in reading order: each widget below the previous one.
  let y = 0
  const placed = widgets.map((w) => {
    const at = { ...w, x: 0, y }
    y += Number(w['height'])
    return at
  })
  return { 'Fn::Sub': JSON.stringify({ widgets: placed }) }
}

/** @param alarmArns the stage's alarms, as `Fn::Sub` text (`arn:${AWS::Partition}:cloudwatch:…:alarm:<name>`) */
export function dashboardResources(plan: StackPlan, alarmArns: readonly string[]): Cfn {
  return {
    Dashboard: {
      Type: 'AWS::CloudWatch::Dashboard',
      Properties: {
        DashboardName: dashboardName(plan.decl.stage),
        DashboardBody: dashboardBody(plan, alarmArns),
      },
    },
  }
}
