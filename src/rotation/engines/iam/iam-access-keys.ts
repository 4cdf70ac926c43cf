import {
  CreateAccessKeyCommand,
  DeleteAccessKeyCommand,
  ListAccessKeysCommand,
  UpdateAccessKeyCommand,
  type IAMClient,
} from '@aws-sdk/client-iam'
import { IAM_USER_NAME_PATTERN } from '../../../contract/rotation-strategies'
import { EngineError, safeCode, type EngineErrorKind } from '../engine-error'

export { IAM_USER_NAME_PATTERN }

/**
 * IAM access keys of one user, for the `iam-access-key` strategy. The IAM client is passed in (the
 * composition builds it, with the rotation role's credentials); every call names the user, so a key id
 * of another user is refused by IAM itself (NoSuchEntity). A secret access key exists only in
 * `createAccessKey`'s result: IAM never shows it again, and nothing here logs or keeps it.
 *
 * IAM allows two keys per user. Which key may be deleted to make room is decided by `planKeyRoom`, a pure
 * function: only an Inactive key that no staging label refers to; an Active key the secret does not know
 * is never deleted (it may be someone's), the rotation is refused with the key ids to look at instead.
 */
export interface AccessKeyInfo {
  readonly accessKeyId: string
  readonly status: 'Active' | 'Inactive'
  readonly createDate: Date | undefined
}

export interface NewAccessKey {
  readonly accessKeyId: string
  readonly secretAccessKey: string
}

export const ACCESS_KEY_ID_PATTERN = /^[A-Z0-9]{16,128}$/

export function assertIamUserName(userName: string): void {
  if (!IAM_USER_NAME_PATTERN.test(userName))
    throw new EngineError('invalid-input', 'IAM user name must be 1–64 characters of [A-Za-z0-9_+=,.@-]')
}

export function assertAccessKeyId(accessKeyId: string): void {
  if (!ACCESS_KEY_ID_PATTERN.test(accessKeyId)) throw new EngineError('invalid-input', 'not an access key id')
}

/** The SDK error's kind: its name is safe to log (`NoSuchEntityException`), its message may not be. */
export function classifyIamError(err: unknown): { kind: EngineErrorKind; code: string | undefined } {
  const e = (err ?? {}) as {
    name?: unknown
    code?: unknown
    $retryable?: unknown
    $metadata?: { httpStatusCode?: number }
  }
  // A socket error reaches us as a plain Error whose `code` says what happened (ECONNREFUSED, ETIMEDOUT).
  const code = e.name === 'Error' ? (safeCode(e.code) ?? safeCode(e.name)) : safeCode(e.name)
  const status = e.$metadata?.httpStatusCode
  if (code === 'AccessDenied' || code === 'AccessDeniedException') return { kind: 'permission-denied', code }
  if (code === 'InvalidClientTokenId' || code === 'SignatureDoesNotMatch' || code === 'ExpiredToken')
    return { kind: 'authentication-failed', code }
  if (code === 'NoSuchEntityException' || code === 'NoSuchEntity' || code === 'LimitExceededException')
    return { kind: 'invalid-input', code }
  if (e.$retryable !== undefined || (status !== undefined && status >= 500) || code === 'Throttling')
    return { kind: 'unavailable', code }
  if (status === undefined && err instanceof Error) return { kind: 'unavailable', code }
  return { kind: 'server-error', code }
}

function iamError(what: string, err: unknown): EngineError {
  const { kind, code } = classifyIamError(err)
  return new EngineError(kind, `IAM ${what} failed`, code)
}

/** The user's keys, oldest first (pagination followed). */
export async function listAccessKeys(iam: IAMClient, userName: string): Promise<AccessKeyInfo[]> {
  assertIamUserName(userName)
  const keys: AccessKeyInfo[] = []
  let marker: string | undefined
  do {
    const page = await iam
      .send(
        new ListAccessKeysCommand({
          UserName: userName,
          ...(marker === undefined ? {} : { Marker: marker }),
        }),
      )
      .catch((err: unknown) => {
        throw iamError('ListAccessKeys', err)
      })
    for (const k of page.AccessKeyMetadata ?? []) {
      if (k.AccessKeyId === undefined) continue
      keys.push({
        accessKeyId: k.AccessKeyId,
        status: k.Status === 'Active' ? 'Active' : 'Inactive',
        createDate: k.CreateDate,
      })
    }
    marker = page.IsTruncated === true ? page.Marker : undefined
  } while (marker !== undefined)
  return keys.sort((a, b) => (a.createDate?.getTime() ?? 0) - (b.createDate?.getTime() ?? 0))
}

/** A new Active key. Its secret is in the result only: put it in the pending version at once. */
export async function createAccessKey(iam: IAMClient, userName: string): Promise<NewAccessKey> {
  assertIamUserName(userName)
  const out = await iam.send(new CreateAccessKeyCommand({ UserName: userName })).catch((err: unknown) => {
    throw iamError('CreateAccessKey', err)
  })
  const id = out.AccessKey?.AccessKeyId
  const secret = out.AccessKey?.SecretAccessKey
  if (id === undefined || secret === undefined)
    throw new EngineError('server-error', 'IAM CreateAccessKey returned no key')
  return { accessKeyId: id, secretAccessKey: secret }
}

/** Set a key Active or Inactive; IAM treats a repeat as a no-op. */
export async function setAccessKeyStatus(
  iam: IAMClient,
  userName: string,
  accessKeyId: string,
  status: 'Active' | 'Inactive',
): Promise<void> {
  assertIamUserName(userName)
  assertAccessKeyId(accessKeyId)
  await iam
    .send(new UpdateAccessKeyCommand({ UserName: userName, AccessKeyId: accessKeyId, Status: status }))
    .catch((err: unknown) => {
      throw iamError('UpdateAccessKey', err)
    })
}

/** Delete a key; `false` when it was already gone (a retried step), so deletion is idempotent. */
export async function deleteAccessKey(
  iam: IAMClient,
  userName: string,
  accessKeyId: string,
): Promise<boolean> {
  assertIamUserName(userName)
  assertAccessKeyId(accessKeyId)
  try {
    await iam.send(new DeleteAccessKeyCommand({ UserName: userName, AccessKeyId: accessKeyId }))
    return true
  } catch (err) {
    const { code } = classifyIamError(err)
    if (code === 'NoSuchEntityException' || code === 'NoSuchEntity') return false
    throw iamError('DeleteAccessKey', err)
  }
}

/** The key ids the secret's versions refer to, by label; no `current` while the secret holds no key yet. */
export interface KnownKeys {
  readonly current: string | undefined
  readonly previous?: string | undefined
  readonly pending?: string | undefined
}

export type KeyRoomPlan =
  /** There is room (fewer than two keys, or the pending key already exists). */
  | { readonly action: 'none' }
  /** Retire this key first: AWSPREVIOUS's (Active or not), or an Inactive key no label refers to. */
  | { readonly action: 'delete'; readonly accessKeyId: string }
  /** No key may be deleted safely; the ids (not secret) say what to look at. */
  | { readonly action: 'refuse'; readonly reason: string; readonly accessKeyIds: readonly string[] }

/**
 * Before createSecret's CreateAccessKey. Never deletes the current key, nor an Active key the secret does
 * not hold as AWSPREVIOUS. The key to retire is AWSPREVIOUS's: the strategy keeps it Active through a whole
 * rotation period (so a consumer holding it can refresh) and retires it here, at the next rotation; else the
 * oldest Inactive key no label refers to. A pending key that already exists means a retry: nothing to do.
 * A secret with no key yet (its first rotation) gets one only if the user has room: keys it does not know
 * are never deleted.
 */
export function planKeyRoom(keys: readonly AccessKeyInfo[], known: KnownKeys): KeyRoomPlan {
  if (known.pending !== undefined && keys.some((k) => k.accessKeyId === known.pending))
    return { action: 'none' }
  if (known.current !== undefined && !keys.some((k) => k.accessKeyId === known.current))
    return {
      action: 'refuse',
      reason: 'the current key is not one of the user\u2019s keys',
      accessKeyIds: keys.map((k) => k.accessKeyId),
    }
  if (keys.length < 2) return { action: 'none' }
  const others = keys.filter((k) => k.accessKeyId !== known.current)
  const deletable = others.filter(
    (k) => known.current !== undefined && (k.status === 'Inactive' || k.accessKeyId === known.previous),
  )
  const previous = deletable.find((k) => k.accessKeyId === known.previous)
  const victim = previous ?? deletable[0]
  if (victim !== undefined) return { action: 'delete', accessKeyId: victim.accessKeyId }
  return {
    action: 'refuse',
    reason:
      known.current === undefined
        ? 'the user already has two keys and the secret holds neither; delete one the secret should not keep, then retry'
        : 'the user has two keys and the other one is Active; deactivate it if nothing uses it, then retry',
    accessKeyIds: others.map((k) => k.accessKeyId),
  }
}
