import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager'
import { mockClient } from 'aws-sdk-client-mock'
import { createServer, type Server, type Socket } from 'node:net'
import { createSecretsManagerClient } from '../../../src/lib/aws-clients'
import { createSecretSource, UpstreamPermanentError, UpstreamTransientError } from '../../../src/lib/secrets'

const ID = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:orders/db-AbCdEf'

describe('createSecretSource', () => {
  const sm = mockClient(SecretsManagerClient)
  const client = new SecretsManagerClient({ region: 'us-east-1' })
  afterEach(() => sm.reset())
  afterAll(() => sm.restore())

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

describe('a refresh budget against a Secrets Manager that never answers', () => {
  // Not mocked: the production client (2000 ms request timeout, 3 attempts) against a loopback socket that
  // accepts requests and never answers. Unbounded, one call would take ~6 s and a refresh (two calls) ~12 s.
  let server: Server
  const sockets: Socket[] = []
  let connections = 0
  beforeAll(async () => {
    server = createServer((socket) => {
      connections += 1
      sockets.push(socket)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  })
  afterAll(async () => {
    for (const s of sockets) s.destroy()
    await new Promise((resolve) => server.close(resolve))
  })

  it('abandons the call, retries included, when the signal fires: a transient timeout', async () => {
    const address = server.address() as { port: number }
    const client = createSecretsManagerClient({
      region: 'us-east-1',
      requestTimeoutMs: 2000,
      maxAttempts: 3,
      endpoint: `http://127.0.0.1:${address.port}`,
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'not-a-secret' },
    })
    try {
      const started = performance.now()
      const err = await createSecretSource(client)
        .currentVersionId(ID, AbortSignal.timeout(300))
        .catch((e: unknown) => e)
      const elapsed = performance.now() - started
      expect(err).toBeInstanceOf(UpstreamTransientError)
      expect(err).toMatchObject({ kind: 'timeout', cause: { name: 'AbortError' } })
      // Ended by the signal, inside the first attempt's 2000 ms: neither that timeout nor a retry was waited for.
      expect(elapsed).toBeLessThan(2000)
      await new Promise((r) => setTimeout(r, 200))
      expect(connections).toBe(1)
    } finally {
      client.destroy()
    }
  })
})
