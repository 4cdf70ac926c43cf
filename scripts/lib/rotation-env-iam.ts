import { randomBytes } from 'node:crypto'
import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  IAMClient,
  ListAccessKeysCommand,
  PutUserPolicyCommand,
} from '@aws-sdk/client-iam'
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager'
import { ACCESS_KEY_ROTATION_ACTIONS } from '../../infra/iam'
import { fileSource, scanSourcesFor, type LogHit } from './log-scan'
import { startAuthenticatingMoto, type AuthenticatingMoto } from './moto-iam-auth'
import { startRotationBase, type RotationBase } from './rotation-env'
import { createEngineClients, type EngineClients } from '../../src/rotation'

/**
 * A rotation suite for IAM access keys: the base (moto for Secrets Manager) and a second moto with request
 * authentication on for IAM and STS (scripts/lib/moto-iam-auth.ts), so a wrong secret is refused
 * (SignatureDoesNotMatch) and a deleted key too (InvalidClientTokenId), as on AWS. The rotation's IAM client
 * signs as a rotator user holding exactly the four actions the strategy uses. What moto cannot prove: that
 * an Inactive key stops working, IAM policies scoped to a user's ARN, and propagation delays.
 */
export interface IamRotationEnv extends RotationBase {
  readonly iamMoto: AuthenticatingMoto
  /** The emulator's admin, for setting users up and reading their keys. */
  readonly admin: IAMClient
  /** The rotation's IAM credentials: exactly the strategy's four actions. */
  readonly rotator: { readonly accessKeyId: string; readonly secretAccessKey: string }
}

/** What the rotation role gets in infra/iam.ts, on the declared users' ARNs. */
export { ACCESS_KEY_ROTATION_ACTIONS }

export async function startIamRotationEnv(): Promise<IamRotationEnv> {
  const base = await startRotationBase(() => startAuthenticatingMoto())
  const iamMoto = base.alongside as AuthenticatingMoto
  const admin = new IAMClient({
    endpoint: iamMoto.endpoint,
    region: iamMoto.region,
    credentials: iamMoto.admin,
    maxAttempts: 1,
  })
  try {
    const rotator = await createIamUserWithKey(admin, 'secret-broker-rotation', [
      ...ACCESS_KEY_ROTATION_ACTIONS,
    ])
    return {
      ...base,
      iamMoto,
      admin,
      rotator,
      stop: async () => {
        admin.destroy()
        await base.stop()
      },
    }
  } catch (err) {
    admin.destroy()
    await base.stop()
    throw err
  }
}

/** A user with a policy allowing `actions` (on "*": moto cannot evaluate user ARNs) and one key. */
export async function createIamUserWithKey(
  admin: IAMClient,
  userName: string,
  actions: readonly string[] = [],
): Promise<{ accessKeyId: string; secretAccessKey: string }> {
  await admin.send(new CreateUserCommand({ UserName: userName }))
  if (actions.length > 0)
    await admin.send(
      new PutUserPolicyCommand({
        UserName: userName,
        PolicyName: 'rotation',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: actions, Resource: '*' }],
        }),
      }),
    )
  const key = (await admin.send(new CreateAccessKeyCommand({ UserName: userName }))).AccessKey
  if (key?.AccessKeyId === undefined || key.SecretAccessKey === undefined)
    throw new Error('moto issued no key')
  return { accessKeyId: key.AccessKeyId, secretAccessKey: key.SecretAccessKey }
}

export interface AccessKeySecretValue {
  readonly userName: string
  readonly accessKeyId: string
  readonly secretAccessKey: string
}

let seq = 0

/**
 * An IAM user, its first key (unless `noKey`: the value then holds empty fields, as the stack creates it)
 * and a secret in moto holding them. The value also carries the suite's canary in a field of its own, so
 * the leak checks can look for it.
 */
export async function createAccessKeySecret(
  env: IamRotationEnv,
  opts: { userName?: string; noKey?: boolean } = {},
): Promise<{ name: string; arn: string; value: AccessKeySecretValue }> {
  seq++
  const userName = opts.userName ?? `svc-${seq}-${randomBytes(3).toString('hex')}`
  let key = { accessKeyId: '', secretAccessKey: '' }
  if (opts.noKey === true) await env.admin.send(new CreateUserCommand({ UserName: userName }))
  else key = await createIamUserWithKey(env.admin, userName)
  const value: AccessKeySecretValue = { userName, ...key }
  const name = `secret-broker/test/iam/${userName}`
  const out = await env.sm.send(
    new CreateSecretCommand({ Name: name, SecretString: JSON.stringify({ ...value, note: env.canary }) }),
  )
  return { name, arn: out.ARN ?? name, value }
}

/**
 * The rotation's engines: IAM as `credentials` (the rotator by default), STS and IAM on the authenticating
 * moto; while `faults.down`, both on a port nobody listens on (read at each use, so a test can bring IAM
 * back between two attempts).
 */
export function iamEngines(
  env: IamRotationEnv,
  opts: {
    credentials?: { accessKeyId: string; secretAccessKey: string }
    faults?: { down: boolean; closedPort: number }
  } = {},
): Partial<EngineClients> {
  const up = iamEnginesAt(env, env.iamMoto.endpoint, opts.credentials)
  const faults = opts.faults
  if (faults === undefined) return up
  const down = iamEnginesAt(env, `http://127.0.0.1:${faults.closedPort}`, opts.credentials)
  return {
    get iam() {
      return faults.down ? down.iam : up.iam
    },
    get getCallerIdentity() {
      return faults.down ? down.getCallerIdentity : up.getCallerIdentity
    },
    sleep: () => Promise.resolve(),
  }
}

function iamEnginesAt(
  env: IamRotationEnv,
  endpoint: string,
  credentials: { accessKeyId: string; secretAccessKey: string } | undefined,
): EngineClients {
  const engines = createEngineClients(
    {
      region: 'us-east-1',
      pgSslMode: 'disable',
      pgConnectTimeoutMs: 2000,
      pgStatementTimeoutMs: 2000,
      upstreamTimeoutMs: 3000,
      upstreamMaxAttempts: 1,
    },
    { iamEndpoint: endpoint, credentials: credentials ?? env.rotator },
  )
  // No waiting between GetCallerIdentity retries: moto accepts a new key at once.
  return { ...engines, sleep: () => Promise.resolve() }
}

/** Does this key sign STS GetCallerIdentity as its user? (moto checks the signature; a deleted key fails.) */
export async function accessKeyWorks(env: IamRotationEnv, value: AccessKeySecretValue): Promise<boolean> {
  if (value.accessKeyId === '') return false
  try {
    const identity = await iamEnginesAt(env, env.iamMoto.endpoint, undefined).getCallerIdentity(value)
    return identity.arn === `arn:aws:iam::123456789012:user/${value.userName}`
  } catch (err) {
    if ((err as { kind?: string }).kind === 'authentication-failed') return false
    throw err
  }
}

/** The user's keys and their status, oldest first, as the admin sees them. */
export async function keysOf(env: IamRotationEnv, userName: string): Promise<[string, string][]> {
  const out = await env.admin.send(new ListAccessKeysCommand({ UserName: userName }))
  return (out.AccessKeyMetadata ?? [])
    .sort((a, b) => (a.CreateDate?.getTime() ?? 0) - (b.CreateDate?.getTime() ?? 0))
    .map((k) => [k.AccessKeyId ?? '', k.Status ?? ''])
}

/** Where `secret` shows in the IAM emulator's request log (moto logs requests, never bodies); empty when nowhere. */
export function scanIamFor(env: IamRotationEnv, secret: string): LogHit[] {
  return scanSourcesFor(secret, [fileSource('IAM/STS moto log', env.iamMoto.logFile)])
}
