import {
  CreateAccessKeyCommand,
  DeleteAccessKeyCommand,
  IAMClient,
  ListAccessKeysCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam'
import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager'
import { mockClient } from 'aws-sdk-client-mock'
import { EngineError } from '../../../src/rotation/engines/engine-error'
import type { MysqlConnectAs } from '../../../src/rotation/engines'
import { mysqlNativePasswordHash } from '../../../src/rotation/engines/mysql/mysql-password'
import { runRotationStep } from '../../../src/rotation/run-rotation-step'
import { parseRotationDocument } from '../../../src/rotation/rotation-config'
import { causeChain, formatCauseChain, RotationOperationError } from '../../../src/rotation/rotation-errors'
import {
  aRotationEvent,
  aTarget,
  CANARY,
  CURRENT_ID,
  FakePostgres,
  FakeSecretsManager,
  OTHER_TOKEN,
  someDeps,
  TOKEN,
} from './builders'

/**
 * The MySQL/MariaDB, Redis and IAM access key strategies through the step runner, with fakes for what the
 * integration suites cannot show: a MySQL (not MariaDB) server refused, the order of IAM calls, a new key
 * deleted when its value could not be stored, a wiring gap named. Real behaviour is proven against MariaDB,
 * Redis and moto in tests/integration/rotation.
 */
const step = (s: string): ReturnType<typeof aRotationEvent> => aRotationEvent({ Step: s })
const CURRENT_PW = `${CANARY}-current-pw`

describe('mysql-single-user with a fake server', () => {
  function fakeServer(version: string): { connect: MysqlConnectAs; statements: string[] } {
    const statements: string[] = []
    const connect: MysqlConnectAs = (creds) => {
      if (creds.password !== CURRENT_PW)
        return Promise.reject(
          new EngineError('authentication-failed', 'MySQL connect failed', 'ER_ACCESS_DENIED_ERROR'),
        )
      return Promise.resolve({
        query: <R>(sql: string): Promise<R[]> => {
          statements.push(sql)
          if (sql.startsWith('SELECT VERSION()')) return Promise.resolve([{ v: version }] as R[])
          if (sql.startsWith('SELECT CURRENT_USER()')) return Promise.resolve([{ u: 'app@%' }] as R[])
          if (sql.startsWith('SHOW CREATE USER'))
            return Promise.resolve([
              {
                c: `CREATE USER \`app\`@\`%\` IDENTIFIED BY PASSWORD '${mysqlNativePasswordHash(CURRENT_PW)}'`,
              },
            ] as R[])
          return Promise.resolve([])
        },
        close: () => Promise.resolve(),
      })
    }
    return { connect, statements }
  }

  function setup(version: string) {
    const value = { engine: 'mysql', username: 'app', password: CURRENT_PW, host: 'db.internal', port: 3306 }
    const sm = FakeSecretsManager.rotating(value)
    sm.put(TOKEN, { ...value, password: `${CANARY}-pending-pw` }, ['AWSPENDING'])
    const server = fakeServer(version)
    const deps = {
      ...someDeps(sm, new FakePostgres(), aTarget({ strategy: 'mysql-single-user' })),
      engines: { mysql: server.connect },
    }
    return { server, deps }
  }

  it('sets the password with SET PASSWORD = <hash> on MariaDB', async () => {
    const { server, deps } = setup('10.11.19-MariaDB-0+deb12u1')
    await runRotationStep(step('setSecret'), deps)
    expect(server.statements.at(-1)).toBe(
      `SET PASSWORD = '${mysqlNativePasswordHash(`${CANARY}-pending-pw`)}'`,
    )
  })

  it('refuses a MySQL server, where the same statement would set the text of the hash, and changes nothing', async () => {
    const { server, deps } = setup('8.0.36')
    await expect(runRotationStep(step('setSecret'), deps)).rejects.toThrow(
      'setSecret: the server on db.internal:3306 is MySQL, not MariaDB: the MySQL strategies are proven on MariaDB only, so a MySQL server is refused (see docs/ROTATION.md)',
    )
    expect(server.statements.filter((s) => /PASSWORD|ALTER/.test(s))).toEqual([])
  })

  it('names the missing connector when the composition gave none', async () => {
    const { deps } = setup('10.11.19-MariaDB')
    await expect(runRotationStep(step('setSecret'), { ...deps, engines: {} })).rejects.toThrow(
      'setSecret: mysql-single-user needs a MySQL connector, and this function has none',
    )
  })
})

describe('iam-access-key with a fake IAM', () => {
  const USER = 'svc-deployer'
  const K0 = 'FAKEKEYPREVIOUS00000'
  const K1 = 'FAKEKEYCURRENT000000'
  const K2 = 'FAKEKEYNEW0000000000'
  const keyValue = (id: string) => ({ userName: USER, accessKeyId: id, secretAccessKey: `${CANARY}-${id}` })

  function setup() {
    const sm = FakeSecretsManager.rotating(keyValue(K1))
    sm.put(OTHER_TOKEN, keyValue(K0), ['AWSPREVIOUS'])
    const iamClient = new IAMClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
    })
    const iam = mockClient(iamClient)
    const calls: string[] = []
    iam.on(ListAccessKeysCommand).resolves({
      AccessKeyMetadata: [
        { AccessKeyId: K0, Status: 'Active', CreateDate: new Date(1) },
        { AccessKeyId: K1, Status: 'Active', CreateDate: new Date(2) },
      ],
    })
    // Async fakes: the real client's send always returns a promise (the engine chains .catch on it).
    iam.on(UpdateAccessKeyCommand).callsFake((i: { AccessKeyId: string; Status: string }) => {
      calls.push(`update ${i.AccessKeyId} ${i.Status}`)
      return Promise.resolve({})
    })
    iam.on(DeleteAccessKeyCommand).callsFake((i: { AccessKeyId: string }) => {
      calls.push(`delete ${i.AccessKeyId}`)
      return Promise.resolve({})
    })
    iam.on(CreateAccessKeyCommand).callsFake(() => {
      calls.push('create')
      return Promise.resolve({
        AccessKey: {
          AccessKeyId: K2,
          SecretAccessKey: `${CANARY}-new-secret`,
          UserName: USER,
          Status: 'Active',
        },
      })
    })
    const deps = {
      ...someDeps(sm, new FakePostgres(), aTarget({ strategy: 'iam-access-key' })),
      engines: { iam: iamClient, sleep: () => Promise.resolve() },
    }
    return { sm, iam, calls, deps }
  }

  it("createSecret deactivates, then deletes AWSPREVIOUS's key (kept Active for a period), then creates the new one", async () => {
    const { sm, calls, deps } = setup()
    await runRotationStep(step('createSecret'), deps)
    expect(calls).toEqual([`update ${K0} Inactive`, `delete ${K0}`, 'create'])
    expect(sm.value(TOKEN)).toEqual({
      ...keyValue(K1),
      accessKeyId: K2,
      secretAccessKey: `${CANARY}-new-secret`,
    })
  })

  it('deletes the new key when its value cannot be stored, and fails naming the store', async () => {
    const { sm, calls, deps } = setup()
    sm.mock
      .on(PutSecretValueCommand)
      .rejects(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }))
    await expect(runRotationStep(step('createSecret'), deps)).rejects.toThrow(
      /^createSecret: storing the pending value of .* failed \(ThrottlingException\)$/,
    )
    expect(calls.slice(-2)).toEqual(['create', `delete ${K2}`])
    expect(JSON.stringify(deps.log.lines)).not.toContain(CANARY)
  })

  it('testSecret refuses a key that signs as another principal (moto answers unknown keys so)', async () => {
    const { sm, deps } = setup()
    sm.put(TOKEN, { ...keyValue(K2) }, ['AWSPENDING'])
    const engines = {
      ...deps.engines,
      getCallerIdentity: () =>
        Promise.resolve({ arn: 'arn:aws:sts::123456789012:user/moto', account: '123456789012' }),
    }
    await expect(runRotationStep(step('testSecret'), { ...deps, engines })).rejects.toThrow(
      `testSecret: the pending access key ${K2} does not sign as IAM user ${USER}: GetCallerIdentity named another principal`,
    )
  })

  it('refuses a pending value for another IAM user before calling IAM', async () => {
    const { sm, iam, deps } = setup()
    sm.put(TOKEN, { ...keyValue(K2), userName: 'someone-else' }, ['AWSPENDING'])
    await expect(runRotationStep(step('setSecret'), deps)).rejects.toThrow(
      'setSecret: refusing a pending value for a different IAM user than the current one',
    )
    expect(iam.calls()).toHaveLength(0)
  })

  it('refuses a current value with only one of the key fields', async () => {
    const sm = FakeSecretsManager.rotating({ userName: USER, accessKeyId: K1, secretAccessKey: '' })
    const deps = someDeps(sm, new FakePostgres(), aTarget({ strategy: 'iam-access-key' }))
    await expect(runRotationStep(step('createSecret'), deps)).rejects.toThrow(
      'createSecret: the current value has only one of accessKeyId and secretAccessKey',
    )
    expect(sm.stages()[CURRENT_ID]).toEqual(['AWSCURRENT'])
  })
})

describe('engine failures name their cause', () => {
  it('formats an engine error in the cause chain with its code, mixed case included', () => {
    const err = new RotationOperationError('creating an access key for IAM user svc', {
      cause: new EngineError('permission-denied', 'IAM CreateAccessKey failed', 'AccessDenied'),
    })
    expect(formatCauseChain(causeChain(err.cause))).toBe('EngineError AccessDenied')
    expect(causeChain(err.cause)).toEqual([
      { errorClass: 'EngineError', code: 'AccessDenied', kind: 'permission-denied' },
    ])
  })
})

describe('the rotation configuration', () => {
  it.each(['redis-acl-single-user', 'redis-acl-alternating-users', 'mysql-alternating-users'])(
    'refuses %s without a masterSecretId at cold start',
    (strategy) => {
      const doc = JSON.stringify({
        pgSslMode: 'verify-full',
        targets: [{ secretId: 'a/b', strategy, passwordLength: 32, excludeCharacters: '' }],
      })
      expect(() => parseRotationDocument(doc)).toThrow(`target a/b uses ${strategy} without masterSecretId`)
    },
  )
})
