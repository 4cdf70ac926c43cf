import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager'
import { mockClient } from 'aws-sdk-client-mock'
import { createSecretSource, UpstreamPermanentError, UpstreamTransientError } from '../../../src/lib/secrets'

const ID = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:orders/db-AbCdEf'

describe('createSecretSource', () => {
  const sm = mockClient(SecretsManagerClient)
  const client = new SecretsManagerClient({ region: 'us-east-1' })
  afterEach(() => sm.reset())

  it('returns the version id that carries AWSCURRENT', async () => {
    sm.on(DescribeSecretCommand).resolves({
      VersionIdsToStages: { old: ['AWSPREVIOUS'], cur: ['AWSCURRENT'], next: ['AWSPENDING'] },
    })
    await expect(createSecretSource(client).currentVersionId(ID)).resolves.toBe('cur')
  })

  it('treats a secret scheduled for deletion as gone, although DescribeSecret still answers', async () => {
    sm.on(DescribeSecretCommand).resolves({
      DeletedDate: new Date('2026-11-28T00:00:00Z'),
      VersionIdsToStages: { cur: ['AWSCURRENT'] },
    })
    const err = await createSecretSource(client)
      .currentVersionId(ID)
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(UpstreamPermanentError)
    expect(err).toMatchObject({ kind: 'not-found' })
  })

  it('names VersionStage AWSCURRENT on every read and refuses a response without a value', async () => {
    sm.on(GetSecretValueCommand).resolves({ VersionId: 'cur' })
    await expect(createSecretSource(client).getCurrent(ID)).rejects.toBeInstanceOf(UpstreamTransientError)
    expect(sm.commandCalls(GetSecretValueCommand)[0]?.args[0].input).toEqual({
      SecretId: ID,
      VersionStage: 'AWSCURRENT',
    })
  })
})
