import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager'
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda'
import { mockClient } from 'aws-sdk-client-mock'
import fc from 'fast-check'
import { createMemoryAuditSink, type AuditRecord } from '../../src/lib/audit'
import { createHttpDeps } from '../../src/lib/deps'
import { createMemoryLog } from '../../src/lib/logger'
import { withHttpStack, type HttpHandler } from '../../src/lib/middleware/http-stack'
import { batchGetSecrets } from '../../src/handlers/batch-get-secrets'
import { getSecret } from '../../src/handlers/get-secret'
import { health } from '../../src/handlers/health'
import { listSecrets } from '../../src/handlers/list-secrets'
import { whoami } from '../../src/handlers/whoami'
import { startLocalStack, type LocalStack } from '../../scripts/lib/local-stack'
import { readAuditFile } from '../../scripts/lib/audit-file'
import { ACCOUNT, aLambdaContext, anHttpConfig } from '../support/builders'
import { FakeClock } from '../support/fake-clock'
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy'
import {
  captureOutput,
  makeCanary,
  rawRequest,
  readIfExists,
  recordFigures,
  scanForCanaries,
  signRaw,
  stableHeaders,
  type RawResponse,
} from './support/adversarial'

jest.mock('../../src/lib/config', () => {
  // The handler modules build production deps at import; give them a valid environment-free config.
  const actual = jest.requireActual<typeof import('../../src/lib/config')>('../../src/lib/config')
  const { anHttpConfig: cfg } =
    jest.requireActual<typeof import('../support/builders')>('../support/builders')
  return { ...actual, loadHttpConfig: () => cfg() }
})

/**
 * Hostile input over the whole HTTP surface (T3, T4, T6, T9, T10, T15). Most cases run in-process through
 * the real middy stack with API Gateway events (AWS_IAM identities), a Secrets Manager client mocked at the
 * SDK boundary, a memory audit sink and a memory log; a smaller sample goes over real HTTP through
 * serverless-offline (local SigV4) with the counting proxy in front of moto.
 *
 * Properties, for every case: no 5xx; Secrets Manager is only ever asked for a secret the caller may read,
 * and only when the request named it exactly; every 404 is byte-identical (body, and headers but for
 * X-Request-Id/Date) whether the name is unknown or not allowed; exactly one audit record per request,
 * which takes the source IP from the gateway (never X-Forwarded-For) and holds no value; no canary in any
 * log line, audit record, error body or captured output.
 */
const TARGET_IN_PROCESS_CASES = { getSecret: 6000, batch: 2500, otherRoutes: 1000, secretValues: 600 }
const HTTP_SAMPLE = 300

// ---- the in-process world: catalog, callers, secrets -------------------------------------------------
const role = (name: string, account = ACCOUNT) => `arn:aws:iam::${account}:role/${name}`
const session = (name: string, account = ACCOUNT) =>
  `arn:aws:sts::${account}:assumed-role/${name}/s-${name.length}`
const ORDERS = role('orders-service')
const BILLING = role('billing-service')
const arnFor = (name: string, suffix: string) =>
  `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:${name}-${suffix}`

const CATALOG = [
  { name: 'orders/db', secretId: arnFor('orders/db', 'AbCdEf'), readers: [ORDERS] },
  { name: 'billing/key', secretId: arnFor('billing/key', 'GhIjKl'), readers: [BILLING, ORDERS] },
  { name: 'team-a/db', secretId: arnFor('team-a/db', 'MnOpQr'), readers: [ORDERS] },
  { name: 'team-ab/db', secretId: arnFor('team-ab/db', 'StUvWx'), readers: [BILLING] },
  { name: 'app/db-AbCdEf', secretId: arnFor('app/db-AbCdEf', 'YzAbCd'), readers: [BILLING] },
  { name: 'x.y_z+=@-/v1', secretId: arnFor('x.y_z+=@-/v1', 'EfGhIj'), readers: [ORDERS, BILLING] },
] as const
const CATALOG_NAMES = CATALOG.map((e) => e.name)
const canaries = new Map<string, string>(CATALOG.map((e) => [e.secretId, makeCanary(`fuzz-${e.name}`)]))

/** userArn as API Gateway reports it → the principal the broker should resolve (undefined: refused). */
const CALLERS: readonly { userArn: string | null; principal: string | undefined }[] = [
  { userArn: session('orders-service'), principal: ORDERS },
  { userArn: ORDERS, principal: ORDERS },
  { userArn: session('billing-service'), principal: BILLING },
  { userArn: BILLING, principal: BILLING },
  { userArn: role('nobody'), principal: role('nobody') },
  { userArn: role('orders-service', '999999999999'), principal: undefined },
  { userArn: session('orders-service', '999999999999'), principal: undefined },
  { userArn: `arn:aws:sts::${ACCOUNT}:federated-user/bob`, principal: undefined },
  { userArn: `arn:aws:iam::${ACCOUNT}:root`, principal: undefined },
  // A role with the path /orders-service/: a different principal than role/orders-service.
  {
    userArn: `arn:aws:iam::${ACCOUNT}:role/orders-service/extra`,
    principal: `arn:aws:iam::${ACCOUNT}:role/orders-service/extra`,
  },
  { userArn: null, principal: undefined },
  { userArn: '', principal: undefined },
]
const allowedEntries = (principal: string | undefined) =>
  CATALOG.filter((e) => principal !== undefined && (e.readers as readonly string[]).includes(principal))

// ---- arbitraries ----------------------------------------------------------------------------------------
const FULLWIDTH = (s: string) => s.replace(/[!-~]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0))
const HOMOGLYPHS = (s: string) => s.replace(/o/g, '\u043e').replace(/a/g, '\u0430').replace(/e/g, '\u0435')
const mutations: readonly ((n: string, i: number) => string)[] = [
  (n) => n.toUpperCase(),
  (n) => `./${n}`,
  (n) => `${n}/`,
  (n) => `/${n}`,
  (n) => `${n.split('/')[0] ?? ''}/../${n}`,
  (n) => `team-a/../${n}`,
  (n) => n.replace('/', '//'),
  (n) => n.replace(/\//g, '%2F'),
  (n) => n.replace(/\//g, '%252F'),
  (n) => n.replace(/\//g, '\uff0f'),
  FULLWIDTH,
  HOMOGLYPHS,
  (n, i) => `${n.slice(0, i % (n.length + 1))}\u0000${n.slice(i % (n.length + 1))}`,
  (n, i) => `${n.slice(0, i % (n.length + 1))}\r\n${n.slice(i % (n.length + 1))}`,
  (n) => `${n}\n{"audit":"secret.access","outcome":"allowed"}`,
  (n) => `${n} `,
  (n) => `${n}-AbCdEf`,
  (n) => n.slice(0, -1),
  (n) => `${n}*`,
  (n) => n.split('/')[0] ?? '',
  (n) => `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:${n}`,
  (n) => CATALOG.find((e) => e.name === n)?.secretId ?? n,
  (n) => `arn:aws:secretsmanager:us-east-1:999999999999:secret:${n}-AbCdEf`,
  (n) => `${n}?versionStage=AWSPENDING`,
  (n) => `${n}#frag`,
  (n) => n.normalize('NFD') + '\u0301',
  (n) => `${n}\u200b`,
  (n) => n.repeat(Math.ceil(10_240 / n.length)),
]
const nameArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...CATALOG_NAMES) },
  {
    weight: 6,
    arbitrary: fc
      .tuple(fc.constantFrom(...CATALOG_NAMES), fc.nat(mutations.length - 1), fc.nat(64))
      .map(([n, m, i]) => (mutations[m] as (n: string, i: number) => string)(n, i)),
  },
  {
    weight: 2,
    arbitrary: fc.string({
      unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzAB0189_+=.@-/'.split('')),
      minLength: 1,
      maxLength: 40,
    }),
  },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 48 }) },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom('a', '/', '%2F', '..', 'A\u0000')
      .map((c) => c.repeat(Math.ceil(10_240 / c.length))),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '',
      '.',
      '..',
      '/',
      '//',
      'arn:',
      'arn:aws',
      '%',
      '%00',
      '%u002F',
      '\\',
      'orders\\db',
      'rds!cluster-abc',
    ),
  },
)
const ipArb = fc.oneof(fc.ipV4(), fc.ipV6())
const headerValueArb = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constant('x'.repeat(16_384)),
)
const headersArb = fc
  .record(
    {
      'if-none-match': fc.oneof(
        fc.constantFrom('*', '"v-AbCdEf"', 'W/"v-AbCdEf"', '"v-AbCdEf", "x"', ''),
        headerValueArb,
      ),
      'cache-control': fc.oneof(
        fc.constantFrom(
          'no-cache',
          'max-age=0',
          'no-store',
          'max-age=0, no-cache',
          'NO-CACHE',
          'only-if-cached',
        ),
        headerValueArb,
      ),
      'x-forwarded-for': fc.oneof(
        ipArb,
        fc.array(ipArb, { minLength: 2, maxLength: 4 }).map((a) => a.join(', ')),
        headerValueArb,
      ),
      'user-agent': headerValueArb,
      'content-type': fc.oneof(
        fc.constantFrom(
          'application/json',
          'application/json; charset=utf-8',
          'text/plain',
          'APPLICATION/JSON',
          'application/jsonx',
        ),
        headerValueArb,
      ),
      authorization: headerValueArb,
      'x-amz-security-token': headerValueArb,
      'x-amzn-trace-id': headerValueArb,
    },
    { requiredKeys: [] },
  )
  .chain((known) =>
    fc
      .dictionary(
        fc.string({
          unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz-'.split('')),
          minLength: 1,
          maxLength: 12,
        }),
        headerValueArb,
        { maxKeys: 3 },
      )
      .map((extra) => ({ ...extra, ...known })),
  )
const queryArb = fc.option(
  fc.dictionary(fc.string({ maxLength: 12 }), fc.string({ maxLength: 24 }), { minKeys: 1, maxKeys: 3 }),
  { nil: null, freq: 4 },
)
const methodArb = fc.oneof(
  { weight: 8, arbitrary: fc.constant('GET') },
  {
    weight: 2,
    arbitrary: fc.constantFrom('POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH', 'get', 'TRACE', ''),
  },
)
const identityArb = fc.record({
  caller: fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(0, 1, 2, 3, 4, 9) },
    { weight: 1, arbitrary: fc.nat(CALLERS.length - 1) },
  ),
  sourceIp: fc.ipV4(),
  userAgent: fc.option(headerValueArb, { nil: undefined }),
})
const pathStyleArb = fc.constantFrom('raw', 'encoded', 'double-encoded')
const batchBodyArb: fc.Arbitrary<string | null> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.array(nameArb, { minLength: 1, maxLength: 20 }).map((names) => JSON.stringify({ names })),
  },
  {
    weight: 1,
    arbitrary: fc.array(nameArb, { minLength: 21, maxLength: 30 }).map((names) => JSON.stringify({ names })),
  },
  { weight: 1, arbitrary: fc.constantFrom(...CATALOG_NAMES).map((n) => JSON.stringify({ names: [n, n] })) },
  {
    weight: 1,
    arbitrary: fc
      .array(nameArb, { minLength: 1, maxLength: 3 })
      .map((names) => JSON.stringify({ names, versionStage: 'AWSPENDING' })),
  },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 64 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      null,
      '',
      '{"names":',
      '{"names":[]}',
      `{"names":["${'a'.repeat(17_000)}"]}`,
      '{"__proto__":{"names":["orders/db"]}}',
      '{"names":"orders/db"}',
      '{"names":[null]}',
    ),
  },
)

interface CaseInput {
  readonly method: string
  readonly headers: Record<string, string>
  readonly query: Record<string, string> | null
  readonly identity: { caller: number; sourceIp: string; userAgent: string | undefined }
}

function eventFor(
  route: { resource: string; path: string; pathParameters: Record<string, string> | null },
  input: CaseInput,
  body: string | null,
  base64 = false,
): APIGatewayProxyEvent {
  const caller = CALLERS[input.identity.caller] as (typeof CALLERS)[number]
  return {
    resource: route.resource,
    path: route.path,
    httpMethod: input.method,
    headers: input.headers,
    multiValueHeaders: {},
    queryStringParameters: input.query,
    multiValueQueryStringParameters: null,
    pathParameters: route.pathParameters,
    stageVariables: null,
    body: body === null ? null : base64 ? Buffer.from(body).toString('base64') : body,
    isBase64Encoded: base64,
    requestContext: {
      requestId: `fuzz-${++eventSeq}`,
      resourcePath: route.resource,
      identity: {
        userArn: caller.userArn,
        sourceIp: input.identity.sourceIp,
        userAgent: input.identity.userAgent ?? null,
        accountId: ACCOUNT,
      },
    },
  } as unknown as APIGatewayProxyEvent
}
let eventSeq = 0

// ---- the in-process harness -------------------------------------------------------------------------------
const clock = new FakeClock()
const log = createMemoryLog()
const audit = createMemoryAuditSink()
const client = new SecretsManagerClient({ region: 'us-east-1' })
const sm = mockClient(client)
const secretStrings = new Map<string, string>()
const deps = createHttpDeps(
  anHttpConfig({
    catalogJson: JSON.stringify({ secrets: CATALOG }),
    cacheTtlMs: 300_000,
    maxStaleMs: 900_000,
  }),
  {
    clock,
    log,
    auditSink: audit,
    secretsManager: client,
  },
)
const handlers: Record<'getSecret' | 'batch' | 'list' | 'whoami' | 'health', HttpHandler> = {
  getSecret: withHttpStack(getSecret, deps),
  batch: withHttpStack(batchGetSecrets, deps),
  list: withHttpStack(listSecrets, deps),
  whoami: withHttpStack(whoami, deps),
  health: withHttpStack(health, deps, { public: true }),
}
const versionOf = (secretId: string) => `v-${secretId.slice(-6)}`

function installUpstream(): void {
  sm.reset()
  sm.on(GetSecretValueCommand).callsFake((input: { SecretId: string }) => {
    const canary = canaries.get(input.SecretId)
    if (canary === undefined)
      throw new ResourceNotFoundException({
        message: `Secrets Manager can't find ${input.SecretId}`,
        $metadata: {},
      })
    return {
      VersionId: versionOf(input.SecretId),
      SecretString: secretStrings.get(input.SecretId) ?? JSON.stringify({ username: 'u', password: canary }),
    }
  })
  sm.on(DescribeSecretCommand).callsFake((input: { SecretId: string }) => {
    if (!canaries.has(input.SecretId))
      throw new ResourceNotFoundException({ message: 'not found', $metadata: {} })
    return { VersionIdsToStages: { [versionOf(input.SecretId)]: ['AWSCURRENT'] } }
  })
}

const figures = {
  inProcess: { getSecret: 0, batch: 0, otherRoutes: 0, secretValues: 0 },
  statuses: {} as Record<string, number>,
  upstreamCallsForAllowed: 0,
  upstreamCallsOutsideCatalog: 0,
  fiveHundreds: 0,
  http: { cases: 0, statuses: {} as Record<string, number>, upstreamCalls: 0 },
}
const countStatus = (bucket: Record<string, number>, status: number) =>
  (bucket[String(status)] = (bucket[String(status)] ?? 0) + 1)
const errorBodies: string[] = []
let reference404: { body: string; headers: Record<string, string> } | undefined
let referenceItem404: string | undefined

/** Run one event through a handler and check the properties every route shares. */
async function runCase(
  route: keyof typeof handlers,
  event: APIGatewayProxyEvent,
  principal: string | undefined,
): Promise<{ res: APIGatewayProxyResult; record: AuditRecord | undefined; upstreamIds: string[] }> {
  sm.resetHistory()
  const before = audit.records.length
  const res = await handlers[route](event, aLambdaContext())
  const upstreamIds = sm.calls().map((c) => (c.args[0].input as { SecretId: string }).SecretId)
  countStatus(figures.statuses, res.statusCode)
  if (res.statusCode !== 200) errorBodies.push(res.body)
  // No 5xx, ever: the mock upstream never fails.
  expect(res.statusCode).toBeLessThan(500)
  if (res.statusCode >= 500) figures.fiveHundreds += 1
  // Protective headers on every answer, and no CORS.
  expect(res.headers?.['Cache-Control']).toBe('no-store')
  expect(Object.keys(res.headers ?? {}).filter((h) => h.toLowerCase().startsWith('access-control-'))).toEqual(
    [],
  )
  // Upstream only for secrets this caller may read.
  const allowedIds = new Set(allowedEntries(principal).map((e) => e.secretId))
  const outside = upstreamIds.filter((id) => !allowedIds.has(id))
  figures.upstreamCallsOutsideCatalog += outside.length
  figures.upstreamCallsForAllowed += upstreamIds.length - outside.length
  expect(outside).toEqual([])
  // Every 404 is the same 404.
  if (res.statusCode === 404) {
    reference404 ??= { body: res.body, headers: stableHeaders(res.headers ?? {}) }
    expect(res.body).toBe(reference404.body)
    expect(stableHeaders(res.headers ?? {})).toEqual(reference404.headers)
  }
  // Exactly one audit record (health is public and unaudited), with the gateway's source IP.
  const added = audit.records.slice(before)
  if (route === 'health') {
    expect(added).toHaveLength(0)
    return { res, record: undefined, upstreamIds }
  }
  expect(added).toHaveLength(1)
  const record = added[0] as AuditRecord
  expect(record.status).toBe(res.statusCode)
  expect(record.sourceIp).toBe(event.requestContext.identity.sourceIp)
  expect((record.secretName ?? '').length).toBeLessThanOrEqual(256 + 20)
  expect((record.userAgent ?? '').length).toBeLessThanOrEqual(256 + 20)
  expect(record.principal).toBe(principal)
  // The caller sees a canary only in a 200 for a secret it may read.
  for (const [secretId, canary] of canaries) {
    if (!res.body.includes(canary)) continue
    expect(res.statusCode).toBe(200)
    expect(allowedIds.has(secretId)).toBe(true)
  }
  return { res, record, upstreamIds }
}

/** fc.assert, with a counterexample report short enough to read (cases carry 16 KB headers and 10 KB names). */
async function assertProperty<Ts extends unknown[]>(
  property: fc.IAsyncProperty<Ts>,
  numRuns: number,
): Promise<void> {
  const out = await fc.check(property, { numRuns, endOnFailure: true })
  if (!out.failed) return
  const shorten = (v: unknown) =>
    JSON.stringify(v, (_k, x: unknown) =>
      typeof x === 'string' && x.length > 80 ? `${x.slice(0, 60)}…(${x.length} chars)` : x,
    )
  const cause = out.errorInstance instanceof Error ? out.errorInstance.message : String(out.errorInstance)
  throw new Error(
    `property failed after ${out.numRuns} runs (seed ${out.seed}, path ${String(out.counterexamplePath)})\ncounterexample: ${shorten(out.counterexample)}\n${cause.slice(0, 1500)}`,
  )
}

const captured = captureOutput()
beforeAll(() => {
  installUpstream()
})

describe('hostile input, in-process through the real middy stack', () => {
  it(`GET /secrets/{name}: ${TARGET_IN_PROCESS_CASES.getSecret} cases of names, headers, queries, methods and identities`, async () => {
    await assertProperty(
      fc.asyncProperty(
        nameArb,
        pathStyleArb,
        methodArb,
        headersArb,
        queryArb,
        identityArb,
        fc.nat(400_000),
        async (name, style, method, headers, query, identity, advanceMs) => {
          figures.inProcess.getSecret += 1
          clock.advance(advanceMs)
          const caller = CALLERS[identity.caller] as (typeof CALLERS)[number]
          const rawPath =
            style === 'raw'
              ? name
              : style === 'encoded'
                ? encodeURIComponent(name)
                : encodeURIComponent(encodeURIComponent(name))
          const event = eventFor(
            { resource: '/secrets/{name+}', path: `/secrets/${rawPath}`, pathParameters: { name } },
            { method, headers, query, identity },
            null,
          )
          const { res, upstreamIds } = await runCase('getSecret', event, caller.principal)
          const allowed = allowedEntries(caller.principal).some((e) => e.name === name)
          if (upstreamIds.length > 0) {
            // An upstream call happened only for the exact, allowed name, and it was answered.
            expect(allowed).toBe(true)
            expect([200, 304]).toContain(res.statusCode)
          }
          if (res.statusCode === 200) {
            expect(allowed).toBe(true)
            expect(rawPath.includes('%')).toBe(false)
            expect(query).toBeNull()
            expect(JSON.parse(res.body)).toMatchObject({ name })
          }
          if (caller.principal === undefined) expect([401, 403]).toContain(res.statusCode)
        },
      ),
      TARGET_IN_PROCESS_CASES.getSecret,
    )
    expect(figures.inProcess.getSecret).toBeGreaterThanOrEqual(TARGET_IN_PROCESS_CASES.getSecret)
  }, 240_000)

  it(`POST /secrets:batchGet: ${TARGET_IN_PROCESS_CASES.batch} cases of bodies, headers and identities`, async () => {
    await assertProperty(
      fc.asyncProperty(
        batchBodyArb,
        fc.boolean(),
        methodArb,
        headersArb,
        queryArb,
        identityArb,
        async (body, base64, method, headers, query, identity) => {
          figures.inProcess.batch += 1
          clock.advance(1000)
          const caller = CALLERS[identity.caller] as (typeof CALLERS)[number]
          const event = eventFor(
            { resource: '/secrets:batchGet', path: '/secrets:batchGet', pathParameters: null },
            { method, headers, query, identity },
            body,
            base64,
          )
          const { res, upstreamIds } = await runCase('batch', event, caller.principal)
          const asked = new Set<string>()
          if (res.statusCode === 200) {
            const parsed = JSON.parse(res.body) as {
              results: { name: string; status: number; problem?: unknown }[]
            }
            for (const item of parsed.results) {
              if (item.status === 404) {
                const text = JSON.stringify(item.problem)
                referenceItem404 ??= text
                expect(text).toBe(referenceItem404)
              }
              if (item.status === 200)
                expect(allowedEntries(caller.principal).some((e) => e.name === item.name)).toBe(true)
              asked.add(item.name)
            }
          }
          // Each upstream call is for an allowed name the body named exactly.
          for (const id of upstreamIds) {
            const entry = CATALOG.find((e) => e.secretId === id)
            expect(entry !== undefined && asked.has(entry.name)).toBe(true)
          }
        },
      ),
      TARGET_IN_PROCESS_CASES.batch,
    )
    expect(figures.inProcess.batch).toBeGreaterThanOrEqual(TARGET_IN_PROCESS_CASES.batch)
  }, 240_000)

  it(`GET /secrets, /whoami and /health: ${TARGET_IN_PROCESS_CASES.otherRoutes} cases`, async () => {
    await assertProperty(
      fc.asyncProperty(
        fc.constantFrom<'list' | 'whoami' | 'health'>('list', 'whoami', 'health'),
        methodArb,
        headersArb,
        queryArb,
        identityArb,
        fc.option(fc.string({ maxLength: 64 }), { nil: null }),
        async (route, method, headers, query, identity, body) => {
          figures.inProcess.otherRoutes += 1
          const caller = CALLERS[identity.caller] as (typeof CALLERS)[number]
          const resource = route === 'list' ? '/secrets' : `/${route}`
          const { res, upstreamIds } = await runCase(
            route,
            eventFor(
              { resource, path: resource, pathParameters: null },
              { method, headers, query, identity },
              body,
            ),
            caller.principal,
          )
          expect(upstreamIds).toEqual([])
          if (route === 'list' && res.statusCode === 200) {
            expect(JSON.parse(res.body)).toEqual({
              names: allowedEntries(caller.principal)
                .map((e) => e.name)
                .sort(),
              patterns: [],
            })
          }
        },
      ),
      TARGET_IN_PROCESS_CASES.otherRoutes,
    )
    expect(figures.inProcess.otherRoutes).toBeGreaterThanOrEqual(TARGET_IN_PROCESS_CASES.otherRoutes)
  }, 120_000)

  it(`serves ${TARGET_IN_PROCESS_CASES.secretValues} hostile secret values (non-JSON, broken JSON, unicode, 64 KB) without logging them`, async () => {
    const target = CATALOG[0]
    await assertProperty(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 64 }),
          fc.constantFrom('{', '[', '{"a":', '{"password":"', 'null', '"quoted"', '1e999', '\u2028'),
          fc.constant('z'.repeat(65_536)),
        ),
        fc.boolean(),
        async (noise, matchEtag) => {
          figures.inProcess.secretValues += 1
          const canary = canaries.get(target.secretId) as string
          secretStrings.set(
            target.secretId,
            `${noise.startsWith('{') || noise.startsWith('[') ? noise : ''}${canary}${noise}`,
          )
          deps.cache.clear()
          const headers: Record<string, string> = matchEtag
            ? { 'if-none-match': `"${versionOf(target.secretId)}"` }
            : {}
          const event = eventFor(
            {
              resource: '/secrets/{name+}',
              path: `/secrets/${target.name}`,
              pathParameters: { name: target.name },
            },
            {
              method: 'GET',
              headers,
              query: null,
              identity: { caller: 0, sourceIp: '10.0.0.7', userAgent: undefined },
            },
            null,
          )
          const { res } = await runCase('getSecret', event, ORDERS)
          expect(res.statusCode).toBe(matchEtag ? 304 : 200)
          if (matchEtag) expect(res.body).toBe('')
          else expect(res.body).toContain(canary.slice(0, 8))
        },
      ),
      TARGET_IN_PROCESS_CASES.secretValues,
    )
    secretStrings.clear()
    deps.cache.clear()
  }, 120_000)

  it('leaked no canary into the log, the audit records, error bodies or captured output', () => {
    const scan = scanForCanaries([...canaries.values()], {
      log: JSON.stringify(log.lines),
      audit: JSON.stringify(audit.records),
      'error bodies': errorBodies.join('\n'),
      'captured output': captured.text(),
    })
    inProcessLeakScan = scan
    expect(scan.hits).toEqual([])
  })
})
let inProcessLeakScan: ReturnType<typeof scanForCanaries> | undefined

// ---- a sample over real HTTP ------------------------------------------------------------------------------
describe('hostile input, a sample over real HTTP (serverless-offline + SigV4 + moto behind the counting proxy)', () => {
  let stack: LocalStack
  let proxy: FaultProxy
  const httpCanaries = new Map<string, string>()
  const httpErrorBodies: string[] = []

  beforeAll(async () => {
    stack = await startLocalStack({
      upstreamEndpoint: async (moto) => {
        proxy = await startFaultProxy({ upstream: moto })
        return proxy.endpoint
      },
      secretFields: (m) => {
        const canary = makeCanary(`fuzz-http-${m.logicalName}`)
        httpCanaries.set(m.logicalName, canary)
        return { canary }
      },
    })
  }, 180_000)

  afterAll(async () => {
    await stack.stop()
    await proxy.stop()
  }, 60_000)

  const removeDotSegments = (name: string) => {
    const out: string[] = []
    for (const seg of name.split('/')) {
      if (seg === '.') continue
      if (seg === '..') out.pop()
      else out.push(seg)
    }
    return out.join('/')
  }
  /** Percent-encode what cannot go on a request line; keep existing %XX escapes, so encoded names stay encoded. */
  const toRequestPath = (name: string) =>
    Array.from(name)
      .map((c, i, all) =>
        /^[A-Za-z0-9/_.+=@:!*,;$&'()~-]$/.test(c) ||
        (c === '%' && /^[0-9A-Fa-f]{2}$/.test(all.slice(i + 1, i + 3).join('')))
          ? c
          : encodeURIComponent(c),
      )
      .join('')
  const httpHeadersArb = fc.record(
    {
      'if-none-match': fc.constantFrom('*', '"x"', 'W/"y"', ''),
      'cache-control': fc.constantFrom('no-cache', 'max-age=0', 'no-store', 'junk'),
      'x-forwarded-for': fc.ipV4(),
      'user-agent': fc.oneof(
        fc.string({ unit: fc.constantFrom(...'abcXYZ019 ;/()'.split('')), maxLength: 30 }),
        fc.constant('U'.repeat(8000)),
      ),
    },
    { requiredKeys: [] },
  )

  it(`${HTTP_SAMPLE} requests: no 5xx, upstream only for allowed names, identical 404s, one audit record per broker answer`, async () => {
    const orders = stack.consumers[0]!
    const billing = stack.consumers[1]!
    const readable: Record<string, Set<string>> = {
      [orders.accessKeyId]: new Set(['demo/db', 'demo/reporting-db']),
      [billing.accessKeyId]: new Set(['demo/reporting-db', 'demo/api-key']),
    }
    const httpNames = [...stack.secretNames.keys()]
    const httpNameArb = fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(...httpNames) },
      {
        weight: 6,
        arbitrary: fc
          .tuple(fc.constantFrom(...httpNames), fc.nat(mutations.length - 1), fc.nat(32))
          .map(([n, m, i]) => (mutations[m] as (n: string, i: number) => string)(n, i)),
      },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 32 }) },
    )
    const samples = fc.sample(
      fc.record({
        kind: fc.constantFrom('get', 'get', 'get', 'batch'),
        name: httpNameArb,
        batch: fc.array(httpNameArb, { minLength: 1, maxLength: 6 }),
        consumer: fc.constantFrom(0, 1),
        headers: httpHeadersArb,
        query: fc.option(fc.constantFrom('versionStage=AWSPENDING', 'refresh=true', 'a=1&a=2'), {
          nil: undefined,
          freq: 5,
        }),
      }),
      { numRuns: HTTP_SAMPLE },
    )
    const violations: string[] = []
    let brokerAnswers = 0
    let ref404: { body: string; headers: Record<string, string> } | undefined
    const auditBefore = readAuditFile(stack.auditFile).length
    for (const s of samples) {
      figures.http.cases += 1
      const who = s.consumer === 0 ? orders : billing
      const isBatch = s.kind === 'batch'
      const path = isBatch
        ? `/secrets:batchGet${s.query === undefined ? '' : `?${s.query}`}`
        : `/secrets/${toRequestPath(s.name)}${s.query === undefined ? '' : `?${s.query}`}`
      const body = isBatch ? JSON.stringify({ names: s.batch }) : undefined
      const method = isBatch ? 'POST' : 'GET'
      const headers = { ...s.headers, ...(isBatch ? { 'content-type': 'application/json' } : {}) }
      const before = proxy.calls.length
      let res: RawResponse
      try {
        const signed = await signRaw(stack.apiUrl, {
          method,
          path,
          headers,
          ...(body === undefined ? {} : { body }),
          credentials: who,
        })
        res = await rawRequest(stack.apiUrl, {
          method,
          path,
          headers: signed,
          ...(body === undefined ? {} : { body }),
        })
      } catch (err) {
        violations.push(`${path.slice(0, 80)}: transport error ${String(err)}`)
        continue
      }
      countStatus(figures.http.statuses, res.status)
      if (res.status !== 200) httpErrorBodies.push(res.body)
      if (res.status >= 500) violations.push(`${path.slice(0, 80)}: ${res.status}`)
      const calls = proxy.calls
        .slice(before)
        .filter((c) => c.secretId !== undefined && !c.secretId.includes('/_local/'))
      figures.http.upstreamCalls += calls.length
      for (const c of calls) {
        const logical = [...stack.secretNames].find(([, aws]) => aws === c.secretId)?.[0]
        // The HTTP layer resolves literal dot segments (RFC 3986 §5.2.4) before routing, as API Gateway's
        // front end does: `/secrets/./demo/db` is a request for demo/db, and is authorized and audited as such.
        // serverless-offline then strips one trailing slash (hapi's stripTrailingSlash), and the local SigV4
        // check accepts the path as the client signed it: locally `/secrets/demo/db/` is a request for demo/db.
        const named = isBatch
          ? s.batch
          : [s.name, removeDotSegments(s.name), removeDotSegments(s.name).replace(/\/$/, '')]
        if (logical === undefined || !readable[who.accessKeyId]?.has(logical) || !named.includes(logical)) {
          violations.push(`${path.slice(0, 80)}: upstream ${c.operation} for ${String(c.secretId)}`)
        }
      }
      const fromBroker = res.headers['x-request-id'] !== undefined
      if (fromBroker) brokerAnswers += 1
      if (res.status === 404 && fromBroker) {
        ref404 ??= { body: res.body, headers: stableHeaders(res.headers) }
        if (res.body !== ref404.body) violations.push(`${path.slice(0, 80)}: 404 body differs`)
        if (JSON.stringify(stableHeaders(res.headers)) !== JSON.stringify(ref404.headers))
          violations.push(`${path.slice(0, 80)}: 404 headers differ`)
      }
    }
    const records = readAuditFile(stack.auditFile).slice(auditBefore)
    expect(violations).toEqual([])
    expect(records).toHaveLength(brokerAnswers)
    expect(new Set(records.map((r) => r.requestId)).size).toBe(records.length)
    // The gateway's address, never the forged X-Forwarded-For.
    expect(records.every((r) => r.sourceIp === '127.0.0.1')).toBe(true)
  }, 180_000)

  it('leaked no canary into the API log, the audit file or error bodies, and records its figures', () => {
    const scan = scanForCanaries([...httpCanaries.values()], {
      'audit file': readIfExists(stack.auditFile),
      'serverless-offline log': readIfExists(stack.offlineLog),
      'error bodies': httpErrorBodies.join('\n'),
    })
    captured.stop()
    const inProcessCases = Object.values(figures.inProcess).reduce((a, b) => a + b, 0)
    recordFigures('fuzz', {
      casesTotal: inProcessCases + figures.http.cases,
      inProcess: { ...figures.inProcess, total: inProcessCases, statuses: figures.statuses },
      http: figures.http,
      upstreamCallsForAllowed: figures.upstreamCallsForAllowed,
      upstreamCallsOutsideCatalog: figures.upstreamCallsOutsideCatalog,
      fiveHundreds: figures.fiveHundreds,
      leakScan: {
        canaries: canaries.size + httpCanaries.size,
        needles: scan.needles + (inProcessLeakScan?.needles ?? 0),
        bytesScanned: scan.bytesScanned + (inProcessLeakScan?.bytesScanned ?? 0),
        hits: scan.hits.length + (inProcessLeakScan?.hits.length ?? 0),
      },
    })
    expect(scan.hits).toEqual([])
  })
})
