import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  IAMClient,
  PutUserPolicyCommand,
} from '@aws-sdk/client-iam'
import { startMoto, MOTO_CREDENTIALS, type MotoServer } from '../../../scripts/lib/moto'
import { startAuthenticatingMoto, type AuthenticatingMoto } from '../../../scripts/lib/moto-iam-auth'
import { EngineError } from '../../../src/rotation/engines/engine-error'
import {
  verifyAccessKey,
  type AccessKeyCredentials,
  type GetCallerIdentity,
} from '../../../src/rotation/engines/iam/caller-identity'
import { createEngineClients } from '../../../src/rotation/compose'
import {
  createAccessKey,
  deleteAccessKey,
  listAccessKeys,
  planKeyRoom,
  setAccessKeyStatus,
} from '../../../src/rotation/engines/iam/iam-access-keys'

/** GetCallerIdentity as the rotation function's composition builds it, against `endpoint`. */
const createGetCallerIdentity = (opts: { endpoint: string; requestTimeoutMs: number }): GetCallerIdentity =>
  createEngineClients(
    {
      region: 'us-east-1',
      pgSslMode: 'disable',
      pgConnectTimeoutMs: 1000,
      pgStatementTimeoutMs: 1000,
      upstreamTimeoutMs: opts.requestTimeoutMs,
      upstreamMaxAttempts: 1,
    },
    { endpoint: opts.endpoint },
  ).getCallerIdentity

/**
 * The IAM access key primitives against moto's IAM and STS, with request authentication on (signatures
 * checked, identity policies evaluated) and off (moto's default). Each test's expectations about moto
 * itself are written as assertions, so a moto upgrade that changes them fails here, visibly.
 */
jest.setTimeout(30_000)

let moto: AuthenticatingMoto
let admin: IAMClient
const ROTATION_ACTIONS = [
  'iam:CreateAccessKey',
  'iam:ListAccessKeys',
  'iam:UpdateAccessKey',
  'iam:DeleteAccessKey',
]
const noSleep = { attempts: 3, delayMs: 1000, sleep: (): Promise<void> => Promise.resolve() }
const clientFor = (creds: AccessKeyCredentials): IAMClient =>
  new IAMClient({ endpoint: moto.endpoint, region: moto.region, credentials: creds, maxAttempts: 1 })

beforeAll(async () => {
  moto = await startAuthenticatingMoto()
  admin = clientFor(moto.admin)
}, 30_000)

afterAll(async () => {
  admin.destroy()
  await moto.stop()
})

describe('with authentication on', () => {
  const getCallerIdentity = (): GetCallerIdentity =>
    createGetCallerIdentity({ endpoint: moto.endpoint, requestTimeoutMs: 3000 })

  it('a new key signs GetCallerIdentity as its user', async () => {
    await admin.send(new CreateUserCommand({ UserName: 'svc-a' }))
    const key = await createAccessKey(admin, 'svc-a')
    const identity = await verifyAccessKey(getCallerIdentity(), key, 'svc-a', noSleep)
    expect(identity.arn).toBe('arn:aws:iam::123456789012:user/svc-a')
  })

  it('a wrong secret is refused at once (SignatureDoesNotMatch), a deleted key after the bounded retries', async () => {
    await admin.send(new CreateUserCommand({ UserName: 'svc-b' }))
    const key = await createAccessKey(admin, 'svc-b')
    const wrong = verifyAccessKey(
      getCallerIdentity(),
      { ...key, secretAccessKey: 'x'.repeat(40) },
      'svc-b',
      noSleep,
    )
    await expect(wrong).rejects.toMatchObject({
      kind: 'authentication-failed',
      code: 'SignatureDoesNotMatch',
    })
    expect(await deleteAccessKey(admin, 'svc-b', key.accessKeyId)).toBe(true)
    let sleeps = 0
    const gone = verifyAccessKey(getCallerIdentity(), key, 'svc-b', {
      ...noSleep,
      sleep: () => {
        sleeps++
        return Promise.resolve()
      },
    })
    await expect(gone).rejects.toMatchObject({ kind: 'authentication-failed', code: 'InvalidClientTokenId' })
    expect(sleeps).toBe(2)
  })

  it('a key of another user is refused even though it works', async () => {
    await admin.send(new CreateUserCommand({ UserName: 'svc-c' }))
    const key = await createAccessKey(admin, 'svc-c')
    await expect(verifyAccessKey(getCallerIdentity(), key, 'svc-a', noSleep)).rejects.toMatchObject({
      kind: 'authentication-failed',
    })
  })

  it('moto enforces the two-key limit', async () => {
    await admin.send(new CreateUserCommand({ UserName: 'svc-d' }))
    await createAccessKey(admin, 'svc-d')
    await createAccessKey(admin, 'svc-d')
    await expect(createAccessKey(admin, 'svc-d')).rejects.toMatchObject({
      kind: 'invalid-input',
      code: 'LimitExceededException',
    })
  })

  it('moto still accepts an Inactive key: deactivation cannot be proven here', async () => {
    await admin.send(new CreateUserCommand({ UserName: 'svc-e' }))
    const key = await createAccessKey(admin, 'svc-e')
    await setAccessKeyStatus(admin, 'svc-e', key.accessKeyId, 'Inactive')
    expect((await listAccessKeys(admin, 'svc-e'))[0]?.status).toBe('Inactive')
    // On AWS this is InvalidClientTokenId; moto signs it in.
    expect((await verifyAccessKey(getCallerIdentity(), key, 'svc-e', noSleep)).arn).toMatch(/user\/svc-e$/)
  })

  it('three rotations keep at most two keys: create, verify, deactivate the previous, delete it next time', async () => {
    // Arrange: the user's first key is AWSCURRENT
    await admin.send(new CreateUserCommand({ UserName: 'svc-rot' }))
    let current = await createAccessKey(admin, 'svc-rot')
    let previous: string | undefined
    const seen: number[] = []
    for (let rotation = 0; rotation < 3; rotation++) {
      // createSecret: make room, then a new key
      const plan = planKeyRoom(await listAccessKeys(admin, 'svc-rot'), {
        current: current.accessKeyId,
        ...(previous === undefined ? {} : { previous }),
      })
      if (plan.action === 'delete') await deleteAccessKey(admin, 'svc-rot', plan.accessKeyId)
      expect(plan.action).not.toBe('refuse')
      const pending = await createAccessKey(admin, 'svc-rot')
      // testSecret
      await verifyAccessKey(getCallerIdentity(), pending, 'svc-rot', noSleep)
      // finishSecret: labels move; the previous key is deactivated, kept for one rotation
      await setAccessKeyStatus(admin, 'svc-rot', current.accessKeyId, 'Inactive')
      previous = current.accessKeyId
      current = pending
      seen.push((await listAccessKeys(admin, 'svc-rot')).length)
    }
    // Assert
    const keys = await listAccessKeys(admin, 'svc-rot')
    expect(seen).toEqual([2, 2, 2])
    expect(keys.map((k) => [k.accessKeyId, k.status])).toEqual([
      [previous, 'Inactive'],
      [current.accessKeyId, 'Active'],
    ])
  })

  it('deleting twice is not an error', async () => {
    await admin.send(new CreateUserCommand({ UserName: 'svc-f' }))
    const key = await createAccessKey(admin, 'svc-f')
    expect(await deleteAccessKey(admin, 'svc-f', key.accessKeyId)).toBe(true)
    expect(await deleteAccessKey(admin, 'svc-f', key.accessKeyId)).toBe(false)
  })

  it('a rotation role with only the four access-key actions can rotate keys and nothing else', async () => {
    // Arrange: the actions the strategy will declare. moto evaluates actions, not IAM resource ARNs (it
    // authorises IAM requests against Resource "*"), so the user scoping is asserted below as moto's gap.
    const rotatorFor = async (name: string, resource: string): Promise<IAMClient> => {
      await admin.send(new CreateUserCommand({ UserName: name }))
      await admin.send(
        new PutUserPolicyCommand({
          UserName: name,
          PolicyName: 'rotate-access-keys',
          PolicyDocument: JSON.stringify({
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Action: ROTATION_ACTIONS, Resource: resource }],
          }),
        }),
      )
      const key = (await admin.send(new CreateAccessKeyCommand({ UserName: name }))).AccessKey!
      return clientFor({ accessKeyId: key.AccessKeyId!, secretAccessKey: key.SecretAccessKey! })
    }
    await admin.send(new CreateUserCommand({ UserName: 'svc-g' }))
    const rotator = await rotatorFor('rotator', '*')
    const scoped = await rotatorFor('rotator-scoped', 'arn:aws:iam::123456789012:user/svc-g')
    // Act / Assert: the four actions work, anything else is denied
    const key = await createAccessKey(rotator, 'svc-g')
    await setAccessKeyStatus(rotator, 'svc-g', key.accessKeyId, 'Inactive')
    expect(await listAccessKeys(rotator, 'svc-g')).toHaveLength(1)
    expect(await deleteAccessKey(rotator, 'svc-g', key.accessKeyId)).toBe(true)
    await expect(rotator.send(new CreateUserCommand({ UserName: 'x' }))).rejects.toMatchObject({
      name: 'AccessDenied',
    })
    // moto's gap: a policy scoped to the user's ARN (what AWS evaluates) is denied even for that user.
    await expect(createAccessKey(scoped, 'svc-g')).rejects.toMatchObject({ kind: 'permission-denied' })
    rotator.destroy()
    scoped.destroy()
  })
})

describe("with moto's default (no authentication)", () => {
  let plain: MotoServer

  beforeAll(async () => {
    plain = await startMoto()
  }, 30_000)

  afterAll(async () => {
    await plain.stop()
  })

  it('a deleted key gets a default identity instead of an error, which the ARN check refuses', async () => {
    const iam = new IAMClient({
      endpoint: plain.endpoint,
      region: 'us-east-1',
      credentials: MOTO_CREDENTIALS,
    })
    await iam.send(new CreateUserCommand({ UserName: 'svc' }))
    const key = await createAccessKey(iam, 'svc')
    await deleteAccessKey(iam, 'svc', key.accessKeyId)
    const getCallerIdentity = createGetCallerIdentity({
      endpoint: plain.endpoint,
      requestTimeoutMs: 3000,
    })
    expect((await getCallerIdentity(key)).arn).toBe('arn:aws:sts::123456789012:user/moto')
    const error = await verifyAccessKey(getCallerIdentity, key, 'svc', noSleep).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(EngineError)
    expect(error).toMatchObject({ kind: 'authentication-failed' })
    iam.destroy()
  })

  it('a wrong secret still signs in: moto checks no signature by default', async () => {
    const iam = new IAMClient({
      endpoint: plain.endpoint,
      region: 'us-east-1',
      credentials: MOTO_CREDENTIALS,
    })
    await iam.send(new CreateUserCommand({ UserName: 'svc2' }))
    const key = await createAccessKey(iam, 'svc2')
    const getCallerIdentity = createGetCallerIdentity({
      endpoint: plain.endpoint,
      requestTimeoutMs: 3000,
    })
    expect((await getCallerIdentity({ ...key, secretAccessKey: 'wrong' })).arn).toMatch(/user\/svc2$/)
    iam.destroy()
  })
})
