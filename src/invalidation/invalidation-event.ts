// zod/mini: the same validation, tree-shaken to a few KB in the function's bundle.
import * as z from 'zod/mini'
import {
  CLOUDTRAIL_SERVICE_EVENT,
  LABEL_UPDATED,
  parseSecretArn,
  ROTATION_SUCCEEDED,
  SECRETS_MANAGER_SOURCE,
  type RegisterChange,
} from '../contract/register'
import { AWSCURRENT } from '../contract/version-stages'

/**
 * Which EventBridge events move a brokered secret's AWSCURRENT, decided from the event alone (pure). Two
 * shapes are accepted, both from `aws.secretsmanager`, in this stage's account and region, for a secret of
 * this stage's catalog:
 *
 * - `Secret Label Updated` (Secrets Manager's own event, on the default bus; sent when any label but
 *   AWSPENDING/AWSPREVIOUS moves, custom ones included) with `labelUpdated: AWSCURRENT`: names the version;
 * - `AWS Service Event via CloudTrail` with `eventName: RotationSucceeded`: names the secret in
 *   `additionalEventData.SecretId` but no version, so readers revalidate.
 *
 * Everything else is ignored with a reason (the rule's pattern should not let it through; this is the
 * second line, and what the function counts). Shapes: tests/fixtures/events/README.md.
 */
export { CLOUDTRAIL_SERVICE_EVENT, LABEL_UPDATED, ROTATION_SUCCEEDED, SECRETS_MANAGER_SOURCE }

export const IGNORE_REASONS = [
  'malformed',
  'other-source',
  'other-account',
  'other-region',
  'other-event',
  'other-label',
  'not-brokered',
] as const
export type IgnoreReason = (typeof IGNORE_REASONS)[number]

export interface InvalidationScope {
  readonly accountId: string
  readonly region: string
  /** Names (in Secrets Manager) of this stage's brokered secrets. */
  readonly secretNames: ReadonlySet<string>
  /** Secrets Manager prefixes of this stage's brokered prefixes (absent: none). */
  readonly secretPrefixes?: readonly string[]
}

/** Whether the catalog brokers a secret of this name: listed, or under a brokered prefix. */
function brokered(name: string, scope: InvalidationScope): boolean {
  return scope.secretNames.has(name) || (scope.secretPrefixes ?? []).some((p) => name.startsWith(p))
}

export type ClassifiedEvent =
  | { readonly accepted: true; readonly change: RegisterChange }
  | { readonly accepted: false; readonly reason: IgnoreReason; readonly secretName?: string }

const Envelope = z.object({
  id: z.string().check(z.minLength(1), z.maxLength(128)),
  source: z.string(),
  account: z.string(),
  region: z.string(),
  time: z.string(),
  'detail-type': z.string(),
  resources: z.optional(z.array(z.string())),
  detail: z.record(z.string(), z.unknown()),
})

const LabelDetail = z.object({
  name: z.string().check(z.minLength(1), z.maxLength(512)),
  labelUpdated: z.string(),
  // Secrets Manager version ids are UUID-like tokens (ClientRequestToken: 32–64 characters).
  versionId: z.string().check(z.regex(/^[A-Za-z0-9-]{32,64}$/)),
})

const CloudTrailDetail = z.object({
  eventSource: z.string(),
  eventName: z.string(),
  additionalEventData: z.optional(z.object({ SecretId: z.optional(z.string()) })),
})

const ignore = (reason: IgnoreReason, secretName?: string): ClassifiedEvent =>
  secretName === undefined ? { accepted: false, reason } : { accepted: false, reason, secretName }

/** Where an ARN points, against the scope: the account and region first, then the catalog. */
function checkArn(arn: string, scope: InvalidationScope): ClassifiedEvent | { name: string } {
  const parsed = parseSecretArn(arn)
  if (parsed === undefined) return ignore('malformed')
  if (parsed.accountId !== scope.accountId) return ignore('other-account')
  if (parsed.region !== scope.region) return ignore('other-region')
  return { name: parsed.name }
}

function classifyLabelUpdated(
  envelope: z.infer<typeof Envelope>,
  scope: InvalidationScope,
  at: number,
): ClassifiedEvent {
  const detail = LabelDetail.safeParse(envelope.detail)
  if (!detail.success) return ignore('malformed')
  const { name, labelUpdated, versionId } = detail.data
  if (labelUpdated !== AWSCURRENT) return ignore('other-label', name)
  const arn = envelope.resources?.[0]
  if (arn !== undefined) {
    const where = checkArn(arn, scope)
    if (!('name' in where)) return where
    // The resource and the detail must name the same secret.
    if (where.name !== name) return ignore('malformed')
  }
  if (!brokered(name, scope)) return ignore('not-brokered', name)
  return {
    accepted: true,
    change: { secretName: name, secretArn: arn, event: LABEL_UPDATED, versionId, at, eventId: envelope.id },
  }
}

function classifyCloudTrail(
  envelope: z.infer<typeof Envelope>,
  scope: InvalidationScope,
  at: number,
): ClassifiedEvent {
  const detail = CloudTrailDetail.safeParse(envelope.detail)
  if (!detail.success) return ignore('malformed')
  const { eventSource, eventName, additionalEventData } = detail.data
  if (eventSource !== 'secretsmanager.amazonaws.com' || eventName !== ROTATION_SUCCEEDED)
    return ignore('other-event')
  const arn = additionalEventData?.SecretId
  if (arn === undefined) return ignore('malformed')
  const where = checkArn(arn, scope)
  if (!('name' in where)) return where
  if (!brokered(where.name, scope)) return ignore('not-brokered', where.name)
  return {
    accepted: true,
    change: {
      secretName: where.name,
      secretArn: arn,
      event: ROTATION_SUCCEEDED,
      versionId: undefined,
      at,
      eventId: envelope.id,
    },
  }
}

export function classifyEvent(event: unknown, scope: InvalidationScope): ClassifiedEvent {
  const parsed = Envelope.safeParse(event)
  if (!parsed.success) return ignore('malformed')
  const envelope = parsed.data
  if (envelope.source !== SECRETS_MANAGER_SOURCE) return ignore('other-source')
  if (envelope.account !== scope.accountId) return ignore('other-account')
  if (envelope.region !== scope.region) return ignore('other-region')
  const at = Date.parse(envelope.time)
  if (!Number.isFinite(at)) return ignore('malformed')
  switch (envelope['detail-type']) {
    case LABEL_UPDATED:
      return classifyLabelUpdated(envelope, scope, at)
    case CLOUDTRAIL_SERVICE_EVENT:
      return classifyCloudTrail(envelope, scope, at)
    default:
      return ignore('other-event')
  }
}
