import { EngineError } from '../../../src/rotation/engines/engine-error'
import {
  arnNamesUser,
  verifyAccessKey,
  type GetCallerIdentity,
} from '../../../src/rotation/engines/iam/caller-identity'
import {
  assertAccessKeyId,
  assertIamUserName,
  classifyIamError,
  planKeyRoom,
  type AccessKeyInfo,
} from '../../../src/rotation/engines/iam/iam-access-keys'

const key = (id: string, status: 'Active' | 'Inactive', minute: number): AccessKeyInfo => ({
  accessKeyId: id,
  status,
  createDate: new Date(Date.UTC(2026, 0, 1, 0, minute)),
})
const CUR = 'AKIACURRENT000000001'
const PREV = 'AKIAPREVIOUS00000001'
const OTHER = 'AKIAOTHER00000000001'
const PEND = 'AKIAPENDING000000001'

describe('planKeyRoom', () => {
  it('needs nothing while the user has one key', () => {
    expect(planKeyRoom([key(CUR, 'Active', 1)], { current: CUR })).toEqual({ action: 'none' })
  })

  it("deletes the previous rotation's Inactive key", () => {
    expect(
      planKeyRoom([key(PREV, 'Inactive', 1), key(CUR, 'Active', 2)], { current: CUR, previous: PREV }),
    ).toEqual({
      action: 'delete',
      accessKeyId: PREV,
    })
  })

  it('deletes the oldest Inactive key that is not current, labelled or not', () => {
    expect(planKeyRoom([key(CUR, 'Inactive', 3), key(OTHER, 'Inactive', 2)], { current: CUR })).toEqual({
      action: 'delete',
      accessKeyId: OTHER,
    })
  })

  it('never deletes an Active key the secret does not hold as current, and names it', () => {
    expect(planKeyRoom([key(OTHER, 'Active', 1), key(CUR, 'Active', 2)], { current: CUR })).toEqual({
      action: 'refuse',
      reason: expect.stringContaining('Active'),
      accessKeyIds: [OTHER],
    })
  })

  it("deletes AWSPREVIOUS's key even if a crashed finishSecret left it Active", () => {
    expect(
      planKeyRoom([key(PREV, 'Active', 1), key(CUR, 'Active', 2)], { current: CUR, previous: PREV }),
    ).toEqual({
      action: 'delete',
      accessKeyId: PREV,
    })
  })

  it('treats an existing pending key as a retry', () => {
    expect(
      planKeyRoom([key(CUR, 'Active', 1), key(PEND, 'Active', 2)], { current: CUR, pending: PEND }),
    ).toEqual({
      action: 'none',
    })
  })

  it('retires AWSPREVIOUS\u2019s key before an unlabelled Inactive one, whatever their age', () => {
    expect(
      planKeyRoom([key(OTHER, 'Inactive', 1), key(PREV, 'Active', 2), key(CUR, 'Active', 3)], {
        current: CUR,
        previous: PREV,
      }),
    ).toEqual({ action: 'delete', accessKeyId: PREV })
  })

  it('gives a secret with no key yet room only if the user has it, deleting no key it does not know', () => {
    expect(planKeyRoom([key(OTHER, 'Inactive', 1)], { current: undefined })).toEqual({ action: 'none' })
    expect(
      planKeyRoom([key(OTHER, 'Inactive', 1), key(PREV, 'Active', 2)], { current: undefined }),
    ).toMatchObject({ action: 'refuse', reason: expect.stringContaining('holds neither') })
  })

  it('refuses when the current key is not the user\u2019s', () => {
    expect(planKeyRoom([key(OTHER, 'Active', 1)], { current: CUR })).toMatchObject({ action: 'refuse' })
  })
})

describe('arnNamesUser', () => {
  it.each([
    ['arn:aws:iam::123456789012:user/svc', 'svc', true],
    ['arn:aws:iam::123456789012:user/team/a/svc', 'svc', true],
    ['arn:aws-us-gov:iam::123456789012:user/svc', 'svc', true],
    ['arn:aws:iam::123456789012:user/svc2', 'svc', false],
    ['arn:aws:sts::123456789012:user/moto', 'moto', false],
    ['arn:aws:sts::123456789012:assumed-role/svc/session', 'svc', false],
    ['arn:aws:iam::123456789012:role/svc', 'svc', false],
  ])('%s names %s: %s', (arn, user, expected) => {
    expect(arnNamesUser(arn, user)).toBe(expected)
  })
})

describe('verifyAccessKey', () => {
  const creds = { accessKeyId: PEND, secretAccessKey: 'not-a-real-secret-value' }
  const invalidToken = new EngineError(
    'authentication-failed',
    'STS GetCallerIdentity failed',
    'InvalidClientTokenId',
  )

  it('retries a not-yet-propagated key, then succeeds', async () => {
    let calls = 0
    const sleeps: number[] = []
    const get: GetCallerIdentity = () => {
      calls++
      if (calls < 3) return Promise.reject(invalidToken)
      return Promise.resolve({ arn: 'arn:aws:iam::123456789012:user/svc', account: '123456789012' })
    }
    const identity = await verifyAccessKey(get, creds, 'svc', {
      attempts: 5,
      delayMs: 2000,
      sleep: (ms) => {
        sleeps.push(ms)
        return Promise.resolve()
      },
    })
    expect(identity.account).toBe('123456789012')
    expect(sleeps).toEqual([2000, 2000])
  })

  it('gives up after the attempts, and does not retry other errors', async () => {
    let calls = 0
    const always: GetCallerIdentity = () => {
      calls++
      return Promise.reject(invalidToken)
    }
    await expect(
      verifyAccessKey(always, creds, 'svc', { attempts: 3, delayMs: 1, sleep: () => Promise.resolve() }),
    ).rejects.toBe(invalidToken)
    expect(calls).toBe(3)
    calls = 0
    const denied = new EngineError('authentication-failed', 'x', 'SignatureDoesNotMatch')
    const wrong: GetCallerIdentity = () => {
      calls++
      return Promise.reject(denied)
    }
    await expect(
      verifyAccessKey(wrong, creds, 'svc', { attempts: 3, delayMs: 1, sleep: () => Promise.resolve() }),
    ).rejects.toBe(denied)
    expect(calls).toBe(1)
  })
})

describe('input checks and error classification', () => {
  it('checks user names and key ids', () => {
    expect(() => assertIamUserName('svc-a+b=c,d.e@f_g')).not.toThrow()
    expect(() => assertIamUserName('a/b')).toThrow(EngineError)
    expect(() => assertIamUserName('x'.repeat(65))).toThrow(EngineError)
    expect(() => assertAccessKeyId(CUR)).not.toThrow()
    expect(() => assertAccessKeyId('akia-lower')).toThrow(EngineError)
  })

  it.each([
    [{ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }, 'permission-denied'],
    [{ name: 'InvalidClientTokenId', $metadata: { httpStatusCode: 403 } }, 'authentication-failed'],
    [{ name: 'NoSuchEntityException', $metadata: { httpStatusCode: 404 } }, 'invalid-input'],
    [{ name: 'LimitExceededException', $metadata: { httpStatusCode: 409 } }, 'invalid-input'],
    [{ name: 'ServiceFailureException', $metadata: { httpStatusCode: 500 } }, 'unavailable'],
    [
      { name: 'Throttling', $retryable: { throttling: true }, $metadata: { httpStatusCode: 400 } },
      'unavailable',
    ],
    [Object.assign(new Error('socket hang up'), { name: 'TimeoutError' }), 'unavailable'],
    [{ name: 'ValidationError', $metadata: { httpStatusCode: 400 } }, 'server-error'],
  ])('%j is %s', (err, kind) => {
    expect(classifyIamError(err).kind).toBe(kind)
  })

  it('names a socket error by its code (the SDK passes it on as a plain Error)', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), {
      code: 'ECONNREFUSED',
      $metadata: {},
    })
    expect(classifyIamError(refused)).toEqual({ kind: 'unavailable', code: 'ECONNREFUSED' })
  })
})
