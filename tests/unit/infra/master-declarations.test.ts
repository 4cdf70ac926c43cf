import { planStack, rotationDocument } from '../../../infra/stack'
import { loadStageDeclarations } from '../../../infra/stage-declarations'

/**
 * Packaging refuses an alternating-users declaration that could never rotate, naming the field, and accepts
 * masters as RDS manages them: a secret it owns (`rds!db-<uuid>`), given by ARN, holding only a username and
 * a password (host, port and database come from the rotated secret).
 */
const READER = 'arn:aws:iam::123456789012:user/demo-orders'
const RDS_MASTER_ARN =
  'arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d-AbCdEf'

function plan(secrets: Record<string, unknown>) {
  return planStack(
    loadStageDeclarations('local', undefined, { SECRET_BROKER_LOCAL_PARAMS: JSON.stringify({ secrets }) }),
  )
}

const reporting = (over: Record<string, unknown> = {}) => ({
  username: 'reporter',
  readers: [READER],
  fields: { engine: 'postgres', host: 'db.internal', port: 5432, dbname: 'reports' },
  rotation: { strategy: 'postgres-alternating-users', masterSecret: 'reports/master' },
  ...over,
})

describe('planStack: alternating-users masters', () => {
  it('accepts an RDS-managed master secret given by its ARN, and passes the ARN to the rotation function', () => {
    const p = plan({ 'reports/db': reporting(), 'reports/master': { arn: RDS_MASTER_ARN, readers: [] } })
    expect(rotationDocument(p, (m) => m.awsName).targets[0]?.masterSecretId).toBe(RDS_MASTER_ARN)
  })

  it('accepts a brokered secret whose ARN has a ! (the catalog check at packaging)', () => {
    expect(() => plan({ 'rds/master': { arn: RDS_MASTER_ARN, readers: [READER] } })).not.toThrow()
  })

  it.each([
    [
      'a master given by something that is not a secret ARN',
      { 'reports/db': reporting(), 'reports/master': { arn: 'rds!db-0a1b2c3d', readers: [] } },
      'secrets "reports/master": arn must be a full secret ARN',
    ],
    [
      'a master this stack creates for another host',
      {
        'reports/db': reporting(),
        'reports/master': { username: 'admin', fields: { host: 'other.internal' }, readers: [] },
      },
      'secrets "reports/master": fields.host differs from secrets "reports/db".fields.host',
    ],
    [
      'a master this stack creates for another port',
      {
        'reports/db': reporting(),
        'reports/master': { username: 'admin', fields: { port: 6432 }, readers: [] },
      },
      'secrets "reports/master": fields.port differs from secrets "reports/db".fields.port',
    ],
    [
      'a user name that leaves no room for _clone',
      {
        'reports/db': reporting({ username: 'u'.repeat(58) }),
        'reports/master': { arn: RDS_MASTER_ARN, readers: [] },
      },
      'secrets "reports/db": username is longer than 57 characters',
    ],
    [
      'a port that is not a port',
      {
        'reports/db': reporting({ fields: { host: 'db.internal', port: 'x5432', dbname: 'reports' } }),
        'reports/master': { arn: RDS_MASTER_ARN, readers: [] },
      },
      'secrets "reports/db": fields.port must be a port number (1–65535)',
    ],
  ])('refuses %s, naming the field', (_what, secrets, message) => {
    expect(() => plan(secrets)).toThrow(message)
  })

  it('accepts a master this stack creates without host or port (they come from the rotated secret)', () => {
    expect(() =>
      plan({ 'reports/db': reporting(), 'reports/master': { username: 'admin', readers: [] } }),
    ).not.toThrow()
  })
})
