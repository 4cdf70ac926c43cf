import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { CreateTableCommand, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb'
import {
  labelUpdatedPattern,
  planStack,
  rotationSucceededPattern,
  type StackPlan,
} from '../../../infra/stack'
import { loadStageDeclarations } from '../../../infra/stage-declarations'
import { MOTO_CREDENTIALS, startMoto, type MotoServer } from '../../../scripts/lib/moto'
import { ROTATION_COVERED_BY_LABEL_MS, type RegisterChange } from '../../../src/contract/register'
import { createRegisterReader, createRegisterWriter } from '../../../src/lib/register'

/**
 * The two halves of the invalidation pipeline that run in AWS, against independent implementations:
 * the stack's EventBridge rule patterns against moto's EventBridge matcher, with AWS's own `Secret Label
 * Updated` sample addressed to the stage and the look-alikes that must not match; and the register's reader
 * and writer against moto's DynamoDB (conditional transactions: redeliveries, late events, covered rotations).
 */
const fixture = (file: string): Record<string, unknown> =>
  JSON.parse(readFileSync(join(__dirname, '../../fixtures/events', file), 'utf8')) as Record<string, unknown>

const ACCOUNT = '123456789012'
const REGION = 'us-east-1'

/** The pattern as CloudFormation resolves it in this account and region. */
function resolve(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(resolve)
  if (node === null || typeof node !== 'object') return node
  const o = node as Record<string, unknown>
  if (o['Ref'] === 'AWS::AccountId') return ACCOUNT
  if (o['Ref'] === 'AWS::Region') return REGION
  if (typeof o['Fn::Sub'] === 'string')
    return o['Fn::Sub']
      .replaceAll('${AWS::Partition}', 'aws')
      .replaceAll('${AWS::Region}', REGION)
      .replaceAll('${AWS::AccountId}', ACCOUNT)
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, resolve(v)]))
}

function matches(pattern: unknown, events: unknown[]): boolean[] {
  const out = execFileSync('python3', [join(__dirname, '../../support/eventbridge-match.py')], {
    input: JSON.stringify({ pattern: resolve(pattern), events }),
    encoding: 'utf8',
  })
  return JSON.parse(out) as boolean[]
}

describe('the rules deliver what moves AWSCURRENT on this stage’s secrets, and nothing else', () => {
  const plan: StackPlan = planStack(loadStageDeclarations('local'))
  const name = 'secret-broker/local/demo/db'
  const arn = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}-AbCdEf`
  /** AWS's sample, addressed to this stage: account, region, name and ARN substituted, nothing else. */
  const label = (over: Record<string, unknown> = {}, detail: Record<string, unknown> = {}) => {
    const base = fixture('secret-label-updated.json')
    return {
      ...base,
      account: ACCOUNT,
      region: REGION,
      resources: [arn],
      ...over,
      detail: { ...(base['detail'] as object), name, ...detail },
    }
  }
  const rotation = (over: Record<string, unknown> = {}, detail: Record<string, unknown> = {}) => {
    const base = fixture('rotation-succeeded.json')
    return {
      ...base,
      account: ACCOUNT,
      region: REGION,
      ...over,
      detail: { ...(base['detail'] as object), additionalEventData: { SecretId: arn }, ...detail },
    }
  }

  it('Secret Label Updated: matches the sample, and none of its look-alikes', () => {
    const events = {
      'the sample, AWSCURRENT': label(),
      AWSPREVIOUS: label({}, { labelUpdated: 'AWSPREVIOUS' }),
      AWSPENDING: label({}, { labelUpdated: 'AWSPENDING' }),
      'a custom label': label({}, { labelUpdated: 'BLUE' }),
      'another account': label({ account: '999999999999' }),
      'another region': label({ region: 'eu-west-1' }),
      'another source': label({ source: 'custom.secretsmanager' }),
      'a secret of another stage': label({}, { name: 'secret-broker/prod/orders/db' }),
      'a secret outside the stack': label({}, { name: 'someone-else/db' }),
      'a CloudTrail RotationSucceeded': rotation(),
    }
    const results = matches(labelUpdatedPattern(plan), Object.values(events))
    expect(Object.fromEntries(Object.keys(events).map((k, i) => [k, results[i]]))).toEqual({
      'the sample, AWSCURRENT': true,
      AWSPREVIOUS: false,
      AWSPENDING: false,
      'a custom label': false,
      'another account': false,
      'another region': false,
      'another source': false,
      'a secret of another stage': false,
      'a secret outside the stack': false,
      'a CloudTrail RotationSucceeded': false,
    })
  })

  it('RotationSucceeded: matches the CloudTrail service event for a stage secret, and no look-alike', () => {
    const other = (secret: string) => ({ additionalEventData: { SecretId: secret } })
    const events = {
      RotationSucceeded: rotation(),
      RotationFailed: rotation({}, { eventName: 'RotationFailed' }),
      RotationStarted: rotation({}, { eventName: 'RotationStarted' }),
      'an API call (PutSecretValue)': rotation(
        { 'detail-type': 'AWS API Call via CloudTrail' },
        { eventName: 'PutSecretValue' },
      ),
      'another account': rotation({ account: '999999999999' }),
      'a secret of another account': rotation({}, other(arn.replace(ACCOUNT, '999999999999'))),
      'a secret of another region': rotation({}, other(arn.replace(REGION, 'eu-west-1'))),
      'a secret of another stage': rotation({}, other(arn.replace('/local/', '/prod/'))),
      'a Secret Label Updated': label(),
    }
    const results = matches(rotationSucceededPattern(plan), Object.values(events))
    expect(Object.fromEntries(Object.keys(events).map((k, i) => [k, results[i]]))).toEqual({
      RotationSucceeded: true,
      RotationFailed: false,
      RotationStarted: false,
      'an API call (PutSecretValue)': false,
      'another account': false,
      'a secret of another account': false,
      'a secret of another region': false,
      'a secret of another stage': false,
      'a Secret Label Updated': false,
    })
  })
})

describe('the register in DynamoDB (moto)', () => {
  let moto: MotoServer
  let db: DynamoDBClient
  const TABLE = 'secret-broker-test-register'
  beforeAll(async () => {
    moto = await startMoto()
    db = new DynamoDBClient({ region: REGION, endpoint: moto.endpoint, credentials: MOTO_CREDENTIALS })
    await db.send(
      new CreateTableCommand({
        TableName: TABLE,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      }),
    )
  }, 60_000)
  afterAll(async () => {
    db.destroy()
    await moto.stop()
  })

  const T0 = Date.UTC(2026, 10, 30, 12, 0, 0)
  const change = (over: Partial<RegisterChange>): RegisterChange => ({
    secretName: 'a',
    secretArn: undefined,
    event: 'Secret Label Updated',
    versionId: '11111111-1111-4111-8111-111111111111',
    at: T0,
    eventId: 'e1',
    ...over,
  })

  it('records a move once, bumps the generation with it, and never lets an older event overwrite a newer one', async () => {
    const writer = createRegisterWriter(db, TABLE, () => T0)
    const reader = createRegisterReader(db, TABLE)
    expect(await reader.readGeneration()).toBe(0)
    expect(await writer.record(change({}))).toBe('recorded')
    expect(await writer.record(change({}))).toBe('superseded') // redelivered
    const v2 = '22222222-2222-4222-8222-222222222222'
    expect(await writer.record(change({ versionId: v2, at: T0 + 60_000, eventId: 'e2' }))).toBe('recorded')
    expect(await writer.record(change({ at: T0 + 30_000, eventId: 'e-late' }))).toBe('superseded') // late, older
    expect(await reader.readGeneration()).toBe(2)
    expect((await reader.readItems(['a', 'unknown'])).get('a')).toEqual({
      rev: 2,
      versionId: v2,
      movedAt: T0 + 60_000,
      lastEvent: 'Secret Label Updated',
      changedAt: T0 + 60_000,
    })
    const raw = await db.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'secret#a' } } }))
    // The TTL attribute: 400 days after the write, in epoch seconds.
    expect(Number(raw.Item?.['expiresAt']?.N)).toBe(Math.floor(T0 / 1000) + 400 * 86_400)
  })

  it('records a RotationSucceeded only when no label move it could be reporting was recorded', async () => {
    const writer = createRegisterWriter(db, TABLE, () => T0)
    const reader = createRegisterReader(db, TABLE)
    await writer.record(change({ secretName: 'b', eventId: 'b1' }))
    const covered = change({
      secretName: 'b',
      event: 'RotationSucceeded',
      versionId: undefined,
      at: T0 + 3000,
      eventId: 'b2',
    })
    expect(await writer.record(covered)).toBe('superseded')
    const later = change({
      secretName: 'b',
      event: 'RotationSucceeded',
      versionId: undefined,
      at: T0 + ROTATION_COVERED_BY_LABEL_MS + 1,
      eventId: 'b3',
    })
    expect(await writer.record(later)).toBe('recorded')
    expect((await reader.readItems(['b'])).get('b')).toMatchObject({
      rev: 2,
      lastEvent: 'RotationSucceeded',
      versionId: '11111111-1111-4111-8111-111111111111',
    })
  })

  it('reads more than one BatchGetItem holds (100 keys)', async () => {
    const writer = createRegisterWriter(db, TABLE, () => T0)
    const names = Array.from({ length: 130 }, (_, i) => `many/${i}`)
    for (const n of names.filter((_, i) => i % 10 === 0))
      await writer.record(change({ secretName: n, eventId: n }))
    const items = await createRegisterReader(db, TABLE).readItems(names)
    expect([...items.keys()].sort()).toEqual(names.filter((_, i) => i % 10 === 0).sort())
  })

  it('classifies a failure: a missing table is unavailable', async () => {
    await expect(createRegisterReader(db, 'no-such-table').readGeneration()).rejects.toMatchObject({
      name: 'RegisterFailure',
      kind: 'unavailable',
    })
  })
})
