import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import { quoteIdent, type ConnectAs, type DbSession } from './db-session'
import { passwordClause, readPasswordEncryption } from './password-verifier'
import { attempt, RotationFailure } from './rotation-errors'
import type { RotationTarget } from './rotation-config'
import { readMasterSecretText, readVersion } from './secrets-manager'
import { parseSecretDocument } from './secret-document'
import { baseUsername, masterCredentials } from './strategies/postgres-alternating-users'
import { pg, verifyLogin, whereIs, withSession } from './strategies/pg-common'
import type { RotationContext } from './strategies/rotation-strategy'

/**
 * Day 1 of a rotated PostgreSQL secret (docs/ROTATION.md, "Day 1"): the stack generated a password the
 * database has never seen, and Secrets Manager tests a rotation as soon as its schedule exists. Onboarding
 * makes the database accept the secret's AWSCURRENT value before the schedule is turned on: the master logs
 * in, sets the user's password (as a verifier, never the plain text) — creating the user when the strategy
 * is alternating users and it is missing — and the user then logs in with the secret's value and is checked
 * to be who the rotation will expect. Nothing is written to Secrets Manager: the secret stays as generated.
 *
 * Run inside the rotation function (its role alone may read rotated secrets, and it reaches the database),
 * invoked by `npm run onboard`; against the emulator, by the command itself with the same composition.
 */
export interface OnboardRequest {
  /** The rotated secret (its name or ARN, as the rotation function's targets name it). */
  readonly secretId: string
  /** The master secret to set the password with; default: the target's masterSecretId. */
  readonly masterSecretId?: string
}

export interface OnboardReport {
  readonly secretId: string
  readonly username: string
  readonly masterSecretId: string
  /** 'created' when the user did not exist (alternating users), else 'password-set'. */
  readonly action: 'created' | 'password-set'
  readonly where: string
}

export interface OnboardDeps {
  readonly sm: SecretsManagerClient
  readonly targets: readonly RotationTarget[]
  readonly connectAs: ConnectAs
  readonly randomBytes: (size: number) => Buffer
  readonly log: RotationContext['log']
}

/** The strategies onboarding sets users for (PostgreSQL); the other database engines are onboarded by hand. */
export const ONBOARDED_STRATEGIES: readonly string[] = ['postgres-single-user', 'postgres-alternating-users']

/** A target named by its name or ARN (deployed targets are ARNs: the name plus Secrets Manager's 6-character suffix). */
function names(t: RotationTarget, secretId: string): boolean {
  if (t.secretId === secretId) return true
  const at = t.secretId.lastIndexOf(`:secret:${secretId}-`)
  return at >= 0 && t.secretId.length === at + `:secret:${secretId}-`.length + 6
}

function findTarget(targets: readonly RotationTarget[], secretId: string): RotationTarget {
  const target = targets.find((t) => names(t, secretId))
  if (target === undefined)
    throw new RotationFailure(`${secretId} is not a rotation target of this stage (rotation.strategy unset?)`)
  if (!ONBOARDED_STRATEGIES.includes(target.strategy))
    throw new RotationFailure(
      `${secretId} rotates with ${target.strategy}: onboarding sets PostgreSQL users only (docs/ROTATION.md, "Day 1")`,
    )
  return target
}

async function setFirstPassword(
  s: DbSession,
  user: { username: string; password: string },
  create: boolean,
  where: string,
  randomBytes: (size: number) => Buffer,
): Promise<'created' | 'password-set'> {
  await attempt(`starting a transaction ${where}`, () => s.query('BEGIN'))
  try {
    const encryption = await readPasswordEncryption(s, where)
    const exists = await attempt(`looking up role ${user.username} ${where}`, () =>
      s.query('SELECT 1 AS found FROM pg_catalog.pg_roles WHERE rolname = $1', [user.username]),
    )
    if (exists.length === 0 && !create)
      throw new RotationFailure(
        `role ${user.username} does not exist ${where}: single-user rotation changes an existing user's ` +
          'password; create the user (with its grants) first, or use postgres-alternating-users',
      )
    const verb = exists.length === 0 ? 'CREATE' : 'ALTER'
    const clause = passwordClause(encryption, user.username, user.password, randomBytes)
    await attempt(
      `${verb === 'CREATE' ? 'creating' : 'setting the password of'} role ${user.username} ${where}`,
      () => s.query(`${verb} ROLE ${quoteIdent(user.username)} WITH LOGIN ${clause}`),
    )
    await attempt(`committing ${where}`, () => s.query('COMMIT'))
    return verb === 'CREATE' ? 'created' : 'password-set'
  } catch (err) {
    await s.query('ROLLBACK').catch(() => undefined)
    throw err
  }
}

/**
 * Sets the database user's password to the secret's AWSCURRENT value through the master, then logs in as the
 * user to verify it. Idempotent: running it again sets the same password again.
 * @throws RotationFailure (or an attempt's error) naming the secret, the role and the database, never a value
 */
export async function onboardSecret(req: OnboardRequest, deps: OnboardDeps): Promise<OnboardReport> {
  const target = findTarget(deps.targets, req.secretId)
  const masterSecretId = req.masterSecretId ?? target.masterSecretId
  if (masterSecretId === undefined)
    throw new RotationFailure(
      `${req.secretId} has no masterSecret: name the login that may set its password (--master <secret>)`,
    )
  const scope = { step: 'onboard', secretId: target.secretId, clientRequestToken: 'onboard' }
  const currentText = await readVersion(deps.sm, target.secretId, { stage: 'AWSCURRENT' })
  if (currentText === undefined) throw new RotationFailure(`${target.secretId} has no AWSCURRENT value`)
  const current = pg(parseSecretDocument(currentText, 'current').value, 'current')
  const masterValue = parseSecretDocument(
    await readMasterSecretText(deps.sm, masterSecretId, scope),
    `master secret ${masterSecretId}`,
  ).value
  const ctx = {
    scope,
    connectAs: deps.connectAs,
    log: deps.log,
  } as unknown as RotationContext
  const master = masterCredentials(masterSecretId, masterValue, current, ctx)
  const where = whereIs(master)
  const create = target.strategy === 'postgres-alternating-users'
  const session = await attempt(`logging in as ${master.username} ${where} (the master, to onboard)`, () =>
    deps.connectAs(master),
  )
  const action = await withSession(session, (s) =>
    setFirstPassword(s, current, create, where, deps.randomBytes),
  )
  // The check testSecret makes: the user logs in with the secret's value and acts as the rotation expects.
  await verifyLogin(current, create ? baseUsername(current.username) : current.username, ctx)
  deps.log.info('onboarded', { secretId: target.secretId, username: current.username, action })
  return { secretId: target.secretId, username: current.username, masterSecretId, action, where }
}
