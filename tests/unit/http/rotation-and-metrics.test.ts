import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager'
import { mockClient } from 'aws-sdk-client-mock'
import { createMemoryAuditSink } from '../../../src/lib/audit'
import { createHttpDeps } from '../../../src/lib/deps'
import { createMemoryLog } from '../../../src/lib/logger'
import { withHttpStack } from '../../../src/lib/middleware/http-stack'
import { getSecretOrRotation } from '../../../src/handlers/get-secret'
import {
  BILLING,
  ORDERS,
  ORDERS_DB_ARN,
  aCatalogDocument,
  aLambdaContext,
  aSecretEvent,
  anHttpConfig,
} from '../../support/builders'
import { FakeClock } from '../../support/fake-clock'

jest.mock('../../../src/lib/config', () =>
  jest
    .requireActual<typeof import('../../support/config-module-mock')>('../../support/config-module-mock')
    .configModuleMock(),
)

const sm = mockClient(SecretsManagerClient)
beforeEach(() => sm.reset())

const COUNTS = [
  'RequestsAllowed',
  'RequestsDenied',
  'RequestsNotModified',
  'RequestsError',
  'CacheHit',
  'CacheMiss',
  'CacheRevalidated',
  'CacheStale',
  'UpstreamCalls',
  'UpstreamThrottled',
  'UpstreamServerError',
  'UpstreamTimeout',
  'UpstreamOtherError',
  'UpstreamBackoff',
]

/** The metrics the requests' audit lines carry (EMF), summed, and the dimensions of each line. */
function metricsOf(records: Record<string, unknown>[]) {
  return {
    get counts(): Record<string, number> {
      const counts: Record<string, number> = {}
      for (const r of records)
        for (const name of COUNTS)
          if (typeof r[name] === 'number') counts[name] = (counts[name] ?? 0) + r[name]
      return counts
    },
    get timings(): Record<string, number[]> {
      return {
        UpstreamLatency: records.flatMap((r) =>
          r['UpstreamLatency'] === undefined ? [] : ([] as number[]).concat(r['UpstreamLatency'] as number),
        ),
      }
    },
    get flushes(): Record<string, string>[] {
      return records.map((r) => ({ route: r['route'] as string }))
    },
  }
}

function setup() {
  const clock = new FakeClock()
  const audit = createMemoryAuditSink()
  const catalog = aCatalogDocument({
    secrets: [
      {
        name: 'orders/db',
        secretId: ORDERS_DB_ARN,
        readers: [ORDERS],
        rotationStrategy: 'postgres-alternating-users',
      },
    ],
  })
  const deps = createHttpDeps(anHttpConfig({ catalogJson: JSON.stringify(catalog) }), {
    clock,
    log: createMemoryLog(),
    auditSink: audit,
    secretsManager: new SecretsManagerClient({ region: 'us-east-1' }),
  })
  const handler = withHttpStack(getSecretOrRotation, deps)
  return {
    clock,
    metrics: metricsOf(audit.records),
    audit,
    call: (name: string, userArn = ORDERS) => handler(aSecretEvent(name, { userArn }), aLambdaContext()),
  }
}

describe('GET /secrets/{name}/rotation', () => {
  it('reports a healthy rotation: enabled, strategy, dates, nothing stuck', async () => {
    const { call } = setup()
    sm.on(DescribeSecretCommand, { SecretId: ORDERS_DB_ARN }).resolves({
      RotationEnabled: true,
      LastRotatedDate: new Date('2026-11-01T00:00:00Z'),
      NextRotationDate: new Date('2026-12-01T00:00:00Z'),
      VersionIdsToStages: { v2: ['AWSCURRENT', 'AWSPENDING'], v1: ['AWSPREVIOUS'] },
    })
    const res = await call('orders/db/rotation')
    expect(res.statusCode).toBe(200)
    expect(JSON.parse(res.body)).toEqual({
      name: 'orders/db',
      rotationEnabled: true,
      strategy: 'postgres-alternating-users',
      lastRotatedDate: '2026-11-01T00:00:00.000Z',
      nextRotationDate: '2026-12-01T00:00:00.000Z',
      currentVersionId: 'v2',
      stuck: false,
      // These deps have no invalidation register.
      register: { state: 'unavailable' },
    })
  })

  it('reports a stuck rotation (AWSPENDING on another version than AWSCURRENT) with what to do', async () => {
    const { call } = setup()
    sm.on(DescribeSecretCommand).resolves({
      RotationEnabled: true,
      VersionIdsToStages: { v1: ['AWSCURRENT'], v2: ['AWSPENDING'] },
    })
    const body = JSON.parse((await call('orders/db/rotation')).body)
    expect(body).toMatchObject({ stuck: true, pendingVersionId: 'v2', currentVersionId: 'v1' })
    expect(body.advice).toContain('refuse every new rotation')
    expect(body.advice).toContain('v2')
  })

  it('answers callers who may not read the secret with the same 404 as an unknown name, without calling AWS', async () => {
    const { call } = setup()
    const denied = await call('orders/db/rotation', BILLING)
    const unknown = await call('nope/rotation', BILLING)
    expect(denied.statusCode).toBe(404)
    expect(denied.body).toBe(unknown.body)
    expect(sm.calls()).toHaveLength(0)
  })

  it('asks Secrets Manager at most once per 10 s per secret', async () => {
    const { call, clock } = setup()
    sm.on(DescribeSecretCommand).resolves({ VersionIdsToStages: { v1: ['AWSCURRENT'] } })
    await call('orders/db/rotation')
    await call('orders/db/rotation')
    clock.advance(10_001)
    const third = JSON.parse((await call('orders/db/rotation')).body)
    expect(third).toMatchObject({
      rotationEnabled: false,
      advice: 'Rotation is not enabled for this secret.',
    })
    expect(sm.commandCalls(DescribeSecretCommand)).toHaveLength(2)
  })
})

describe('request metrics', () => {
  it('counts outcomes, cache states and upstream calls under bounded dimensions', async () => {
    const { call, metrics } = setup()
    sm.on(GetSecretValueCommand).resolves({ VersionId: 'v1', SecretString: '{}' })
    await call('orders/db')
    await call('orders/db')
    await call('orders/db', BILLING)
    expect(metrics.counts).toMatchObject({
      RequestsAllowed: 2,
      RequestsDenied: 1,
      CacheMiss: 1,
      CacheHit: 1,
      UpstreamCalls: 1,
    })
    expect(metrics.timings.UpstreamLatency).toHaveLength(1)
    expect(metrics.flushes).toEqual([
      { route: '/secrets/{name+}' },
      { route: '/secrets/{name+}' },
      { route: '/secrets/{name+}' },
    ])
  })

  it('counts throttling separately', async () => {
    const { call, metrics } = setup()
    sm.on(GetSecretValueCommand).rejects(
      Object.assign(new Error('slow down'), {
        name: 'ThrottlingException',
        $metadata: { httpStatusCode: 400 },
      }),
    )
    await call('orders/db')
    expect(metrics.counts).toMatchObject({ UpstreamThrottled: 1, RequestsError: 1 })
  })

  it('writes CloudWatch Embedded Metric Format on the audit line, with no principal or secret name among its dimensions', async () => {
    const { call, audit } = setup()
    sm.on(GetSecretValueCommand).resolves({ VersionId: 'v1', SecretString: '{}' })
    await call('orders/db')
    await call('orders/db')
    interface EmfLine {
      _aws: {
        CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[]
      }
    }
    const [first, second] = audit.lines.map((l) => JSON.parse(l) as EmfLine & Record<string, unknown>)
    const emf = second!
    const definitions = emf._aws.CloudWatchMetrics[0]!
    expect(audit.records).toHaveLength(2)
    expect(definitions.Namespace).toBe('SecretBroker')
    expect(definitions.Dimensions[0]!.sort()).toEqual(['route', 'service', 'stage'])
    expect(emf).toMatchObject({ RequestsAllowed: 1, CacheHit: 1, stage: 'dev', route: '/secrets/{name+}' })
    expect(definitions.Metrics.map((m) => m.Name).sort()).toEqual(['CacheHit', 'RequestsAllowed'])
    expect(first!._aws.CloudWatchMetrics[0]!.Metrics).toContainEqual({
      Name: 'UpstreamLatency',
      Unit: 'Milliseconds',
    })
  })
})
