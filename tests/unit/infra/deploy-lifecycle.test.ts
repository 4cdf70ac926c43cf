import { planAdoption } from '../../../infra/adoption'
import { dropEnforcedDependsOn } from '../../../infra/cfn'
import type { RetainedResource } from '../../../infra/deploy-guard'
import { describeLeftBehind, retainedByTemplate, stageView } from '../../../infra/deployed-stack'
import { buildResources, planStack } from '../../../infra/stack'
import { loadStageDeclarations } from '../../../infra/stage-declarations'

/**
 * The rest of a stage's lifecycle, pure: what sls remove keeps and says, where an operator looks (stage view,
 * dashboard), the adoption of retained resources, and the W3005 DependsOn drop. The deploy guard itself is
 * deploy-guard.test.ts; the lifecycle against moto is tests/integration/deploy.test.ts.
 */
describe('what sls remove keeps, and the stage view', () => {
  const template = JSON.stringify({
    Resources: {
      BrokerKey: { Type: 'AWS::KMS::Key', DeletionPolicy: 'Retain' },
      SecretOrdersDb: { Type: 'AWS::SecretsManager::Secret', DeletionPolicy: 'Retain' },
      HttpFunctionRole: { Type: 'AWS::IAM::Role' },
    },
  })

  it('lists the retained resources with their physical ids and how to deploy the stage again', () => {
    const left = retainedByTemplate(
      template,
      new Map([['BrokerKey', { type: 'AWS::KMS::Key', physicalId: 'k-1' }]]),
    )
    expect(left.map((l) => l.logicalId)).toEqual(['BrokerKey', 'SecretOrdersDb'])
    const lines = describeLeftBehind('dev', left)
    expect(lines).toContain('  - AWS::KMS::Key BrokerKey (k-1)')
    expect(lines).toContain('  - AWS::SecretsManager::Secret SecretOrdersDb')
    expect(lines.join('\n')).toMatch(/npm run adopt -- --stage dev[\s\S]*npx serverless deploy --stage dev/)
    expect(describeLeftBehind('dev', [])).toEqual([])
  })

  it('names the endpoint, dashboard and alarm topic from the stack resources', () => {
    const view = stageView(
      new Map([
        ['ApiGatewayRestApi', { type: 'AWS::ApiGateway::RestApi', physicalId: 'abc123' }],
        ['Dashboard', { type: 'AWS::CloudWatch::Dashboard', physicalId: 'secret-broker-dev' }],
        ['AlarmTopic', { type: 'AWS::SNS::Topic', physicalId: 'arn:aws:sns:us-east-1:1:t' }],
      ]),
      'dev',
      'us-east-1',
    )
    expect(view).toEqual({
      apiEndpoint: 'https://abc123.execute-api.us-east-1.amazonaws.com/dev',
      dashboard: 'secret-broker-dev',
      dashboardUrl:
        'https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#dashboards/dashboard/secret-broker-dev',
      alarmTopicArn: 'arn:aws:sns:us-east-1:1:t',
    })
  })
})

describe('adoption of retained resources', () => {
  const plan = planStack(loadStageDeclarations('dev'))
  const resources = buildResources(plan).Resources as Record<string, unknown>
  const core = { Description: 'core', Resources: { ServerlessDeploymentBucket: { Type: 'AWS::S3::Bucket' } } }
  const secret = (logicalId: string, name: string): RetainedResource => ({
    type: 'AWS::SecretsManager::Secret',
    logicalId,
    name,
    arn: `arn:aws:secretsmanager:us-east-1:345678901234:secret:${name}-AbCdEf`,
  })
  const key: RetainedResource = {
    type: 'AWS::KMS::Key',
    logicalId: 'BrokerKey',
    name: 'kid',
    arn: 'arn:aws:kms:us-east-1:345678901234:key/kid',
  }

  it('imports the key and the secrets into a new stack as their declarations, then adds the deployment bucket', () => {
    const result = planAdoption(
      [secret('SecretOrdersDb', 'secret-broker/dev/orders/db'), key],
      resources,
      undefined,
      core,
    )
    if ('problems' in result) throw new Error(result.problems.join('\n'))
    expect(result.kind).toBe('new-stack')
    expect(result.resourcesToImport).toEqual([
      { ResourceType: 'AWS::KMS::Key', LogicalResourceId: 'BrokerKey', ResourceIdentifier: { KeyId: 'kid' } },
      {
        ResourceType: 'AWS::SecretsManager::Secret',
        LogicalResourceId: 'SecretOrdersDb',
        ResourceIdentifier: {
          Id: 'arn:aws:secretsmanager:us-east-1:345678901234:secret:secret-broker/dev/orders/db-AbCdEf',
        },
      },
    ])
    expect(result.importTemplate.Resources?.['SecretOrdersDb']).toEqual(resources['SecretOrdersDb'])
    expect(Object.keys(result.followUpTemplate?.Resources ?? {})).toEqual([
      'BrokerKey',
      'SecretOrdersDb',
      'ServerlessDeploymentBucket',
    ])
  })

  it('imports only the secrets into an existing stack', () => {
    const deployed = { Resources: { BrokerKey: resources['BrokerKey'] as Record<string, unknown> } }
    const result = planAdoption(
      [secret('SecretOrdersDb', 'secret-broker/dev/orders/db')],
      resources,
      deployed,
      core,
    )
    if ('problems' in result) throw new Error(result.problems.join('\n'))
    expect(result.kind).toBe('existing-stack')
    expect(Object.keys(result.importTemplate.Resources ?? {})).toEqual(['BrokerKey', 'SecretOrdersDb'])
    expect(result.followUpTemplate).toBeUndefined()
  })

  it('says what prevents an adoption', () => {
    const scheduled = { ...secret('SecretOrdersDb', 'secret-broker/dev/orders/db'), deletionScheduled: true }
    const result = planAdoption(
      [scheduled, secret('SecretGone', 'secret-broker/dev/gone')],
      resources,
      undefined,
      core,
    )
    expect('problems' in result && result.problems).toEqual([
      expect.stringMatching(/secret-broker\/dev\/orders\/db is scheduled for deletion: restore it first/),
      expect.stringMatching(/^the retained secrets name no key by id or ARN/),
      expect.stringMatching(
        /^secret-broker\/dev\/gone is not declared in this stage any more \(SecretGone\)/,
      ),
    ])
    expect(planAdoption([], resources, undefined, core)).toEqual({
      problems: expect.arrayContaining(['no retained secret of this stage was found: nothing to adopt']),
    })
  })
})

describe('dropEnforcedDependsOn (cfn-lint W3005)', () => {
  it('drops only the DependsOn entries a Ref, GetAtt or Sub of the same resource already enforces', () => {
    const resources: Record<string, Record<string, unknown>> = {
      Fn: {
        DependsOn: ['Role', 'LogGroup', 'Other'],
        Properties: {
          Role: { 'Fn::GetAtt': ['Role', 'Arn'] },
          X: { 'Fn::Sub': 'a-${LogGroup}-${AWS::Region}' },
        },
      },
      Single: { DependsOn: 'Table', Properties: { T: { Ref: 'Table' } } },
      Kept: { DependsOn: 'Other', Properties: { T: { Ref: 'Table' } } },
    }
    expect(dropEnforcedDependsOn(resources)).toEqual(['Fn', 'Single'])
    expect(resources['Fn']!['DependsOn']).toEqual(['Other'])
    expect(resources['Single']!['DependsOn']).toBeUndefined()
    expect(resources['Kept']!['DependsOn']).toBe('Other')
  })
})

describe('the dashboard', () => {
  it('graphs what operators look at, per stage, next to the stage alarms', () => {
    const resources = buildResources(planStack(loadStageDeclarations('prod'))).Resources as Record<
      string,
      { Type: string; Properties: { DashboardName: string; DashboardBody: { 'Fn::Sub': string } } }
    >
    const dashboard = resources['Dashboard']!
    expect(dashboard.Properties.DashboardName).toBe('secret-broker-prod')
    const body = dashboard.Properties.DashboardBody['Fn::Sub']
    const titles = (JSON.parse(body) as { widgets: { properties: { title: string } }[] }).widgets.map(
      (w) => w.properties.title,
    )
    expect(titles[0]).toBe('Alarms of secret-broker-prod')
    for (const title of [
      /^Reads/,
      /^Cache hit rate/,
      /^Secrets Manager calls and failures/,
      /^Invalidation/,
      /^Rotation steps/,
      /^Rotation step duration/,
      /^Audit write failures/,
    ])
      expect(titles.some((t) => title.test(t))).toBe(true)
    for (const metric of [
      'RequestsDenied',
      'RequestsNotModified',
      'CacheHit',
      'CacheStale',
      'UpstreamCalls',
      'InvalidationRecorded',
      'RotationStepFailed',
      'AuditWriteFailed',
    ])
      expect(body).toContain(`MetricName=\\"${metric}\\" stage=\\"prod\\"`)
    const alarms = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm')
    expect(alarms.length).toBeGreaterThan(0)
    for (const [id] of alarms) expect(body).toContain(`:alarm:secret-broker-prod-${id}`)
  })
})
