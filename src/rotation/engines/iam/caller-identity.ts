import { GetCallerIdentityCommand, type STSClient } from '@aws-sdk/client-sts'
import { EngineError } from '../engine-error'
import { assertIamUserName, classifyIamError } from './iam-access-keys'

/**
 * testSecret for an access key: STS GetCallerIdentity signed with the pending key must name the secret's
 * user. Checking the ARN, not only that the call succeeded, matters: moto answers a key it does not know
 * (a deleted one) with a default identity (`arn:aws:sts::123456789012:user/moto`) instead of an error.
 *
 * New keys take a few seconds to be accepted everywhere in AWS (IAM is eventually consistent), so an
 * InvalidClientTokenId is retried a bounded number of times with an injected sleep; a wrong user or any
 * other error is final.
 */
export interface AccessKeyCredentials {
  readonly accessKeyId: string
  readonly secretAccessKey: string
}

export interface CallerIdentity {
  readonly arn: string
  readonly account: string
}

/** One GetCallerIdentity signed with `creds`. */
export type GetCallerIdentity = (creds: AccessKeyCredentials) => Promise<CallerIdentity>

/**
 * One GetCallerIdentity on `sts`, a client signed with the key under test (built by the composition,
 * src/rotation/compose.ts, one per key). Errors leave as `EngineError` with the SDK error's name only.
 */
export async function readCallerIdentity(sts: STSClient): Promise<CallerIdentity> {
  try {
    const out = await sts.send(new GetCallerIdentityCommand({}))
    if (out.Arn === undefined || out.Account === undefined)
      throw new EngineError('server-error', 'STS GetCallerIdentity returned no identity')
    return { arn: out.Arn, account: out.Account }
  } catch (err) {
    if (err instanceof EngineError) throw err
    const { kind, code } = classifyIamError(err)
    throw new EngineError(kind, 'STS GetCallerIdentity failed', code)
  }
}

/** `arn:<partition>:iam::<account>:user[/path]/<userName>` names exactly that user. */
export function arnNamesUser(arn: string, userName: string): boolean {
  assertIamUserName(userName)
  const m = /^arn:aws[\w-]*:iam::\d{12}:user\/(?:[\w+=,.@/-]*\/)?([\w+=,.@-]+)$/.exec(arn)
  return m?.[1] === userName
}

export interface VerifyKeyOptions {
  readonly attempts: number
  readonly delayMs: number
  readonly sleep: (ms: number) => Promise<void>
}

/** Resolves when the key signs as `userName`; throws `authentication-failed` when it never does. */
export async function verifyAccessKey(
  getCallerIdentity: GetCallerIdentity,
  creds: AccessKeyCredentials,
  userName: string,
  opts: VerifyKeyOptions,
): Promise<CallerIdentity> {
  for (let attempt = 1; ; attempt++) {
    try {
      const identity = await getCallerIdentity(creds)
      if (!arnNamesUser(identity.arn, userName))
        throw new EngineError(
          'authentication-failed',
          'the key signs as another principal than the secret\u2019s user',
        )
      return identity
    } catch (err) {
      const retryable =
        err instanceof EngineError && err.code === 'InvalidClientTokenId' && attempt < opts.attempts
      if (!retryable) throw err
      await opts.sleep(opts.delayMs)
    }
  }
}
