/**
 * The invalidation register's layout, declared once: the invalidation function writes it, the HTTP functions
 * read it, the local stack creates it and the tests inspect it. One DynamoDB table per stage (on demand, with
 * a TTL attribute) holding:
 *
 * - one **generation** item: a counter bumped on every change recorded, so a container learns that *something*
 *   moved with one eventually consistent GetItem of a small item (0.5 read request unit);
 * - one item per **secret** (keyed by the secret's name): the last AWSCURRENT version the register saw, when,
 *   from which event, and its own revision counter, read (BatchGetItem) only when the generation moved.
 *
 * Nothing in the register is secret: names, version ids and times. It is a hint, never a source of values:
 * a container that learns of a move asks Secrets Manager itself.
 */
export const REGISTER_KEY_ATTRIBUTE = 'pk'
export const REGISTER_GENERATION_KEY = 'generation'
/** Epoch seconds after which DynamoDB's TTL deletes an item (items of secrets that left the catalog). */
export const REGISTER_TTL_ATTRIBUTE = 'expiresAt'
/** Longer than any rotation schedule (at most 365 days between rotations): a live secret's item never lapses. */
export const REGISTER_ITEM_TTL_DAYS = 400

/** The events' vocabulary, shared by the rules' patterns (infra) and the function that checks them. */
export const SECRETS_MANAGER_SOURCE = 'aws.secretsmanager'
export const LABEL_UPDATED = 'Secret Label Updated'
export const CLOUDTRAIL_SERVICE_EVENT = 'AWS Service Event via CloudTrail'
export const ROTATION_SUCCEEDED = 'RotationSucceeded'

/** The two kinds of event the register records. */
export const REGISTER_EVENTS = [LABEL_UPDATED, ROTATION_SUCCEEDED] as const
export type RegisterEvent = (typeof REGISTER_EVENTS)[number]

/** A secret's item as the HTTP functions read it. */
export interface RegisterItem {
  /** The secret's own revision: bumped on every change recorded for it. */
  readonly rev: number
  /** The last version AWSCURRENT was seen moving to (from a `Secret Label Updated` event). */
  readonly versionId: string | undefined
  /** When that move happened (the event's time), epoch ms. */
  readonly movedAt: number | undefined
  /** The event that changed the item last; `RotationSucceeded` names no version, so a reader revalidates. */
  readonly lastEvent: RegisterEvent
  /** When the last change was recorded (the event's time), epoch ms. */
  readonly changedAt: number
}

/** Attribute names of a secret's item. */
export const REGISTER_ATTRIBUTES = {
  rev: 'rev',
  versionId: 'versionId',
  movedAt: 'movedAt',
  lastEvent: 'lastEvent',
  changedAt: 'changedAt',
  eventId: 'eventId',
  secretArn: 'secretArn',
  /** Generation item: the counter. */
  seq: 'seq',
} as const

export const registerSecretKey = (secretName: string): string => `secret#${secretName}`

export const registerTableName = (service: string, stage: string): string => `${service}-${stage}-register`

const SECRET_ARN =
  /^arn:(aws|aws-cn|aws-us-gov):secretsmanager:([a-z0-9-]+):(\d{12}):secret:([A-Za-z0-9/_+=.@-]+)-[A-Za-z0-9]{6}$/

/** A secret ARN's parts; undefined for anything else (a name, a partial ARN). */
export function parseSecretArn(
  arn: string,
): { readonly region: string; readonly accountId: string; readonly name: string } | undefined {
  const m = SECRET_ARN.exec(arn)
  if (m === null) return undefined
  return { region: m[2] as string, accountId: m[3] as string, name: m[4] as string }
}

/**
 * The secret's name, which keys its register item: the catalog holds full ARNs in deployed stages and names
 * locally; events carry both. A full ARN ends in `-` and six random characters after the name.
 */
export function secretNameOf(secretId: string): string {
  return parseSecretArn(secretId)?.name ?? secretId
}

/** One change the invalidation function records: AWSCURRENT moved (to `versionId`, when the event names it). */
export interface RegisterChange {
  readonly secretName: string
  readonly secretArn: string | undefined
  readonly event: RegisterEvent
  /** The version AWSCURRENT moved to; `RotationSucceeded` names none. */
  readonly versionId: string | undefined
  /** The event's time, epoch ms. */
  readonly at: number
  /** EventBridge's event id: a redelivered event is recorded once. */
  readonly eventId: string
}

/**
 * A `RotationSucceeded` that follows a recorded `Secret Label Updated` within this window is the same move,
 * already recorded: finishSecret moves the label, then Secrets Manager reports the rotation done.
 */
export const ROTATION_COVERED_BY_LABEL_MS = 5 * 60_000
