import {
  createAccessKey,
  EngineError,
  deleteAccessKey,
  listAccessKeys,
  planKeyRoom,
  setAccessKeyStatus,
  verifyAccessKey,
  type AccessKeyInfo,
} from '../engines'
import { parseAccessKeySecret, type AccessKeySecret } from '../engine-values'
import { failed, stepError } from '../rotation-errors'
import type { SecretValue } from '../secret-value'
import { checkOnlyChanged, engineCall, requireEngine } from './strategy-common'
import type { RotationContext, RotationStrategy } from './rotation-strategy'

/**
 * IAM access keys (`{"userName", "accessKeyId", "secretAccessKey"}`). IAM allows two keys per user, and a
 * deactivated key stops working at once; so that a consumer holding the previous key has a whole rotation
 * period to refresh (as alternating users keep the previous user), the previous key stays **Active** until
 * the next rotation, whose createSecret deactivates and then deletes it to make room:
 *
 * - createSecret: retire AWSPREVIOUS's key (UpdateAccessKey Inactive, DeleteAccessKey; both idempotent),
 *   then CreateAccessKey; the new key's secret exists only in that answer, so the core stores it at once
 *   and, if the store fails, `discard` deletes the key. AWSCURRENT's key is never touched.
 * - setSecret: nothing to change in IAM; checks the pending key is one of the user's keys, and Active.
 * - testSecret: STS GetCallerIdentity signed with the pending key names the secret's user (the ARN is
 *   compared: moto answers an unknown key with a default identity), retried while the key propagates.
 * - finishSecret: the labels only.
 *
 * The rotation role needs iam:ListAccessKeys, CreateAccessKey, UpdateAccessKey and DeleteAccessKey on the
 * declared users (infra/iam.ts); GetCallerIdentity needs no permission.
 */
/** New keys take a few seconds to be accepted everywhere: up to 6 tries, 2 s apart (within the 60 s timeout). */
export const KEY_PROPAGATION = { attempts: 6, delayMs: 2000 } as const

function key(value: unknown, what: string): AccessKeySecret {
  return parseAccessKeySecret(value, what)
}

/** AWSPREVIOUS's key id, when it is a key of the same user. */
async function previousKeyId(ctx: RotationContext, c: AccessKeySecret): Promise<string | undefined> {
  let previous: SecretValue | undefined
  try {
    previous = await ctx.previousValue()
  } catch {
    return undefined // an unreadable previous version only means no key is known to retire
  }
  if (previous === undefined) return undefined
  try {
    const p = key(previous, 'previous')
    return p.userName === c.userName && p.accessKeyId !== '' ? p.accessKeyId : undefined
  } catch {
    return undefined
  }
}

async function keysOf(userName: string, ctx: RotationContext): Promise<AccessKeyInfo[]> {
  const iam = requireEngine(ctx, 'iam')
  return engineCall(`listing the access keys of IAM user ${userName}`, () => listAccessKeys(iam, userName))
}

/** Deactivate, then delete: each a no-op when already done, so an interrupted retirement finishes on retry. */
async function retireKey(userName: string, accessKeyId: string, ctx: RotationContext): Promise<void> {
  const iam = requireEngine(ctx, 'iam')
  await engineCall(`deactivating the previous access key ${accessKeyId} of IAM user ${userName}`, () =>
    setAccessKeyStatus(iam, userName, accessKeyId, 'Inactive'),
  )
  await engineCall(`deleting the previous access key ${accessKeyId} of IAM user ${userName}`, () =>
    deleteAccessKey(iam, userName, accessKeyId),
  )
}

export const iamAccessKeyStrategy: RotationStrategy = {
  kind: 'iam-access-key',
  updatesExternalSystem: true,
  async generate(current, ctx) {
    const c = key(current.value, 'current')
    const iam = requireEngine(ctx, 'iam')
    const plan = planKeyRoom(await keysOf(c.userName, ctx), {
      current: c.accessKeyId === '' ? undefined : c.accessKeyId,
      previous: await previousKeyId(ctx, c),
    })
    if (plan.action === 'refuse')
      throw stepError(
        ctx.scope,
        `no room for a new access key of IAM user ${c.userName}: ${plan.reason} (keys: ${plan.accessKeyIds.join(', ')})`,
      )
    if (plan.action === 'delete') await retireKey(c.userName, plan.accessKeyId, ctx)
    const created = await engineCall(`creating an access key for IAM user ${c.userName}`, () =>
      createAccessKey(iam, c.userName),
    )
    return { accessKeyId: created.accessKeyId, secretAccessKey: created.secretAccessKey }
  },
  async discard(changes, current, ctx) {
    const c = key(current.value, 'current')
    const id = changes['accessKeyId']
    if (id === undefined) return
    const iam = requireEngine(ctx, 'iam')
    await engineCall(`deleting the unstored access key ${id} of IAM user ${c.userName}`, () =>
      deleteAccessKey(iam, c.userName, id),
    )
  },
  checkPending(pending, current, ctx) {
    const p = key(pending.value, 'pending')
    const c = key(current.value, 'current')
    if (p.userName !== c.userName)
      throw stepError(ctx.scope, 'refusing a pending value for a different IAM user than the current one')
    if (p.accessKeyId === '' || p.accessKeyId === c.accessKeyId)
      throw stepError(ctx.scope, 'refusing a pending value that does not hold a new access key')
    checkOnlyChanged(pending, current, ['accessKeyId', 'secretAccessKey'], ctx)
  },
  async accepts(pending, ctx) {
    const p = key(pending, 'pending')
    const listed = (await keysOf(p.userName, ctx)).find((k) => k.accessKeyId === p.accessKeyId)
    return listed?.status === 'Active'
  },
  async apply(pending, _current, ctx) {
    const p = key(pending, 'pending')
    const listed = (await keysOf(p.userName, ctx)).find((k) => k.accessKeyId === p.accessKeyId)
    if (listed === undefined)
      throw stepError(
        ctx.scope,
        `the pending access key ${p.accessKeyId} is no longer a key of IAM user ${p.userName}: cancel this rotation (remove AWSPENDING from its version) and start another`,
      )
    // Ours (the pending value holds its secret) but deactivated since createSecret: make it usable again.
    const iam = requireEngine(ctx, 'iam')
    await engineCall(`activating the pending access key ${p.accessKeyId} of IAM user ${p.userName}`, () =>
      setAccessKeyStatus(iam, p.userName, p.accessKeyId, 'Active'),
    )
  },
  async verify(pending, ctx) {
    const p = key(pending, 'pending')
    const getCallerIdentity = requireEngine(ctx, 'getCallerIdentity')
    const sleep = requireEngine(ctx, 'sleep')
    const what = `checking that the pending access key ${p.accessKeyId} signs as IAM user ${p.userName}`
    try {
      await verifyAccessKey(getCallerIdentity, p, p.userName, { ...KEY_PROPAGATION, sleep })
    } catch (err) {
      // STS answered, but with another identity (moto's default one for a key it does not know).
      if (err instanceof EngineError && err.kind === 'authentication-failed' && err.code === undefined)
        throw stepError(
          ctx.scope,
          `the pending access key ${p.accessKeyId} does not sign as IAM user ${p.userName}: GetCallerIdentity named another principal`,
        )
      failed(what, err)
    }
  },
}
