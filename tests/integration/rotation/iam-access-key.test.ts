import { CreateAccessKeyCommand, UpdateAccessKeyCommand } from '@aws-sdk/client-iam'
import { PutSecretValueCommand, RotateSecretCommand } from '@aws-sdk/client-secrets-manager'
import { rotateLikeSecretsManager } from '../../../scripts/lib/local-rotation'
import { aTarget, makeHandler, newToken, valueAt } from '../../../scripts/lib/rotation-env'
import {
  accessKeyWorks,
  createAccessKeySecret,
  createIamUserWithKey,
  iamEngines,
  keysOf,
  scanIamFor,
  startIamRotationEnv,
  type AccessKeySecretValue,
  type IamRotationEnv,
} from '../../../scripts/lib/rotation-env-iam'
import { describeStrategyMatrix } from './support/strategy-matrix'

jest.setTimeout(30_000)

/**
 * iam-access-key against moto: Secrets Manager on one moto, IAM and STS on a second one that checks
 * signatures (a wrong secret is SignatureDoesNotMatch, a deleted key InvalidClientTokenId, as on AWS). The
 * rotation signs IAM calls as a user holding only the four access-key actions. What moto cannot prove (an
 * Inactive key still signs in there; IAM policies scoped to a user's ARN; propagation delays) is asserted
 * on IAM's own key list instead, and said in docs/ROTATION.md.
 */
let env: IamRotationEnv
beforeAll(async () => {
  env = await startIamRotationEnv()
}, 60_000)
afterAll(async () => {
  await env?.stop()
})

const target = (name: string) => aTarget(name, { strategy: 'iam-access-key' })
const rotate = (name: string, extra = {}) =>
  rotateLikeSecretsManager({
    endpoint: env.moto.endpoint,
    secretId: name,
    runStep: makeHandler(env, [target(name)], { engines: iamEngines(env) }),
    ...extra,
  })
const valueOf = async (arn: string, stage: string): Promise<AccessKeySecretValue> =>
  (await valueAt(env, arn, stage)) as unknown as AccessKeySecretValue

describeStrategyMatrix<AccessKeySecretValue>({
  strategy: 'iam-access-key',
  env: () => env,
  newSecret: () => createAccessKeySecret(env),
  target,
  engines: (faults) => iamEngines(env, faults === undefined ? {} : { faults }),
  works: (v) => accessKeyWorks(env, v),
  secretsOf: (v) => (v.secretAccessKey === '' ? [] : [v.secretAccessKey]),
  scan: (secret) => Promise.resolve(scanIamFor(env, secret)),
  wrongMaster: async (name) => {
    // The rotation role without iam:CreateAccessKey: the "master" of this strategy is the role itself.
    const weak = await createIamUserWithKey(env.admin, `weak-rotator-${newToken().slice(0, 8)}`, [
      'iam:ListAccessKeys',
      'iam:UpdateAccessKey',
      'iam:DeleteAccessKey',
    ])
    const user = name.split('/').at(-1) ?? ''
    return {
      target: target(name),
      engines: iamEngines(env, { credentials: weak }),
      step: 'createSecret',
      error: `createSecret: creating an access key for IAM user ${user} failed (EngineError AccessDenied)`,
    }
  },
  downStep: 'createSecret',
  // Under jest the SDK's retry middleware sees the socket error as coming from another realm (`instanceof
  // Error` fails) and wraps it without its code; in one realm (a Lambda) the code is ECONNREFUSED, which
  // tests/unit/engines/iam-access-keys.test.ts checks on the classification.
  downError: (v) =>
    new RegExp(
      `^createSecret: listing the access keys of IAM user ${v.userName} failed \\(EngineError (ECONNREFUSED|Error)\\)$`,
    ),
  generatesPasswords: false,
})

describe('iam-access-key specifics', () => {
  it('keeps the previous key Active through the next period, then retires it (deactivated, deleted) at the next createSecret', async () => {
    // Arrange
    const s = await createAccessKeySecret(env)
    const k0 = s.value.accessKeyId
    // Act / Assert: rotation 1 — a second key; both Active, both sign in
    expect((await rotate(s.name)).ok).toBe(true)
    const k1 = await valueOf(s.arn, 'AWSCURRENT')
    expect(await keysOf(env, s.value.userName)).toEqual([
      [k0, 'Active'],
      [k1.accessKeyId, 'Active'],
    ])
    expect([await accessKeyWorks(env, s.value), await accessKeyWorks(env, k1)]).toEqual([true, true])
    // rotation 2 — k0 (AWSPREVIOUS) is retired to make room; k1 stays Active as the new AWSPREVIOUS
    expect((await rotate(s.name)).ok).toBe(true)
    const k2 = await valueOf(s.arn, 'AWSCURRENT')
    expect(await keysOf(env, s.value.userName)).toEqual([
      [k1.accessKeyId, 'Active'],
      [k2.accessKeyId, 'Active'],
    ])
    expect((await valueOf(s.arn, 'AWSPREVIOUS')).accessKeyId).toBe(k1.accessKeyId)
    expect([await accessKeyWorks(env, s.value), await accessKeyWorks(env, k1)]).toEqual([false, true])
  })

  it('gives a value that holds no key yet (as the stack creates it) its first key', async () => {
    const s = await createAccessKeySecret(env, { noKey: true })
    const report = await rotate(s.name)
    expect(report.ok).toBe(true)
    const current = await valueOf(s.arn, 'AWSCURRENT')
    expect(await keysOf(env, s.value.userName)).toEqual([[current.accessKeyId, 'Active']])
    expect(await accessKeyWorks(env, current)).toBe(true)
  })

  it('refuses to make room by deleting an Active key the secret does not know, naming it, and creates nothing', async () => {
    // Arrange: someone gave the user a second key
    const s = await createAccessKeySecret(env)
    const theirs = (await env.admin.send(new CreateAccessKeyCommand({ UserName: s.value.userName })))
      .AccessKey
    // Act
    const report = await rotate(s.name)
    // Assert
    expect(report).toMatchObject({ ok: false, failedStep: 'createSecret' })
    expect(report.attempts.at(-1)?.error).toBe(
      `createSecret: no room for a new access key of IAM user ${s.value.userName}: the user has two keys and the other one is Active; deactivate it if nothing uses it, then retry (keys: ${theirs?.AccessKeyId})`,
    )
    expect((await keysOf(env, s.value.userName)).map(([id]) => id)).toEqual([
      s.value.accessKeyId,
      theirs?.AccessKeyId,
    ])
    // Deactivated by its owner, it may go: the retry deletes it and rotates.
    await env.admin.send(
      new UpdateAccessKeyCommand({
        UserName: s.value.userName,
        AccessKeyId: theirs?.AccessKeyId,
        Status: 'Inactive',
      }),
    )
    const retry = await rotate(s.name, { token: report.token })
    expect(retry.ok).toBe(true)
    expect((await keysOf(env, s.value.userName)).map(([id]) => id)).not.toContain(theirs?.AccessKeyId)
  })

  it('testSecret refuses a pending key whose secret is wrong (moto checks the signature), and AWSCURRENT stays', async () => {
    // Arrange: a pending value naming a real key of the user with a wrong secret
    const s = await createAccessKeySecret(env)
    const token = newToken()
    await env.sm.send(
      new RotateSecretCommand({
        SecretId: s.name,
        RotationLambdaARN: env.lambdaArn,
        RotationRules: { AutomaticallyAfterDays: 30 },
        ClientRequestToken: token,
        RotateImmediately: true,
      }),
    )
    const real = (await env.admin.send(new CreateAccessKeyCommand({ UserName: s.value.userName }))).AccessKey
    const wrong = { ...s.value, accessKeyId: real?.AccessKeyId ?? '', secretAccessKey: 'x'.repeat(40) }
    await env.sm.send(
      new PutSecretValueCommand({
        SecretId: s.name,
        ClientRequestToken: token,
        SecretString: JSON.stringify({ ...wrong, note: env.canary }),
        VersionStages: ['AWSPENDING'],
      }),
    )
    const run = makeHandler(env, [target(s.name)], { engines: iamEngines(env) })
    // Act / Assert
    await expect(
      run({ Step: 'setSecret', SecretId: s.arn, ClientRequestToken: token }),
    ).resolves.toMatchObject({
      outcome: 'unchanged',
    })
    await expect(run({ Step: 'testSecret', SecretId: s.arn, ClientRequestToken: token })).rejects.toThrow(
      `testSecret: checking that the pending access key ${real?.AccessKeyId} signs as IAM user ${s.value.userName} failed (EngineError SignatureDoesNotMatch)`,
    )
    expect(await accessKeyWorks(env, await valueOf(s.arn, 'AWSCURRENT'))).toBe(true)
  })
})
