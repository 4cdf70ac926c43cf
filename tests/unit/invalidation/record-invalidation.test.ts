import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { RegisterChange } from '../../../src/contract/register'
import { recordInvalidation, type InvalidationDeps } from '../../../src/invalidation'
import { createMemoryLog } from '../../../src/lib/logger'
import { createMemoryMetrics } from '../../../src/lib/metrics'
import { RegisterFailure, type RegisterWriter } from '../../../src/lib/register'

const fixture = (file: string): Record<string, unknown> =>
  JSON.parse(readFileSync(join(__dirname, '../../fixtures/events', file), 'utf8')) as Record<string, unknown>

function setup(
  answer: (c: RegisterChange) => Promise<'recorded' | 'superseded'> = () => Promise.resolve('recorded'),
) {
  const written: RegisterChange[] = []
  const writer: RegisterWriter = {
    record: (c) => {
      written.push(c)
      return answer(c)
    },
  }
  const log = createMemoryLog()
  const metrics = createMemoryMetrics()
  const deps: InvalidationDeps = {
    scope: { accountId: '012345678901', region: 'us-west-2', secretNames: new Set(['mySecret']) },
    writer,
    log,
    metrics,
  }
  return { deps, written, log, metrics }
}

describe('recordInvalidation', () => {
  it('records an accepted move once, logs it and counts it', async () => {
    const { deps, written, log, metrics } = setup()
    const out = await recordInvalidation(fixture('secret-label-updated.json'), deps)
    expect(out).toEqual({
      outcome: 'recorded',
      secretName: 'mySecret',
      event: 'Secret Label Updated',
      versionId: 'a1b2c3d4-5678-90ab-cdef-EXAMPLE11111',
    })
    expect(written).toHaveLength(1)
    expect(metrics.counts).toEqual({ InvalidationRecorded: 1 })
    expect(log.lines.map((l) => l.message)).toEqual(['invalidation: recorded'])
  })

  it('says when the register already holds this event or a later move (a redelivery, a late event)', async () => {
    const { deps, metrics } = setup(() => Promise.resolve('superseded'))
    expect(await recordInvalidation(fixture('rotation-succeeded.json'), deps)).toMatchObject({
      outcome: 'superseded',
      event: 'RotationSucceeded',
    })
    expect(metrics.counts).toEqual({ InvalidationSuperseded: 1 })
  })

  it('writes nothing for an ignored event, and counts and logs why (bounded fields only)', async () => {
    const { deps, written, log, metrics } = setup()
    const foreign = {
      ...fixture('secret-label-updated.json'),
      account: '999999999999',
      'detail-type': 'x'.repeat(500),
    }
    expect(await recordInvalidation(foreign, deps)).toEqual({
      outcome: 'ignored',
      reason: 'other-account',
      secretName: undefined,
    })
    expect(written).toHaveLength(0)
    expect(metrics.counts).toEqual({ InvalidationIgnored: 1 })
    expect(String(log.lines[0]?.fields['detailType'])).toHaveLength(64)
  })

  it('throws when the register cannot be written, so Lambda retries the event and the errors alarm sees it', async () => {
    const { deps, metrics } = setup(() => Promise.reject(new RegisterFailure('unavailable')))
    await expect(recordInvalidation(fixture('secret-label-updated.json'), deps)).rejects.toBeInstanceOf(
      RegisterFailure,
    )
    expect(metrics.counts).toEqual({})
  })
})
