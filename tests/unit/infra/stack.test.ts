import { checkRotationSchedule } from '../../../infra/schedule'
import {
  buildResources,
  compiledDocuments,
  planStack,
  rotationEnvironment,
  runtimeCatalogDocument,
  httpEnvironment,
} from '../../../infra/stack'
import { loadStageDeclarations } from '../../../infra/stage-declarations'

describe('checkRotationSchedule', () => {
  it.each([
    'rate(4 hours)',
    'rate(1 day)',
    'rate(30 days)',
    'cron(0 3 * * ? *)',
    'cron(15 0/6 * * ? *)',
    'cron(0 1,9,17 ? * MON-FRI *)',
  ])('accepts %s', (expr) => {
    expect(checkRotationSchedule(expr)).toBeUndefined()
  })

  it.each([
    ['rate(1 hour)', /more often than every 4 hours/],
    ['rate(3 hours)', /more often than every 4 hours/],
    ['cron(0 */2 * * ? *)', /more often than every 4 hours/],
    ['cron(0 1,3 * * ? *)', /more often than every 4 hours/],
    ['cron(*/30 1 * * ? *)', /minutes field must be a single value/],
    ['every day', /expected rate/],
    ['rate(2 day)', /plural/],
  ])('refuses %s', (expr, message) => {
    expect(checkRotationSchedule(expr)).toMatch(message)
  })
})

describe('planStack', () => {
  it('plans the local stage from serverless.yml: managed secrets, rotation, demo consumers', () => {
    const plan = planStack(loadStageDeclarations('local'))
    expect(plan.managed.map((m) => m.logicalName).sort()).toEqual([
      'demo/api-key',
      'demo/cache',
      'demo/cache-master',
      'demo/db',
      'demo/db-master',
      'demo/deployer-key',
      'demo/mysql-db',
      'demo/mysql-master',
      'demo/reporting-db',
    ])
    expect(plan.managed.find((m) => m.logicalName === 'demo/db')).toMatchObject({
      awsName: 'secret-broker/local/demo/db',
      passwordLength: 32,
      username: 'demo_app',
    })
    const catalog = runtimeCatalogDocument(plan, (m) => m.awsName)
    expect(catalog.secrets.map((s) => s.name)).not.toContain('demo/db-master')
  })

  it('compiles the catalog with the secrets the stack creates by name, and leaves it out of every environment', () => {
    for (const stage of ['local', 'dev', 'prod']) {
      const plan = planStack(loadStageDeclarations(stage))
      const { catalogJson, rotationJson } = compiledDocuments(plan)
      expect(catalogJson).toContain(`"secretId":"secret-broker/${stage}/`)
      expect(rotationJson).toContain(`"secretId":"secret-broker/${stage}/`)
      const environments = JSON.stringify([httpEnvironment(plan), rotationEnvironment(plan)])
      expect(environments).not.toMatch(/CATALOG|ROTATION_JSON|secretId|readers/)
    }
    expect(httpEnvironment(planStack(loadStageDeclarations('dev')))['BROKER_AUTH_MODE']).toBe('iam')
  })

  it('refuses an unknown stage and local-only settings elsewhere', () => {
    expect(() => loadStageDeclarations('staging')).toThrow(/Unknown stage/)
    expect(() =>
      planStack(
        loadStageDeclarations('local', undefined, {
          SECRET_BROKER_LOCAL_PARAMS: JSON.stringify({ localConsumers: [] }),
        }),
      ),
    ).toThrow(/at least one demo consumer/)
  })

  it('refuses an alternating-users secret whose master is not declared', () => {
    const overrides = {
      secrets: {
        'a/db': {
          username: 'a',
          readers: ['arn:aws:iam::123456789012:user/demo-orders'],
          fields: { host: 'h', port: 1, dbname: 'd' },
          rotation: { strategy: 'postgres-alternating-users', masterSecret: 'nope' },
        },
      },
    }
    expect(() =>
      planStack(
        loadStageDeclarations('local', undefined, { SECRET_BROKER_LOCAL_PARAMS: JSON.stringify(overrides) }),
      ),
    ).toThrow(/masterSecret "nope" is not declared/)
  })

  it('plans a catalog far past what 4 KB of environment once held, with environments that do not grow', () => {
    // 33 small secrets with two readers each were refused when the catalog travelled in the environment.
    const many = (n: number) => ({
      secrets: Object.fromEntries(
        Array.from({ length: n }, (_, i) => [
          `team-${i}/service-database-credentials`,
          {
            arn: `arn:aws:secretsmanager:us-east-1:123456789012:secret:team-${i}/db-AbCdEf`,
            readers: [
              'arn:aws:iam::123456789012:user/demo-orders',
              'arn:aws:iam::123456789012:role/demo-billing',
            ],
          },
        ]),
      ),
      localConsumers: [{ name: 'demo-orders', principalArn: 'arn:aws:iam::123456789012:user/demo-orders' }],
    })
    const plan = (n: number) =>
      planStack(
        loadStageDeclarations('local', undefined, { SECRET_BROKER_LOCAL_PARAMS: JSON.stringify(many(n)) }),
      )
    const small = plan(5)
    const large = plan(1000)
    expect(compiledDocuments(large).catalogJson.length).toBeGreaterThan(100_000)
    expect(JSON.stringify(httpEnvironment(large))).toBe(JSON.stringify(httpEnvironment(small)))
  })

  it('lets the declared break-glass role move version stages on rotated secrets, and nothing else', () => {
    const breakGlass = 'arn:aws:iam::123456789012:role/secret-broker-break-glass'
    type Policy = {
      Statement: { Sid: string; Condition?: { ArnNotEquals: { 'aws:PrincipalArn': unknown } } }[]
    }
    const policyOf = (overrides: object) => {
      const { Resources } = buildResources(
        planStack(
          loadStageDeclarations('local', undefined, {
            SECRET_BROKER_LOCAL_PARAMS: JSON.stringify(overrides),
          }),
        ),
      )
      const resource = Resources['SecretDemoApiKeyResourcePolicy'] as {
        Properties: { ResourcePolicy: Policy }
      }
      const statements = resource.Properties.ResourcePolicy.Statement
      const exempt = (sid: string) =>
        JSON.stringify(statements.find((st) => st.Sid === sid)?.Condition?.ArnNotEquals['aws:PrincipalArn'])
      return {
        stages: exempt('OnlyRotationAndBreakGlassMoveStages'),
        values: exempt('OnlyRotationWritesValues'),
        readers: exempt('OnlyTheBrokerAndRotationRead'),
        policy: exempt('OnlyTheDeploymentRoleChangesPolicyAndLifecycle'),
      }
    }
    const without = policyOf({})
    expect(without.stages).toContain('RotationFunctionRole')
    expect(without.stages).not.toContain('break-glass')
    const withIt = policyOf({ breakGlassRoleArn: breakGlass })
    expect(withIt.stages).toContain(breakGlass)
    for (const other of [withIt.values, withIt.readers, withIt.policy])
      expect(other).not.toContain('break-glass')
    expect(() => policyOf({ breakGlassRoleArn: 'arn:aws:iam::123456789012:user/alice' })).toThrow(
      /IAM role ARN/,
    )
  })

  it('refuses a PRIVATE endpoint without VPC endpoint ids, naming the field, and endpoint ids on any other type', () => {
    const plan = (overrides: object) => () =>
      planStack(
        loadStageDeclarations('local', undefined, { SECRET_BROKER_LOCAL_PARAMS: JSON.stringify(overrides) }),
      )
    expect(plan({ endpointType: 'PRIVATE' })).toThrow(
      /params\.local\.vpcEndpointIds: endpointType PRIVATE needs the interface VPC endpoint ids/,
    )
    expect(plan({ endpointType: 'PRIVATE', vpcEndpointIds: ['vpce-0a1b2c3d4e5f60718'] })).not.toThrow()
    expect(plan({ vpcEndpointIds: ['vpce-0a1b2c3d4e5f60718'] })).toThrow(
      /params\.local\.vpcEndpointIds: only a PRIVATE endpoint/,
    )
    expect(plan({ endpointType: 'PRIVATE', vpcEndpointIds: ['vpc-0a1b2c3d'] })).toThrow(/vpcEndpointIds\.0/)
  })

  it('makes prod PRIVATE unless its params choose otherwise, and every other stage REGIONAL', () => {
    expect(loadStageDeclarations('prod').params.endpointType).toBe('PRIVATE')
    expect(loadStageDeclarations('dev').params.endpointType).toBe('REGIONAL')
    expect(loadStageDeclarations('local').params.endpointType).toBe('REGIONAL')
  })

  it('refuses a deployment role, break-glass role or exempt principal of another account', () => {
    const plan = (overrides: object) => () =>
      planStack(
        loadStageDeclarations('local', undefined, { SECRET_BROKER_LOCAL_PARAMS: JSON.stringify(overrides) }),
      )
    expect(plan({ deploymentRoleArn: 'arn:aws:iam::999999999999:role/deploy' })).toThrow(
      /params\.local\.deploymentRoleArn: arn:aws:iam::999999999999:role\/deploy is not in the stage's account/,
    )
    expect(plan({ directInvokePrincipals: ['arn:aws:iam::999999999999:role/ops'] })).toThrow(
      /params\.local\.directInvokePrincipals/,
    )
  })
})
