import {
  BatchGetItemCommand,
  GetItemCommand,
  TransactWriteItemsCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb'
import { isThrottlingError } from '@smithy/core/retry'
import {
  REGISTER_ATTRIBUTES as A,
  REGISTER_EVENTS,
  REGISTER_GENERATION_KEY,
  REGISTER_ITEM_TTL_DAYS,
  REGISTER_KEY_ATTRIBUTE,
  REGISTER_TTL_ATTRIBUTE,
  registerSecretKey,
  ROTATION_COVERED_BY_LABEL_MS,
  type RegisterChange,
  type RegisterEvent,
  type RegisterItem,
} from '../../contract/register'

/**
 * The invalidation register in DynamoDB (layout: contract/register.ts). The only file that sends DynamoDB
 * commands. Readers (the HTTP functions) get `GetItem`/`BatchGetItem`, eventually consistent (half the
 * price, and a change is a hint that may arrive a moment late); the writer (the invalidation function) gets
 * one `TransactWriteItems` of two updates per change. Each side's IAM role allows exactly its own calls.
 */
export type RegisterFailureKind = 'throttled' | 'unavailable'

/** A register call that failed, classified once: throttled (the SDK's own classification) or unavailable. */
export class RegisterFailure extends Error {
  constructor(
    readonly kind: RegisterFailureKind,
    options?: { cause?: unknown },
  ) {
    super(`invalidation register ${kind}`, options)
    this.name = 'RegisterFailure'
  }
}

export function classifyRegisterError(err: unknown): RegisterFailure {
  if (err instanceof RegisterFailure) return err
  const throttled =
    typeof err === 'object' &&
    err !== null &&
    isThrottlingError(err as Parameters<typeof isThrottlingError>[0])
  return new RegisterFailure(throttled ? 'throttled' : 'unavailable', { cause: err })
}

export interface RegisterReader {
  /** The generation counter; 0 when it was never written. */
  readGeneration(signal?: AbortSignal): Promise<number>
  /** The items of these secrets (by name) that exist. */
  readItems(secretNames: readonly string[], signal?: AbortSignal): Promise<ReadonlyMap<string, RegisterItem>>
}

export interface RegisterWriter {
  /** `superseded`: this event, or a later move of the same secret, is recorded already; nothing changed. */
  record(change: RegisterChange): Promise<'recorded' | 'superseded'>
}

/** BatchGetItem takes at most 100 keys; unprocessed keys are asked for again this many times. */
const BATCH_GET_MAX_KEYS = 100
const BATCH_GET_ROUNDS = 3

const key = (pk: string): Record<string, AttributeValue> => ({ [REGISTER_KEY_ATTRIBUTE]: { S: pk } })
const num = (v: AttributeValue | undefined): number | undefined =>
  v?.N === undefined ? undefined : Number(v.N)

function toItem(raw: Record<string, AttributeValue>): RegisterItem | undefined {
  const rev = num(raw[A.rev])
  const changedAt = num(raw[A.changedAt])
  const lastEvent = raw[A.lastEvent]?.S
  if (rev === undefined || changedAt === undefined || lastEvent === undefined) return undefined
  if (!(REGISTER_EVENTS as readonly string[]).includes(lastEvent)) return undefined
  return {
    rev,
    versionId: raw[A.versionId]?.S,
    movedAt: num(raw[A.movedAt]),
    lastEvent: lastEvent as RegisterEvent,
    changedAt,
  }
}

async function classified<T>(send: () => Promise<T>): Promise<T> {
  try {
    return await send()
  } catch (err) {
    throw classifyRegisterError(err)
  }
}

export function createRegisterReader(client: DynamoDBClient, table: string): RegisterReader {
  const opts = (signal: AbortSignal | undefined) => (signal === undefined ? {} : { abortSignal: signal })
  return {
    async readGeneration(signal) {
      const out = await classified(() =>
        client.send(
          new GetItemCommand({
            TableName: table,
            Key: key(REGISTER_GENERATION_KEY),
            ProjectionExpression: A.seq,
            ConsistentRead: false,
          }),
          opts(signal),
        ),
      )
      return num(out.Item?.[A.seq]) ?? 0
    },
    async readItems(secretNames, signal) {
      const items = new Map<string, RegisterItem>()
      const nameOf = new Map(secretNames.map((n) => [registerSecretKey(n), n]))
      const keys = [...nameOf.keys()]
      for (let i = 0; i < keys.length; i += BATCH_GET_MAX_KEYS) {
        let pending: Record<string, AttributeValue>[] = keys.slice(i, i + BATCH_GET_MAX_KEYS).map(key)
        for (let round = 0; pending.length > 0; round++) {
          // DynamoDB answers part of a batch under load; what is still unprocessed after a few rounds is a throttle.
          if (round === BATCH_GET_ROUNDS) throw new RegisterFailure('throttled')
          const out = await classified(() =>
            client.send(
              new BatchGetItemCommand({
                RequestItems: { [table]: { Keys: pending, ConsistentRead: false } },
              }),
              opts(signal),
            ),
          )
          for (const raw of out.Responses?.[table] ?? []) {
            const name = nameOf.get(raw[REGISTER_KEY_ATTRIBUTE]?.S ?? '')
            const item = toItem(raw)
            if (name !== undefined && item !== undefined) items.set(name, item)
          }
          pending = out.UnprocessedKeys?.[table]?.Keys ?? []
        }
      }
      return items
    },
  }
}

function secretUpdate(table: string, change: RegisterChange, expiresAt: number) {
  const values: Record<string, AttributeValue> = {
    ':one': { N: '1' },
    ':at': { N: String(change.at) },
    ':event': { S: change.event },
    ':id': { S: change.eventId },
    ':ttl': { N: String(expiresAt) },
  }
  const set = [`${A.lastEvent} = :event`, `${A.changedAt} = :at`, `${A.eventId} = :id`]
  set.push(`${REGISTER_TTL_ATTRIBUTE} = :ttl`)
  if (change.secretArn !== undefined) {
    values[':arn'] = { S: change.secretArn }
    set.push(`${A.secretArn} = :arn`)
  }
  const notThisEvent = `(attribute_not_exists(${A.eventId}) OR ${A.eventId} <> :id)`
  let condition: string
  if (change.versionId !== undefined) {
    values[':version'] = { S: change.versionId }
    set.push(`${A.versionId} = :version`, `${A.movedAt} = :at`)
    // Events can arrive out of order: an older move never overwrites a newer one.
    condition = `(attribute_not_exists(${A.movedAt}) OR ${A.movedAt} <= :at) AND ${notThisEvent}`
  } else {
    // RotationSucceeded: nothing to record if the label move it reports is recorded already.
    values[':coveredFrom'] = { N: String(change.at - ROTATION_COVERED_BY_LABEL_MS) }
    condition =
      `(attribute_not_exists(${A.movedAt}) OR ${A.movedAt} < :coveredFrom) AND ` +
      `(attribute_not_exists(${A.changedAt}) OR ${A.changedAt} <= :at) AND ${notThisEvent}`
  }
  return {
    Update: {
      TableName: table,
      Key: key(registerSecretKey(change.secretName)),
      UpdateExpression: `SET ${set.join(', ')} ADD ${A.rev} :one`,
      ConditionExpression: condition,
      ExpressionAttributeValues: values,
    },
  }
}

export function createRegisterWriter(
  client: DynamoDBClient,
  table: string,
  now: () => number = Date.now,
): RegisterWriter {
  return {
    async record(change) {
      const expiresAt = Math.floor(now() / 1000) + REGISTER_ITEM_TTL_DAYS * 86_400
      try {
        // One transaction: the secret's item and the generation move together or not at all, so a retried
        // event can never leave an item changed behind a generation no reader will notice.
        await client.send(
          new TransactWriteItemsCommand({
            TransactItems: [
              secretUpdate(table, change, expiresAt),
              {
                Update: {
                  TableName: table,
                  Key: key(REGISTER_GENERATION_KEY),
                  UpdateExpression: `SET ${REGISTER_TTL_ATTRIBUTE} = :ttl ADD ${A.seq} :one`,
                  ExpressionAttributeValues: { ':one': { N: '1' }, ':ttl': { N: String(expiresAt) } },
                },
              },
            ],
          }),
        )
        return 'recorded'
      } catch (err) {
        const e = err as { name?: string; CancellationReasons?: { Code?: string }[] }
        if (
          e.name === 'TransactionCanceledException' &&
          e.CancellationReasons?.[0]?.Code === 'ConditionalCheckFailed'
        )
          return 'superseded'
        throw classifyRegisterError(err)
      }
    },
  }
}
