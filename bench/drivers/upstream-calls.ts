import {
  BatchGetItemCommand,
  DynamoDBClient,
  GetItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb'
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager'
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda'
import { registerSecretKey } from '../../src/contract/register'
import { apiGatewayEvent, BENCH_SECRET_NAME, GET_SECRET_EVENT, lambdaContext } from '../lib/events'

/**
 * Child process: how many Secrets Manager calls one container makes. Every SecretsManagerClient in this
 * process (the broker's, Powertools' default one, middy's, the no-cache peer's) answers from an in-memory
 * secret through a patched `send` that counts commands, so the real handler code runs unchanged.
 *
 * `hour`: one simulated hour at 10 req/s, with virtual time: Date.now() and `new Date()` are stubbed (the
 * broker's systemClock, Powertools' ExpirableValue and middy's processCache read them) and the global
 * setTimeout/clearTimeout run on the same virtual clock (middy's refresh timer). The secret rotates once,
 * at 33:07.65. Also reports how long each target kept serving the old version after the rotation.
 * The invalidation register (DynamoDB) is answered from memory the same way, counting calls and read units;
 * the invalidation function records the move `BENCH_EVENT_DELAY_MS` after it (EventBridge → Lambda →
 * DynamoDB), as the generation counter and the secret's item. `BENCH_RATE` sets the requests per second.
 * `cold-burst`: real time; 100 concurrent requests to a freshly loaded module, each upstream call taking
 * 5 ms (moto's median, research §9).
 * argv: <target> <mode>; configuration through env (set by the parent).
 */
type Handler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>
export type CallsTarget = 'broker' | 'powertools' | 'middy' | 'no-cache'
export type CallsMode = 'hour' | 'cold-burst'

export interface CallsMessage {
  readonly kind: 'calls'
  readonly target: CallsTarget
  readonly mode: CallsMode
  readonly requests: number
  readonly errors: number
  readonly getSecretValue: number
  readonly describeSecret: number
  /** Calls to the invalidation register, and the read request units they consumed (eventually consistent). */
  readonly registerGetItem: number
  readonly registerBatchGetItem: number
  readonly registerReadUnits: number
  /** Seconds after the rotation during which the old version was still served (hour mode). */
  readonly servedOldVersionForS: number | undefined
  /** Seconds from the rotation to the first answer with the new version (hour mode). */
  readonly firstNewVersionAfterS: number | undefined
  readonly servedVersions: Record<string, number>
}

const START = Date.UTC(2026, 10, 28, 12, 0, 0)
const HOUR_MS = 3_600_000
const INTERVAL_MS = 1000 / Number(process.env['BENCH_RATE'] ?? '10')
/** From the AWSCURRENT move to the register's update (EventBridge delivery, the function, the write). */
const EVENT_DELAY_MS = Number(process.env['BENCH_EVENT_DELAY_MS'] ?? '1000')
/** 33:07.65: a moment aligned with no TTL, so no target gets a lucky (or unlucky) phase. */
const ROTATE_AT_MS = 1_987_650
const UPSTREAM_DELAY_MS = 5

const counts = {
  getSecretValue: 0,
  describeSecret: 0,
  registerGetItem: 0,
  registerBatchGetItem: 0,
  registerReadUnits: 0,
}
const secret = { current: 'v1', previous: undefined as string | undefined, changedAt: START }
/** The register as the invalidation function leaves it: the generation, and the secret's item once it moved. */
const register = { generation: 0, item: undefined as Record<string, AttributeValue> | undefined }

function recordMove(at: number): void {
  const rev = Number(register.item?.['rev']?.N ?? '0') + 1
  register.item = {
    pk: { S: registerSecretKey(BENCH_SECRET_NAME) },
    rev: { N: String(rev) },
    versionId: { S: secret.current },
    movedAt: { N: String(secret.changedAt) },
    lastEvent: { S: 'Secret Label Updated' },
    changedAt: { N: String(at) },
  }
  register.generation += 1
}

/** Eventually consistent reads of items under 4 KB: half a read request unit each, found or not. */
function answerRegister(command: unknown): unknown {
  if (command instanceof GetItemCommand) {
    counts.registerGetItem++
    counts.registerReadUnits += 0.5
    return { Item: { pk: { S: 'generation' }, seq: { N: String(register.generation) } }, $metadata: {} }
  }
  if (command instanceof BatchGetItemCommand) {
    counts.registerBatchGetItem++
    const [table, request] = Object.entries(command.input.RequestItems ?? {})[0] ?? ['', { Keys: [] }]
    const keys = request.Keys ?? []
    counts.registerReadUnits += 0.5 * keys.length
    const found = keys.filter((k) => register.item !== undefined && k['pk']?.S === register.item['pk']?.S)
    return { Responses: { [table]: found.map(() => register.item) }, UnprocessedKeys: {}, $metadata: {} }
  }
  throw new Error(`unexpected command ${(command as object).constructor.name}`)
}

function rotate(at: number): void {
  secret.previous = secret.current
  secret.current = `v${Number(secret.current.slice(1)) + 1}`
  secret.changedAt = at
}

function answer(command: unknown): unknown {
  const name = BENCH_SECRET_NAME
  const arn = `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}-AbCdEf`
  if (command instanceof GetSecretValueCommand) {
    counts.getSecretValue++
    return {
      ARN: arn,
      Name: name,
      VersionId: secret.current,
      VersionStages: ['AWSCURRENT'],
      SecretString: JSON.stringify({
        username: 'orders_app',
        password: `password-of-${secret.current}`,
        version: secret.current,
      }),
      CreatedDate: new Date(secret.changedAt),
      $metadata: { httpStatusCode: 200 },
    }
  }
  if (command instanceof DescribeSecretCommand) {
    counts.describeSecret++
    const stages: Record<string, string[]> = { [secret.current]: ['AWSCURRENT'] }
    if (secret.previous !== undefined) stages[secret.previous] = ['AWSPREVIOUS']
    return {
      ARN: arn,
      Name: name,
      VersionIdsToStages: stages,
      LastChangedDate: new Date(secret.changedAt),
      LastRotatedDate: new Date(secret.changedAt),
      $metadata: { httpStatusCode: 200 },
    }
  }
  throw new Error(`unexpected command ${(command as object).constructor.name}`)
}

function patchClient(delayMs: number): void {
  const patch = (
    proto: { send: (command: unknown) => Promise<unknown> },
    respond: (c: unknown) => unknown,
  ) => {
    proto.send = function send(command: unknown): Promise<unknown> {
      const out = respond(command)
      if (delayMs === 0) return Promise.resolve(out)
      return new Promise((resolve) => realSetTimeout(() => resolve(out), delayMs))
    }
  }
  patch(SecretsManagerClient.prototype as never, answer)
  patch(DynamoDBClient.prototype as never, answerRegister)
}

const realSetTimeout = globalThis.setTimeout
const realClearTimeout = globalThis.clearTimeout
let virtualNow = START
const virtualTimers = new Map<number, { due: number; fire: () => void }>()

class VirtualTimeout {
  constructor(readonly id: number) {}
  ref(): this {
    return this
  }
  unref(): this {
    return this
  }
  hasRef(): boolean {
    return false
  }
  [Symbol.toPrimitive](): number {
    return this.id
  }
}

function installVirtualTime(): void {
  let nextId = 1
  // Both `Date.now()` and `new Date()` read the virtual clock (Powertools sets expiry with `new Date()`).
  const RealDate = Date
  class VirtualDate extends RealDate {
    constructor(...args: unknown[]) {
      if (args.length === 0) super(virtualNow)
      else super(...(args as [string | number | Date]))
    }
    static override now(): number {
      return virtualNow
    }
  }
  Object.assign(globalThis, { Date: VirtualDate })
  const fakeSetTimeout = (
    fn: (...args: unknown[]) => void,
    ms?: number,
    ...args: unknown[]
  ): VirtualTimeout => {
    const id = nextId++
    virtualTimers.set(id, { due: virtualNow + Math.max(1, ms ?? 0), fire: () => fn(...args) })
    return new VirtualTimeout(id)
  }
  const fakeClearTimeout = (handle: unknown): void => {
    if (handle instanceof VirtualTimeout) virtualTimers.delete(handle.id)
    else realClearTimeout(handle as Parameters<typeof realClearTimeout>[0])
  }
  Object.assign(globalThis, { setTimeout: fakeSetTimeout, clearTimeout: fakeClearTimeout })
}

/** Move virtual time forward, firing due timers in order and letting their promises settle. */
async function advanceTo(t: number): Promise<void> {
  for (;;) {
    let next: [number, { due: number; fire: () => void }] | undefined
    for (const entry of virtualTimers)
      if (entry[1].due <= t && (next === undefined || entry[1].due < next[1].due)) next = entry
    if (next === undefined) break
    virtualNow = next[1].due
    virtualTimers.delete(next[0])
    next[1].fire()
    await new Promise((r) => setImmediate(r))
  }
  virtualNow = t
}

async function loadTarget(target: CallsTarget): Promise<Handler> {
  switch (target) {
    case 'broker':
      return (await import('../../src/handlers/get-secret')).handler
    case 'powertools':
      return (await import('../peers/powertools')).handler
    case 'middy':
      return (await import('../peers/middy-secrets-manager')).handler as unknown as Handler
    case 'no-cache':
      return (await import('../peers/no-cache')).handler
  }
}

function versionServed(res: APIGatewayProxyResult): string {
  if (res.statusCode !== 200) return `status-${res.statusCode}`
  const body = JSON.parse(res.body) as { value?: { version?: string } }
  return body.value?.version ?? 'unknown'
}

async function runHour(handler: Handler): Promise<Omit<CallsMessage, 'kind' | 'target' | 'mode'>> {
  const served: Record<string, number> = {}
  let errors = 0
  let rotated = false
  let recorded = false
  let lastOldServedAt: number | undefined
  let firstNewServedAt: number | undefined
  const requests = Math.round(HOUR_MS / INTERVAL_MS)
  for (let i = 0; i < requests; i++) {
    const t = START + i * INTERVAL_MS
    if (!rotated && t - START >= ROTATE_AT_MS) {
      await advanceTo(START + ROTATE_AT_MS)
      rotate(Date.now())
      rotated = true
    }
    if (rotated && !recorded && t - START >= ROTATE_AT_MS + EVENT_DELAY_MS) {
      await advanceTo(START + ROTATE_AT_MS + EVENT_DELAY_MS)
      recordMove(Date.now())
      recorded = true
    }
    await advanceTo(t)
    const id = `sim-${i}`
    const res = await handler(apiGatewayEvent(GET_SECRET_EVENT, id), lambdaContext('bench-calls', id))
    const version = versionServed(res)
    served[version] = (served[version] ?? 0) + 1
    if (res.statusCode !== 200) errors++
    if (rotated && version === 'v1') lastOldServedAt = t
    if (rotated && version === 'v2') firstNewServedAt ??= t
  }
  await advanceTo(START + HOUR_MS)
  const servedOldVersionForS =
    lastOldServedAt === undefined ? 0 : (lastOldServedAt - (START + ROTATE_AT_MS)) / 1000
  const firstNewVersionAfterS =
    firstNewServedAt === undefined ? undefined : (firstNewServedAt - (START + ROTATE_AT_MS)) / 1000
  return {
    requests,
    errors,
    ...counts,
    servedOldVersionForS,
    firstNewVersionAfterS,
    servedVersions: served,
  }
}

async function runColdBurst(handler: Handler): Promise<Omit<CallsMessage, 'kind' | 'target' | 'mode'>> {
  const results = await Promise.all(
    Array.from({ length: 100 }, (_, i) =>
      handler(apiGatewayEvent(GET_SECRET_EVENT, `burst-${i}`), lambdaContext('bench-calls', `burst-${i}`)),
    ),
  )
  const served: Record<string, number> = {}
  for (const res of results) served[versionServed(res)] = (served[versionServed(res)] ?? 0) + 1
  return {
    requests: 100,
    errors: results.filter((r) => r.statusCode !== 200).length,
    ...counts,
    servedOldVersionForS: undefined,
    firstNewVersionAfterS: undefined,
    servedVersions: served,
  }
}

async function main(): Promise<void> {
  const [target, mode] = process.argv.slice(2) as [CallsTarget | undefined, CallsMode | undefined]
  if (target === undefined || (mode !== 'hour' && mode !== 'cold-burst'))
    throw new Error('usage: upstream-calls <target> <hour|cold-burst>')
  patchClient(mode === 'hour' ? 0 : UPSTREAM_DELAY_MS)
  if (mode === 'hour') installVirtualTime()
  const handler = await loadTarget(target)
  const result = mode === 'hour' ? await runHour(handler) : await runColdBurst(handler)
  const message: CallsMessage = { kind: 'calls', target, mode, ...result }
  process.send?.(message, () => process.exit(0))
}

main().catch((err: unknown) => {
  process.stderr.write(
    `upstream-calls driver: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  )
  process.exit(1)
})
