import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager'
import { mockClient } from 'aws-sdk-client-mock'
import type { RegisterItem } from '../../../src/contract/register'
import { getSecretOrRotation } from '../../../src/handlers/get-secret'
import { createMemoryAuditSink } from '../../../src/lib/audit'
import { createHttpDeps } from '../../../src/lib/deps'
import { createMemoryLog } from '../../../src/lib/logger'
import { withHttpStack } from '../../../src/lib/middleware/http-stack'
import { RegisterFailure } from '../../../src/lib/register'
import type { RegisterSource } from '../../../src/lib/secrets'
import { ORDERS, aLambdaContext, aSecretEvent, anHttpConfig } from '../../support/builders'
import { FakeClock } from '../../support/fake-clock'

jest.mock('../../../src/lib/config', () =>
  jest
    .requireActual<typeof import('../../support/config-module-mock')>('../../support/config-module-mock')
    .configModuleMock(),
)

/**
 * The invalidation register through the HTTP edge: what the audit line (and its EMF metrics) says about the
 * register's part in a request, the never-backwards answer to If-None-Match, and the rotation endpoint's view
 * of the register.
 */
const sm = mockClient(SecretsManagerClient)
beforeEach(() => sm.reset())

class FakeRegister implements RegisterSource {
  generation = 0
  items = new Map<string, RegisterItem>()
  failure: RegisterFailure | undefined
  readGeneration(): Promise<number> {
    return this.failure ? Promise.reject(this.failure) : Promise.resolve(this.generation)
  }
  readItems(names: readonly string[]): Promise<ReadonlyMap<string, RegisterItem>> {
    if (this.failure) return Promise.reject(this.failure)
    return Promise.resolve(new Map([...this.items].filter(([k]) => names.includes(k))))
  }
}

function setup() {
  const clock = new FakeClock()
  const audit = createMemoryAuditSink()
  const register = new FakeRegister()
  const deps = createHttpDeps(anHttpConfig({ cacheTtlMs: 900_000 }), {
    clock,
    log: createMemoryLog(),
    auditSink: audit,
    secretsManager: new SecretsManagerClient({ region: 'us-east-1' }),
    register,
  })
  const handler = withHttpStack(getSecretOrRotation, deps)
  const lines = () => audit.lines.map((l) => JSON.parse(l) as Record<string, unknown>)
  return {
    clock,
    register,
    lines,
    call: (name: string, headers: Record<string, string> = {}) =>
      handler(aSecretEvent(name, { userArn: ORDERS, headers }), aLambdaContext()),
  }
}

const version = (v: string) => ({ VersionId: v, SecretString: `{"v":"${v}"}` })

describe('the register on the audit line', () => {
  it('counts the register reads of the request that made them, and a secret re-read because it moved', async () => {
    const { call, clock, register, lines } = setup()
    sm.on(GetSecretValueCommand).resolves(version('v1'))
    await call('orders/db')
    expect(lines()[0]).toMatchObject({ RegisterReads: 1 })
    sm.on(GetSecretValueCommand).resolves(version('v2'))
    register.items.set('orders/db', {
      rev: 1,
      versionId: 'v2',
      movedAt: clock.now(),
      lastEvent: 'Secret Label Updated',
      changedAt: clock.now(),
    })
    register.generation = 1
    clock.advance(2000)
    const moved = await call('orders/db')
    expect(JSON.parse(moved.body)).toMatchObject({ versionId: 'v2' })
    expect(lines()[1]).toMatchObject({
      invalidated: 1,
      CacheInvalidated: 1,
      RegisterReads: 2,
      UpstreamCalls: 1,
    })
    expect(sm.commandCalls(DescribeSecretCommand)).toHaveLength(0)
  })

  it('says when the register was throttled or unreachable (the container falls back to its shorter TTL)', async () => {
    const { call, clock, register, lines } = setup()
    sm.on(GetSecretValueCommand).resolves(version('v1'))
    await call('orders/db')
    clock.advance(2000)
    register.failure = new RegisterFailure('throttled')
    expect((await call('orders/db')).statusCode).toBe(200)
    clock.advance(10_000)
    register.failure = new RegisterFailure('unavailable')
    expect((await call('orders/db')).statusCode).toBe(200)
    expect(lines()[1]).toMatchObject({ RegisterThrottled: 1 })
    expect(lines()[2]).toMatchObject({ RegisterUnavailable: 1 })
  })
})

describe('never backwards over HTTP', () => {
  it('answers 304 to a caller showing a version this container has not seen yet, after checking', async () => {
    const { call, lines } = setup()
    sm.on(GetSecretValueCommand).resolves(version('v1'))
    await call('orders/db')
    sm.on(DescribeSecretCommand).resolves({ VersionIdsToStages: { v2: ['AWSCURRENT'], v1: ['AWSPREVIOUS'] } })
    sm.on(GetSecretValueCommand).resolves(version('v2'))
    const res = await call('orders/db', { 'If-None-Match': '"v2"' })
    expect(res.statusCode).toBe(304)
    expect(lines()[1]).toMatchObject({ behind: true, forceRefresh: 'done', RevalidatedBehind: 1 })
  })
})

describe('GET /secrets/{name}/rotation and the register', () => {
  it('shows the last version the register saw and when, and whether it is the current one', async () => {
    const { call, register } = setup()
    sm.on(DescribeSecretCommand).resolves({ VersionIdsToStages: { v2: ['AWSCURRENT'] } })
    register.items.set('orders/db', {
      rev: 3,
      versionId: 'v1',
      movedAt: Date.UTC(2026, 10, 1),
      lastEvent: 'RotationSucceeded',
      changedAt: Date.UTC(2026, 10, 2),
    })
    const body = JSON.parse((await call('orders/db/rotation')).body)
    expect(body.register).toEqual({
      state: 'recorded',
      versionId: 'v1',
      movedAt: '2026-11-01T00:00:00.000Z',
      lastEvent: 'RotationSucceeded',
      changedAt: '2026-11-02T00:00:00.000Z',
      matchesCurrent: false,
    })
  })

  it('answers anyway when the register cannot be read, or knows nothing of the secret', async () => {
    const { call, clock, register } = setup()
    sm.on(DescribeSecretCommand).resolves({ VersionIdsToStages: { v1: ['AWSCURRENT'] } })
    expect(JSON.parse((await call('orders/db/rotation')).body).register).toEqual({ state: 'none' })
    clock.advance(10_001)
    register.failure = new RegisterFailure('unavailable')
    const res = await call('orders/db/rotation')
    expect(res.statusCode).toBe(200)
    expect(JSON.parse(res.body).register).toEqual({ state: 'unavailable' })
  })
})
