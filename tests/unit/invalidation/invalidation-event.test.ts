import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { classifyEvent, type InvalidationScope } from '../../../src/invalidation'

/**
 * The function's own checks on what EventBridge delivers: the real `Secret Label Updated` sample from AWS's
 * documentation (tests/fixtures/events/README.md) is accepted with its version, the CloudTrail
 * `RotationSucceeded` shape without one, and every look-alike is ignored with its reason.
 */
const fixture = (file: string): Record<string, unknown> =>
  JSON.parse(readFileSync(join(__dirname, '../../fixtures/events', file), 'utf8')) as Record<string, unknown>

const SCOPE: InvalidationScope = {
  accountId: '012345678901',
  region: 'us-west-2',
  secretNames: new Set(['mySecret']),
}
const ARN = 'arn:aws:secretsmanager:us-west-2:012345678901:secret:mySecret-a1b2c3'

const label = (changes: { detail?: Record<string, unknown>; [k: string]: unknown } = {}) => {
  const base = fixture('secret-label-updated.json')
  const { detail, ...rest } = changes
  return { ...base, ...rest, detail: { ...(base['detail'] as object), ...detail } }
}
const rotation = (changes: { detail?: Record<string, unknown>; [k: string]: unknown } = {}) => {
  const base = fixture('rotation-succeeded.json')
  const { detail, ...rest } = changes
  return { ...base, ...rest, detail: { ...(base['detail'] as object), ...detail } }
}

describe('classifyEvent', () => {
  it("accepts AWS's own Secret Label Updated sample: AWSCURRENT moved, with the new version", () => {
    expect(classifyEvent(fixture('secret-label-updated.json'), SCOPE)).toEqual({
      accepted: true,
      change: {
        secretName: 'mySecret',
        secretArn: ARN,
        event: 'Secret Label Updated',
        versionId: 'a1b2c3d4-5678-90ab-cdef-EXAMPLE11111',
        at: Date.parse('2024-02-06T16:43:48Z'),
        eventId: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
      },
    })
  })

  it('accepts a CloudTrail RotationSucceeded for the secret, naming no version', () => {
    expect(classifyEvent(fixture('rotation-succeeded.json'), SCOPE)).toEqual({
      accepted: true,
      change: {
        secretName: 'mySecret',
        secretArn: ARN,
        event: 'RotationSucceeded',
        versionId: undefined,
        at: Date.parse('2024-02-06T16:43:51Z'),
        eventId: '3f1c9e52-8d0b-4b6e-9a5f-2e7d41c0b8aa',
      },
    })
  })

  it('accepts a secret under a brokered prefix, and refuses a name that only shares its first characters', () => {
    const scope: InvalidationScope = { ...SCOPE, secretNames: new Set(), secretPrefixes: ['orders/'] }
    const under = (name: string) =>
      label({
        detail: { name },
        resources: [`arn:aws:secretsmanager:us-west-2:012345678901:secret:${name}-a1b2c3`],
      })
    expect(classifyEvent(under('orders/db'), scope)).toMatchObject({
      accepted: true,
      change: { secretName: 'orders/db' },
    })
    expect(classifyEvent(under('ordersadmin/db'), scope)).toEqual({
      accepted: false,
      reason: 'not-brokered',
      secretName: 'ordersadmin/db',
    })
    expect(classifyEvent(under('mySecret'), scope)).toMatchObject({ accepted: false, reason: 'not-brokered' })
  })

  it.each([
    ['another label (AWSPREVIOUS)', label({ detail: { labelUpdated: 'AWSPREVIOUS' } }), 'other-label'],
    ['AWSPENDING', label({ detail: { labelUpdated: 'AWSPENDING' } }), 'other-label'],
    ['a custom label', label({ detail: { labelUpdated: 'BLUE' } }), 'other-label'],
    ['a lower-case awscurrent', label({ detail: { labelUpdated: 'awscurrent' } }), 'other-label'],
    ['another source', label({ source: 'custom.secretsmanager' }), 'other-source'],
    ['a source that only looks alike', label({ source: 'aws.secretsmanager ' }), 'other-source'],
    ['another account', label({ account: '999999999999' }), 'other-account'],
    ['another region', label({ region: 'eu-west-1' }), 'other-region'],
    [
      "a resource in another account (the envelope's account is ours)",
      label({ resources: ['arn:aws:secretsmanager:us-west-2:999999999999:secret:mySecret-a1b2c3'] }),
      'other-account',
    ],
    [
      'a resource in another region',
      label({ resources: ['arn:aws:secretsmanager:eu-west-1:012345678901:secret:mySecret-a1b2c3'] }),
      'other-region',
    ],
    [
      'a resource naming another secret than the detail',
      label({ resources: ['arn:aws:secretsmanager:us-west-2:012345678901:secret:other-a1b2c3'] }),
      'malformed',
    ],
    [
      'a secret outside the catalog',
      label({
        resources: ['arn:aws:secretsmanager:us-west-2:012345678901:secret:notBrokered-a1b2c3'],
        detail: { name: 'notBrokered' },
      }),
      'not-brokered',
    ],
    ['a version id that is no version id', label({ detail: { versionId: 'v1; DROP' } }), 'malformed'],
    ['no version id', label({ detail: { versionId: undefined } }), 'malformed'],
    ['an unparseable time', label({ time: 'yesterday' }), 'malformed'],
    ['another detail-type', label({ 'detail-type': 'Secret Rotation Succeeded' }), 'other-event'],
    [
      'an API call through CloudTrail (PutSecretValue)',
      rotation({ 'detail-type': 'AWS API Call via CloudTrail', detail: { eventName: 'PutSecretValue' } }),
      'other-event',
    ],
    ['RotationFailed', rotation({ detail: { eventName: 'RotationFailed' } }), 'other-event'],
    ['RotationStarted', rotation({ detail: { eventName: 'RotationStarted' } }), 'other-event'],
    ['another event source', rotation({ detail: { eventSource: 'kms.amazonaws.com' } }), 'other-event'],
    [
      'a rotation of a secret in another account',
      rotation({
        detail: {
          additionalEventData: {
            SecretId: 'arn:aws:secretsmanager:us-west-2:999999999999:secret:mySecret-a1b2c3',
          },
        },
      }),
      'other-account',
    ],
    [
      'a rotation of a secret outside the catalog',
      rotation({
        detail: {
          additionalEventData: {
            SecretId: 'arn:aws:secretsmanager:us-west-2:012345678901:secret:notBrokered-a1b2c3',
          },
        },
      }),
      'not-brokered',
    ],
    ['a rotation without SecretId', rotation({ detail: { additionalEventData: {} } }), 'malformed'],
    ['nothing', undefined, 'malformed'],
    ['a string', 'Secret Label Updated', 'malformed'],
    ['an empty object', {}, 'malformed'],
  ])('ignores %s', (_, event, reason) => {
    const out = classifyEvent(event, SCOPE)
    expect(out).toMatchObject({ accepted: false, reason })
  })
})
