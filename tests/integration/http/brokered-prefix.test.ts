import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import { loadStageDeclarations } from '../../../infra/stage-declarations'
import { readAuditFile } from '../../../scripts/lib/audit-file'
import { startLocalStack, type LocalStack } from '../../../scripts/lib/local-stack'
import { MOTO_CREDENTIALS } from '../../../scripts/lib/moto'
import { signedFetch, type SimpleResponse } from '../../../scripts/lib/signed-fetch'

/**
 * A Secrets Manager prefix the stack does not own, brokered by path rules, over real HTTP (serverless-offline
 * serving the bundles with their compiled catalog, moto behind them): a secret under the prefix is served to
 * the rule's principal; a missing one, a denied one and one the caller may not read all get the same 404;
 * GET /secrets lists the declared names and the pattern.
 */
const CANARY = `CANARY-${Date.now().toString(36)}-prefix`
let stack: LocalStack

const local = loadStageDeclarations('local', undefined, {}).params
const ORDERS = 'arn:aws:iam::123456789012:user/demo-orders'

beforeAll(async () => {
  stack = await startLocalStack({
    paramOverrides: {
      secrets: {
        ...local.secrets,
        'teams/shared/*': { prefix: 'shared/' },
        'teams/shared/declared-key': {},
      },
      rules: [
        { id: 'shared-readers', principals: [ORDERS], allow: ['teams/shared/*'] },
        { id: 'no-admin', principals: [ORDERS], deny: ['teams/shared/admin-*'] },
      ],
    },
    beforeServe: async ({ motoEndpoint }) => {
      const sm = new SecretsManagerClient({
        region: 'us-east-1',
        endpoint: motoEndpoint,
        credentials: MOTO_CREDENTIALS,
      })
      try {
        for (const name of ['shared/api-token', 'shared/admin-key', 'shared/declared-key'])
          await sm.send(
            new CreateSecretCommand({ Name: name, SecretString: JSON.stringify({ token: CANARY }) }),
          )
      } finally {
        sm.destroy()
      }
    },
  })
}, 180_000)

afterAll(async () => {
  await stack.stop()
}, 60_000)

const orders = () => stack.consumers[0]!
const billing = () => stack.consumers[1]!
const get = (path: string, credentials = orders()): Promise<SimpleResponse> =>
  signedFetch(`${stack.apiUrl}${path}`, { credentials })
const strip = (h: Record<string, string>) =>
  Object.fromEntries(Object.entries(h).filter(([k]) => !['x-request-id', 'date'].includes(k)))

describe('a brokered prefix over HTTP (serverless-offline + moto)', () => {
  it('serves a secret under the prefix to the principal a rule allows, by its logical name', async () => {
    const res = await get('/secrets/teams/shared/api-token')
    expect(res.status).toBe(200)
    expect(res.json<{ name: string; value: { token: string } }>()).toMatchObject({
      name: 'teams/shared/api-token',
      value: { token: CANARY },
    })
  })

  it('answers a missing secret, a denied one and one the caller may not read with the same 404', async () => {
    const missing = await get('/secrets/teams/shared/no-such-secret')
    const denied = await get('/secrets/teams/shared/admin-key')
    const notAllowed = await get('/secrets/teams/shared/api-token', billing())
    const unknown = await get('/secrets/nowhere/at-all')
    for (const res of [missing, denied, notAllowed, unknown]) {
      expect(res.status).toBe(404)
      expect(res.text).toBe(unknown.text)
      expect(strip(res.headers)).toEqual(strip(unknown.headers))
      expect(res.text).not.toContain(CANARY)
    }
    // The audit record says which it was.
    const reasons = readAuditFile(stack.auditFile)
      .filter((r) => typeof r['secretName'] === 'string' && r['secretName'].startsWith('teams/shared/'))
      .map((r) => [r['secretName'], r['reason']])
    expect(reasons).toEqual(
      expect.arrayContaining([
        ['teams/shared/no-such-secret', 'upstream-not-found'],
        ['teams/shared/admin-key', 'denied-by-rule'],
        ['teams/shared/api-token', 'caller-not-allowed'],
      ]),
    )
  })

  it('lists the declared names a caller may read and its patterns in the prefix', async () => {
    expect((await get('/secrets')).json()).toEqual({
      names: ['demo/db', 'demo/reporting-db', 'teams/shared/declared-key'],
      patterns: ['teams/shared/*'],
    })
    expect((await get('/secrets', billing())).json()).toEqual({
      names: ['demo/api-key', 'demo/reporting-db'],
      patterns: [],
    })
  })
})
