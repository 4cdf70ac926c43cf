import { ConfigError } from '../../../src/lib/errors'
import { parseRotationDocument } from '../../../src/rotation/rotation-config'

const RDS_MASTER_ARN =
  'arn:aws:secretsmanager:us-east-1:111111111111:secret:rds!db-0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d-AbCdEf'

const aDocument = (target: Record<string, unknown>): string =>
  JSON.stringify({
    pgSslMode: 'verify-full',
    targets: [
      {
        secretId: 'arn:aws:secretsmanager:us-east-1:111111111111:secret:orders/db-AbCdEf',
        strategy: 'postgres-alternating-users',
        passwordLength: 32,
        excludeCharacters: '',
        masterSecretId: RDS_MASTER_ARN,
        ...target,
      },
    ],
  })

describe('parseRotationDocument', () => {
  it('accepts an RDS-managed master secret given by its ARN (a name with !)', () => {
    expect(parseRotationDocument(aDocument({})).targets[0]?.masterSecretId).toBe(RDS_MASTER_ARN)
  })

  it('accepts secret names as the local stage uses them, including rds!… names', () => {
    const doc = parseRotationDocument(
      aDocument({ secretId: 'demo/reporting-db', masterSecretId: 'rds!db-1' }),
    )
    expect(doc.targets[0]).toMatchObject({ secretId: 'demo/reporting-db', masterSecretId: 'rds!db-1' })
  })

  it.each([
    ['masterSecretId', { masterSecretId: 'rds !db-1' }],
    ['masterSecretId', { masterSecretId: 'team/rds!db-1' }],
    ['secretId', { secretId: 'arn:aws:secretsmanager:us-east-1:111111111111:secret:x' }],
  ])('refuses a %s Secrets Manager could not hold, naming the field', (field, target) => {
    const attempt = (): unknown => parseRotationDocument(aDocument(target))
    expect(attempt).toThrow(ConfigError)
    expect(attempt).toThrow(`The rotation document: targets.0.${field} must be a full secret ARN`)
  })
})
