import fc from 'fast-check'
import { isSecretName, parseSecretArn, secretIdProblem } from '../../../src/lib/secrets/catalog'
import { loadCatalog } from '../../../src/lib/secrets'
import { ACCOUNT, ORDERS } from '../../support/builders'

/**
 * Secret names and ARNs exactly as Secrets Manager holds or creates them: user names of ASCII letters,
 * digits and /_+=.@- (1–512), names AWS services create as `<service>!…` (rds!db-<uuid>, rds!cluster-<uuid>,
 * redshift!…, events!connection/…, appflow!…, databrew!…, sqlworkbench!…), and nothing else.
 */
const RDS_ARN = `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:rds!db-0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d-AbCdEf`

const NAME_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_+=.@-'
const nameChar = fc.constantFrom(...NAME_CHARS.split(''))
const userName = fc.string({ unit: nameChar, minLength: 1, maxLength: 512 })
const serviceId = fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/)
const serviceName = fc
  .tuple(serviceId, fc.string({ unit: nameChar, minLength: 1, maxLength: 100 }))
  .map(([svc, rest]) => `${svc}!${rest}`)
const suffix = fc.stringMatching(/^[A-Za-z0-9]{6}$/)
const arnOf = (name: string, sfx: string): string =>
  `arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:${name}-${sfx}`

describe('secret name and ARN grammar', () => {
  it('accepts every name a user can create', () => {
    fc.assert(
      fc.property(userName, (name) => {
        expect(isSecretName(name)).toBe(true)
        expect(secretIdProblem(name)).toBeUndefined()
      }),
    )
  })

  it('accepts every <service>!… name an AWS service creates, as a name and inside an ARN', () => {
    fc.assert(
      fc.property(serviceName, suffix, (name, sfx) => {
        expect(isSecretName(name)).toBe(true)
        expect(parseSecretArn(arnOf(name, sfx))).toEqual({
          partition: 'aws',
          region: 'eu-west-1',
          accountId: ACCOUNT,
          name,
        })
      }),
    )
  })

  it.each([
    RDS_ARN,
    `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:rds!cluster-7d957e88-d967-46f3-a21e-7db88c36bdf9-NEq9xL`,
    `arn:aws:secretsmanager:us-east-2:${ACCOUNT}:secret:redshift!prod-redshift-main-ue2-awsuser-yp5Lq4`,
    `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:events!connection/sf-api/e2792d75-414a-48f3-89a1-5e8eac15f627-AbCdEf`,
    `arn:aws-us-gov:secretsmanager:us-gov-west-1:${ACCOUNT}:secret:orders/db-AbCdEf`,
  ])('accepts the ARN %s', (arn) => {
    expect(secretIdProblem(arn)).toBeUndefined()
    expect(parseSecretArn(arn)).toBeDefined()
  })

  it.each([
    ['an empty name', ''],
    ['a space', 'orders db'],
    ['a colon', 'orders:db'],
    ['non-ASCII', 'ordérs/db'],
    ['a leading !', '!db-1'],
    ['an upper-case service id', 'RDS!db-1'],
    ['a ! after the first segment', 'team/rds!db-1'],
    ['two !', 'rds!db!1'],
    ['nothing after the !', 'rds!'],
    ['513 characters', 'a'.repeat(513)],
  ])('refuses a name with %s', (_what, name) => {
    expect(isSecretName(name)).toBe(false)
    expect(secretIdProblem(name)).toMatch(/^must be a full secret ARN .* or a secret name/)
  })

  it.each([
    ['no random suffix', `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:rds!db-1`],
    ['a short account', 'arn:aws:secretsmanager:us-east-1:1234:secret:orders/db-AbCdEf'],
    ['another service', `arn:aws:ssm:us-east-1:${ACCOUNT}:secret:orders/db-AbCdEf`],
    ['a bad name inside', `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:RDS!db-1-AbCdEf`],
    ['no region', `arn:aws:secretsmanager::${ACCOUNT}:secret:orders/db-AbCdEf`],
  ])('refuses an ARN with %s', (_what, arn) => {
    expect(parseSecretArn(arn)).toBeUndefined()
    expect(secretIdProblem(arn)).toBeDefined()
  })

  it('refuses any name with a character Secrets Manager does not allow', () => {
    const bad = fc.string({ minLength: 1, maxLength: 40 }).filter((s) => /[^A-Za-z0-9/_+=.@!-]/.test(s))
    fc.assert(
      fc.property(bad, (name) => {
        expect(isSecretName(name)).toBe(false)
        expect(parseSecretArn(arnOf(name, 'AbCdEf'))).toBeUndefined()
      }),
    )
  })

  it('lets the cold-start catalog check accept an RDS-managed secret by ARN', () => {
    const catalog = loadCatalog(
      { secrets: [{ name: 'orders/master', secretId: RDS_ARN, readers: [ORDERS] }] },
      ACCOUNT,
    )
    expect(catalog.lookup('orders/master')?.secretId).toBe(RDS_ARN)
  })
})
