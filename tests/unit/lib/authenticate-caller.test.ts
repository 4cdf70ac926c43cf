import type { APIGatewayProxyEvent } from 'aws-lambda'
import {
  assumedRoleArn,
  credentialsByAccessKey,
  parseLocalConsumerKeys,
  type LocalConsumerKeysDocument,
} from '../../../src/lib/auth/local-consumer-keys'
import { UnauthenticatedError } from '../../../src/lib/errors'
import type { CallerIdentity } from '../../../src/lib/auth/caller'
import { normaliseEvent } from '../../../src/lib/http/request'
import { authenticateCaller } from '../../../src/lib/middleware/authenticate-caller'
import { aLambdaContext, anApiEvent } from '../../support/builders'
import { FakeClock } from '../../support/fake-clock'
import { signRequest } from '../../../scripts/lib/signed-fetch'

const HOST = '127.0.0.1:3000'
const clock = new FakeClock()
const ROLE = {
  name: 'demo-billing',
  principalArn: 'arn:aws:iam::123456789012:role/demo-billing',
  accessKeyId: 'ASIATESTTESTTESTTEST',
  secretAccessKey: 'role-session-secret',
  sessionToken: 'role+session/token==',
  sessionName: 'secret-broker-local-abc',
  expiration: new Date(clock.now() + 3_600_000).toISOString(),
}
const USER = {
  name: 'demo-orders',
  principalArn: 'arn:aws:iam::123456789012:user/demo-orders',
  accessKeyId: 'LOCLTESTTESTTESTTEST',
  secretAccessKey: 'user-secret',
}
const DOC: LocalConsumerKeysDocument = { endpointHosts: [HOST], consumers: [USER, ROLE] }

/** An event as serverless-offline builds it: names as sent, every copy in multiValueHeaders. */
function offlineEvent(path: string, headers: Record<string, string>): APIGatewayProxyEvent {
  const event = anApiEvent({ path, resource: path, headers, userArn: null })
  const multi: Record<string, string[]> = {}
  for (const [k, v] of Object.entries(headers)) multi[k.replace(/^x-amz/, 'X-Amz')] = [v]
  return { ...event, multiValueHeaders: multi }
}

async function authenticate(
  event: APIGatewayProxyEvent,
  keys: unknown,
): Promise<{ broker: { caller: CallerIdentity } }> {
  const req = normaliseEvent(event, aLambdaContext(), clock.now())
  const caller = await authenticateCaller({
    mode: 'local-sigv4',
    accountId: '123456789012',
    region: 'us-east-1',
    clock,
  })(req, undefined, { localConsumerKeys: keys })
  return { broker: { caller } }
}

describe('authenticateCaller (local-sigv4)', () => {
  it('resolves a role session to its role, keeping the session name and the reported STS ARN', async () => {
    const { headers } = await signRequest(`http://${HOST}/whoami`, {
      credentials: ROLE,
      signingDate: new Date(clock.now()),
    })

    const ctx = await authenticate(offlineEvent('/whoami', headers), DOC)

    expect(ctx.broker.caller).toMatchObject({
      principal: { arn: ROLE.principalArn, kind: 'role', session: ROLE.sessionName },
      reportedArn: `arn:aws:sts::123456789012:assumed-role/demo-billing/${ROLE.sessionName}`,
      via: 'local-sigv4',
    })
  })

  it('accepts a request signed with a trailing slash the emulator stripped from the path', async () => {
    const { headers } = await signRequest(`http://${HOST}/whoami/`, {
      credentials: USER,
      signingDate: new Date(clock.now()),
    })

    const ctx = await authenticate(offlineEvent('/whoami', headers), DOC)

    expect(ctx.broker.caller.principal.arn).toBe(USER.principalArn)
  })

  it('refuses every request while the consumer-keys secret does not have the expected shape', async () => {
    const { headers } = await signRequest(`http://${HOST}/whoami`, {
      credentials: USER,
      signingDate: new Date(clock.now()),
    })
    const event = offlineEvent('/whoami', headers)

    for (const keys of [
      undefined,
      { consumers: [USER] },
      { endpointHosts: [HOST], consumers: [{ ...ROLE, expiration: undefined }] },
    ])
      await expect(authenticate(event, keys)).rejects.toThrow(UnauthenticatedError)
  })
})

describe('normaliseEvent: what SigV4 needs from the event', () => {
  it('keeps every copy of a header in arrival order, merging names sent in different letter cases', () => {
    const event = {
      ...anApiEvent({ path: '/whoami', headers: { 'x-a': '2', host: HOST } }),
      multiValueHeaders: { 'X-A': ['1', '3'], 'x-a': ['2'], Host: [HOST] },
    }

    const req = normaliseEvent(event, aLambdaContext(), clock.now())

    expect(req.rawHeaders.get('x-a')).toEqual(['1', '3', '2'])
    expect(req.rawHeaders.get('host')).toEqual([HOST])
  })

  it('keeps the presigned parameters and __proto__ in rawQuery, and only the route parameters in query', () => {
    // As the Lambda runtime parses it: JSON.parse keeps `__proto__` as an own key.
    const multi = JSON.parse('{"X-Amz-Signature":["abc"],"a":["1","2"],"__proto__":["x"]}') as Record<
      string,
      string[]
    >
    const event = {
      ...anApiEvent({ path: '/whoami' }),
      queryStringParameters: { 'X-Amz-Signature': 'abc', a: '2' },
      multiValueQueryStringParameters: multi,
    }

    const req = normaliseEvent(event, aLambdaContext(), clock.now())

    expect(req.rawQuery).toEqual([
      ['X-Amz-Signature', 'abc'],
      ['a', '1'],
      ['a', '2'],
      ['__proto__', 'x'],
    ])
    expect(Object.keys(req.query)).toEqual(['a'])
  })
})

describe('the local consumer-keys document', () => {
  it('reports a session as STS does and a user as itself', () => {
    const byKey = credentialsByAccessKey(parseLocalConsumerKeys(DOC)!)

    expect(byKey.get(ROLE.accessKeyId)).toEqual({
      secretAccessKey: ROLE.secretAccessKey,
      principalArn: `arn:aws:sts::123456789012:assumed-role/demo-billing/${ROLE.sessionName}`,
      session: { token: ROLE.sessionToken, expiresAt: Date.parse(ROLE.expiration) },
    })
    expect(byKey.get(USER.accessKeyId)).toEqual({
      secretAccessKey: USER.secretAccessKey,
      principalArn: USER.principalArn,
    })
  })

  it('drops the role path from an assumed-role ARN, as STS does', () => {
    expect(assumedRoleArn('arn:aws:iam::123456789012:role/team/app/reader', 's1')).toBe(
      'arn:aws:sts::123456789012:assumed-role/reader/s1',
    )
  })
})
