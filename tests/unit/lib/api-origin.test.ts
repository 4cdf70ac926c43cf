import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import type { APIGatewayProxyEvent } from 'aws-lambda'
import { mockClient } from 'aws-sdk-client-mock'
import { getSecret } from '../../../src/handlers/get-secret'
import { health } from '../../../src/handlers/health'
import { createMemoryAuditSink } from '../../../src/lib/audit'
import { createHttpDeps } from '../../../src/lib/deps'
import { createMemoryLog } from '../../../src/lib/logger'
import { FOREIGN_EVENT_REASON } from '../../../src/lib/middleware/api-origin'
import { withHttpStack } from '../../../src/lib/middleware/http-stack'
import {
  ORDERS,
  ORDERS_DB_ARN,
  aLambdaContext,
  aSecretEvent,
  anApiEvent,
  anHttpConfig,
} from '../../support/builders'
import { FakeClock } from '../../support/fake-clock'

jest.mock('../../../src/lib/config', () =>
  jest
    .requireActual<typeof import('../../support/config-module-mock')>('../../support/config-module-mock')
    .configModuleMock(),
)

/**
 * The API-origin tripwire, in-process: an event that does not name this stage's API id and stage is refused
 * before its identity is read. The forged event of issue 17 (a bare API Gateway event whose identity names a
 * catalog role, handed to the function directly) no longer authenticates. A tripwire, not a control: a forger
 * who copies the two values gets through, as the last test shows.
 */
const API_ID = 'a1b2c3d4e5'
const sm = mockClient(SecretsManagerClient)

function setup(apiId: string | null = API_ID) {
  const log = createMemoryLog()
  const audit = createMemoryAuditSink()
  const deps = createHttpDeps(anHttpConfig({ apiId: apiId ?? undefined }), {
    clock: new FakeClock(),
    log,
    auditSink: audit,
    secretsManager: new SecretsManagerClient({ region: 'us-east-1' }),
  })
  const handler = withHttpStack(getSecret, deps)
  return { log, audit, deps, call: (e: APIGatewayProxyEvent) => handler(e, aLambdaContext()) }
}

const fromApi = (e: APIGatewayProxyEvent, apiId = API_ID, stage = 'dev'): APIGatewayProxyEvent => ({
  ...e,
  requestContext: { ...e.requestContext, apiId, stage },
})

beforeEach(() => {
  sm.reset()
  sm.on(GetSecretValueCommand, { SecretId: ORDERS_DB_ARN, VersionStage: 'AWSCURRENT' }).resolves({
    VersionId: 'v1',
    CreatedDate: new Date('2026-11-01T00:00:00Z'),
    SecretString: '{"username":"orders_app","password":"CANARY-tripwire"}',
  })
})

describe('the API-origin tripwire', () => {
  it('refuses the forged event of issue 17 before authenticating it: 403, audited without the forged principal', async () => {
    const { call, audit, log } = setup()
    const res = await call(aSecretEvent('orders/db')) // a bare event naming a catalog role
    expect(res.statusCode).toBe(403)
    expect(res.body).not.toContain('CANARY')
    expect(sm.calls()).toHaveLength(0)
    expect(audit.records).toHaveLength(1)
    expect(audit.records[0]).toMatchObject({ outcome: 'denied', reason: FOREIGN_EVENT_REASON, status: 403 })
    expect(audit.records[0]?.principal).toBeUndefined()
    expect(JSON.stringify(log.lines)).toContain('not from this stage')
  })

  it.each([
    ['another API', 'z9y8x7w6v5', 'dev'],
    ['another stage of this API', API_ID, 'prod'],
    ['an empty id', '', 'dev'],
  ])('refuses an event from %s', async (_what, apiId, stage) => {
    const { call, audit } = setup()
    const res = await call(fromApi(aSecretEvent('orders/db'), apiId, stage))
    expect(res.statusCode).toBe(403)
    expect(audit.records[0]?.reason).toBe(FOREIGN_EVENT_REASON)
    expect(sm.calls()).toHaveLength(0)
  })

  it("serves an event that names this stage's API", async () => {
    const { call, audit } = setup()
    const res = await call(fromApi(aSecretEvent('orders/db')))
    expect(res.statusCode).toBe(200)
    expect(audit.records[0]).toMatchObject({ outcome: 'allowed', principal: ORDERS })
  })

  it('guards the public health route too', async () => {
    const deps = createHttpDeps(anHttpConfig({ apiId: API_ID }), {
      clock: new FakeClock(),
      log: createMemoryLog(),
      auditSink: createMemoryAuditSink(),
      secretsManager: new SecretsManagerClient({ region: 'us-east-1' }),
    })
    const handler = withHttpStack(health, deps, { public: true })
    const event = anApiEvent({ path: '/health', resource: '/health', userArn: null })
    expect((await handler(event, aLambdaContext())).statusCode).toBe(403)
    expect((await handler(fromApi(event), aLambdaContext())).statusCode).toBe(200)
  })

  it('is not armed without an API id (a function packaged for no stage); every packaged stage sets one', async () => {
    const { call } = setup(null)
    expect((await call(aSecretEvent('orders/db'))).statusCode).toBe(200)
  })

  it('is only a tripwire: a forger who copies the API id and stage is authenticated as whoever the event names', async () => {
    const { call, audit } = setup()
    const res = await call(fromApi(aSecretEvent('orders/db')))
    expect(res.statusCode).toBe(200)
    expect(audit.records[0]?.principal).toBe(ORDERS)
  })
})
