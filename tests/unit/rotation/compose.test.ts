import { DescribeSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import { mockClient } from 'aws-sdk-client-mock'
import { createRotationFunction } from '../../../src/rotation/compose'
import { createMemoryLog } from '../../../src/lib/logger'
import { createMemoryMetrics } from '../../../src/lib/metrics'
import { CURRENT_ID, FakeClock, SECRET_ARN, TOKEN, aRotationEvent, aTarget } from './builders'

const sm = mockClient(SecretsManagerClient)
beforeEach(() => sm.reset())

function handlerWith(metrics = createMemoryMetrics()) {
  const rotate = createRotationFunction({
    config: { targets: [aTarget({ strategy: 'random' })] },
    sm: new SecretsManagerClient({ region: 'us-east-1' }),
    log: createMemoryLog(),
    connectAs: () => Promise.reject(new Error('no database in this test')),
    passwords: { generate: () => Promise.resolve('x'.repeat(32)) },
    randomBytes: (n) => Buffer.alloc(n, 1),
    clock: new FakeClock(),
    metrics,
  })
  return { metrics, run: (step: string) => rotate(aRotationEvent({ Step: step })) }
}

describe('createRotationFunction: rotation step metrics', () => {
  it('counts a succeeded step with its duration, under the step dimension', async () => {
    sm.on(DescribeSecretCommand).resolves({
      ARN: SECRET_ARN,
      RotationEnabled: true,
      VersionIdsToStages: { [TOKEN]: ['AWSCURRENT'], [CURRENT_ID]: ['AWSPREVIOUS'] },
    })
    const { metrics, run } = handlerWith()
    await run('finishSecret')
    expect(metrics.counts).toEqual({ RotationStepSucceeded: 1 })
    expect(metrics.timings.RotationStepDuration).toHaveLength(1)
    expect(metrics.flushes).toEqual([{ step: 'finishSecret' }])
  })

  it('counts a failed step and still throws so Secrets Manager retries', async () => {
    sm.on(DescribeSecretCommand).resolves({
      ARN: SECRET_ARN,
      RotationEnabled: false,
      VersionIdsToStages: { [TOKEN]: ['AWSPENDING'] },
    })
    const { metrics, run } = handlerWith()
    await expect(run('setSecret')).rejects.toThrow()
    expect(metrics.counts).toEqual({ RotationStepFailed: 1 })
    expect(metrics.flushes).toEqual([{ step: 'setSecret' }])
  })

  it('keeps the step dimension bounded for an unknown step', async () => {
    sm.on(DescribeSecretCommand).resolves({
      ARN: SECRET_ARN,
      RotationEnabled: true,
      VersionIdsToStages: { [TOKEN]: ['AWSPENDING'] },
    })
    const { metrics, run } = handlerWith()
    await expect(run('dropTables')).rejects.toThrow()
    expect(metrics.flushes).toEqual([{ step: 'unknown' }])
  })
})
