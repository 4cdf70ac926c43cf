import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  boundaryPolicyName,
  directInvokeEventPattern,
  MANAGED_POLICY_MAX_CHARACTERS,
  SCP_MAX_CHARACTERS,
} from '../../infra/direct-invoke'
import { loadStageDeclarations } from '../../infra/stage-declarations'
import { packageStage, type PackageResult } from '../../scripts/package'
import { eventPatternMatches } from '../support/event-pattern'
import { recordFigures, REPO_ROOT } from './support/adversarial'

/**
 * Issue 17 §1–2 on packaged templates (cfn-lint clean): where the API can be reached from for each endpoint
 * type, the per-stage direct-invocation SCP and boundary packaging writes, and the optional detection (its
 * EventBridge pattern matched by moto's implementation against sample CloudTrail events). What the policies
 * allow is evaluated in policy-evaluation.test.ts.
 */
type Resource = { Type: string; Properties?: Record<string, unknown>; DependsOn?: unknown }
type Template = { Resources: Record<string, Resource> }
type Statement = {
  Sid?: string
  Effect: string
  Action: string | string[]
  Resource: unknown
  Condition?: Record<string, Record<string, unknown>>
}

const asArray = <T>(x: T | T[] | undefined): T[] => (x === undefined ? [] : Array.isArray(x) ? x : [x])
const byType = (t: Template, type: string) => Object.entries(t.Resources).filter(([, r]) => r.Type === type)
const figures: Record<string, unknown> = {}

function packaged(
  stage: string,
  name: string,
  overrides?: Record<string, unknown>,
): PackageResult & { t: Template } {
  const result = packageStage(stage, join(REPO_ROOT, '.tmp', 'perimeter', name), overrides)
  if (!result.ok) throw new Error(`packaging ${name} failed:\n${result.output.slice(-3000)}`)
  return { ...result, t: JSON.parse(readFileSync(result.template, 'utf8')) as Template }
}

const restApi = (t: Template) =>
  (byType(t, 'AWS::ApiGateway::RestApi')[0] as [string, Resource])[1].Properties ?? {}
const apiStatements = (t: Template) => (restApi(t)['Policy'] as { Statement: Statement[] }).Statement

/** The template's AWS_IAM methods as execute-api resources, from its Method and Resource resources. */
function signedMethods(t: Template): string[] {
  const pathOf = (id: string): string => {
    const r = t.Resources[id]?.Properties ?? {}
    const parent = (r['ParentId'] as { Ref?: string } | undefined)?.Ref
    const part = String(r['PathPart']).replace(/\{[^}]+\+\}/, '*')
    return parent === undefined ? `/${part}` : `${pathOf(parent)}/${part}`
  }
  return byType(t, 'AWS::ApiGateway::Method')
    .filter(([, m]) => m.Properties?.['AuthorizationType'] === 'AWS_IAM')
    .map(
      ([, m]) =>
        `execute-api:/*/${String(m.Properties?.['HttpMethod'])}${pathOf((m.Properties?.['ResourceId'] as { Ref: string }).Ref)}`,
    )
}

describe.each([
  { stage: 'dev', name: 'dev', overrides: undefined, type: 'REGIONAL' },
  { stage: 'prod', name: 'prod', overrides: undefined, type: 'PRIVATE' },
  { stage: 'local', name: 'local-edge', overrides: { endpointType: 'EDGE' }, type: 'EDGE' },
])('the $type endpoint ($name template, cfn-lint clean)', ({ stage, name, overrides, type }) => {
  let t: Template
  beforeAll(() => {
    t = packaged(stage, name, overrides).t
  }, 120_000)

  it(`is served as ${type}`, () => {
    const config = restApi(t)['EndpointConfiguration'] as { Types: string[]; VpcEndpointIds?: string[] }
    expect(config.Types).toEqual([type])
    if (type === 'PRIVATE')
      expect(config.VpcEndpointIds).toEqual(loadStageDeclarations(stage).params.vpcEndpointIds)
    else expect(config.VpcEndpointIds).toBeUndefined()
  })

  it('denies other accounts every signed method of the template, and only those', () => {
    const deny = apiStatements(t).find((s) => s.Sid === 'NoPrincipalOfAnotherAccountOnTheSignedRoutes')
    expect(deny?.Effect).toBe('Deny')
    expect(deny?.Condition).toEqual({
      StringNotEquals: { 'aws:PrincipalAccount': { Ref: 'AWS::AccountId' } },
    })
    expect(asArray(deny?.Resource as string[]).sort()).toEqual(signedMethods(t).sort())
    figures[`${name}: signed methods`] = signedMethods(t).length
  })

  const vpceStatements = () =>
    apiStatements(t).filter((s) => JSON.stringify(s.Condition ?? {}).includes('aws:SourceVpce'))
  if (type === 'PRIVATE') {
    it("denies every request that did not come through the stage's endpoints", () => {
      expect(vpceStatements()).toEqual([
        {
          Sid: 'OnlyThroughTheStageVpcEndpoints',
          Effect: 'Deny',
          Principal: '*',
          Action: 'execute-api:Invoke',
          Resource: 'execute-api:/*',
          Condition: {
            StringNotEquals: { 'aws:SourceVpce': loadStageDeclarations(stage).params.vpcEndpointIds },
          },
        },
      ])
    })
  } else {
    it('names no VPC endpoint', () => {
      expect(vpceStatements()).toEqual([])
    })
  }
})

describe('packaging refuses a PRIVATE endpoint without its VPC endpoints', () => {
  it('names the field and what it must hold', () => {
    const result = packageStage('local', join(REPO_ROOT, '.tmp', 'perimeter', 'refused'), {
      endpointType: 'PRIVATE',
    })
    expect(result.ok).toBe(false)
    expect(result.output).toContain(
      'params.local.vpcEndpointIds: endpointType PRIVATE needs the interface VPC endpoint ids (vpce-…)',
    )
  }, 60_000)
})

describe('the side door: what packaging writes for prod, and the detection', () => {
  let prod: PackageResult & { t: Template }
  let httpFunctions: string[]
  let rotationFunction: string
  const { params } = loadStageDeclarations('prod')
  beforeAll(() => {
    prod = packaged('prod', 'prod-side-door')
    const fns = byType(prod.t, 'AWS::Lambda::Function')
    const named = (role: string) =>
      fns
        .filter(([, f]) => JSON.stringify(f.Properties?.['Role']).includes(role))
        .map(([, f]) => String(f.Properties?.['FunctionName']))
    httpFunctions = named('HttpFunctionRole').sort()
    rotationFunction = named('RotationFunctionRole')[0] as string
  }, 120_000)

  const arnsOf = (names: string[]) =>
    names.flatMap((n) => {
      const arn = `arn:aws:lambda:${params.region}:${params.accountId}:function:${n}`
      return [arn, `${arn}:*`]
    })

  it.each(['scp', 'boundary'] as const)(
    'writes a %s that denies invoking exactly the HTTP functions to all but the exempt',
    (kind) => {
      const text = readFileSync(prod.artifacts[kind], 'utf8')
      expect(text.length).toBeLessThanOrEqual(
        kind === 'scp' ? SCP_MAX_CHARACTERS : MANAGED_POLICY_MAX_CHARACTERS,
      )
      figures[`prod ${kind} characters`] = text.length
      const doc = JSON.parse(text) as { Version: string; Statement: Statement[] }
      expect(doc.Version).toBe('2012-10-17')
      const invoke = doc.Statement.find((s) =>
        asArray(s.Action).includes('lambda:InvokeFunction'),
      ) as Statement
      expect(invoke.Effect).toBe('Deny')
      expect(asArray(invoke.Action).sort()).toEqual([
        'lambda:InvokeAsync',
        'lambda:InvokeFunction',
        'lambda:InvokeFunctionUrl',
      ])
      expect(asArray(invoke.Resource as string[]).sort()).toEqual(arnsOf(httpFunctions).sort())
      expect(JSON.stringify(invoke.Resource)).not.toContain(rotationFunction)
      expect(invoke.Condition).toEqual({
        ArnNotLike: {
          'aws:PrincipalArn': [params.deploymentRoleArn, ...(params.directInvokePrincipals ?? [])],
        },
        BoolIfExists: { 'aws:PrincipalIsAWSService': 'false' },
      })
      // SCPs have no Principal; neither has a boundary's statement.
      for (const s of doc.Statement) expect(s).not.toHaveProperty('Principal')
    },
  )

  it('writes a boundary that keeps itself attached, under the name it tells the operator to use', () => {
    const doc = JSON.parse(readFileSync(prod.artifacts.boundary, 'utf8')) as { Statement: Statement[] }
    const name = `arn:aws:iam::${params.accountId}:policy/${boundaryPolicyName('prod')}`
    expect(doc.Statement.find((s) => s.Sid === 'NoEditingThisBoundary')?.Resource).toBe(name)
    expect(
      JSON.stringify(doc.Statement.find((s) => s.Sid === 'NewAndChangedPrincipalsCarryThisBoundary')),
    ).toContain(name)
    expect(doc.Statement[0]).toEqual({
      Sid: 'EverythingElseAsTheIdentityPoliciesAllow',
      Effect: 'Allow',
      Action: '*',
      Resource: '*',
    })
  })

  it("records the HTTP functions' invocations in a trail of their own, data events only", () => {
    const trail = prod.t.Resources['DirectInvocationTrail'] as Resource
    const selectors = trail.Properties?.['AdvancedEventSelectors'] as {
      FieldSelectors: Record<string, unknown>[]
    }[]
    expect(selectors).toHaveLength(1)
    const fields = Object.fromEntries((selectors[0]?.FieldSelectors ?? []).map((f) => [f['Field'], f]))
    expect(fields['eventCategory']).toEqual({ Field: 'eventCategory', Equals: ['Data'] })
    expect(fields['resources.type']).toEqual({ Field: 'resources.type', Equals: ['AWS::Lambda::Function'] })
    const traced = asArray(
      fields['resources.ARN']?.['StartsWith'] as { 'Fn::GetAtt': [string, string] }[],
    ).map((g) => g['Fn::GetAtt'][0])
    const logicalIds = byType(prod.t, 'AWS::Lambda::Function')
      .filter(([, f]) => httpFunctions.includes(String(f.Properties?.['FunctionName'])))
      .map(([id]) => id)
    expect(traced.sort()).toEqual(logicalIds.sort())
    expect(trail.DependsOn).toEqual(['DirectInvocationTrailBucketPolicy'])
    const bucket = prod.t.Resources['DirectInvocationTrailBucket']?.Properties ?? {}
    expect(bucket['PublicAccessBlockConfiguration']).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    })
  })

  it('alarms on the stage topic through a rule whose pattern is the one tested below', () => {
    const rule = prod.t.Resources['DirectInvocationRule'] as Resource
    expect(rule.Properties?.['EventPattern']).toEqual(directInvokeEventPattern('prod'))
    expect(JSON.stringify(rule.Properties?.['Targets'])).toContain('"Ref":"AlarmTopic"')
    const alarm = prod.t.Resources['DirectInvocationAlarm'] as Resource
    expect(alarm.Properties).toMatchObject({
      Namespace: 'AWS/Events',
      MetricName: 'TriggeredRules',
      Dimensions: [{ Name: 'RuleName', Value: { Ref: 'DirectInvocationRule' } }],
      AlarmActions: [{ Ref: 'AlarmTopic' }],
    })
  })

  it('matches an invocation API Gateway did not make, in every form of the function name, and nothing else', () => {
    const account = params.accountId
    const fn = 'secret-broker-prod-getSecret'
    const arn = `arn:aws:lambda:us-east-1:${account}:function:${fn}`
    const event = (
      functionName: string,
      userIdentity: Record<string, unknown>,
      extra: Record<string, unknown> = {},
    ) => ({
      version: '0',
      id: '6f1c0f42-0000-4000-8000-000000000000',
      'detail-type': 'AWS API Call via CloudTrail',
      source: 'aws.lambda',
      account,
      time: '2026-11-30T12:00:00Z',
      region: 'us-east-1',
      resources: [],
      detail: {
        eventVersion: '1.09',
        userIdentity,
        eventTime: '2026-11-30T12:00:00Z',
        eventSource: 'lambda.amazonaws.com',
        eventName: 'Invoke',
        awsRegion: 'us-east-1',
        sourceIPAddress: '203.0.113.7',
        userAgent: 'aws-cli/2.17.0',
        requestParameters: { functionName, invocationType: 'RequestResponse' },
        responseElements: null,
        additionalEventData: { functionVersion: `${arn}:$LATEST` },
        resources: [{ accountId: account, type: 'AWS::Lambda::Function', ARN: arn }],
        eventType: 'AwsApiCall',
        managementEvent: false,
        readOnly: false,
        eventCategory: 'Data',
        ...extra,
      },
    })
    const someone = {
      type: 'AssumedRole',
      principalId: 'AROAEXAMPLE:alice',
      arn: `arn:aws:sts::${account}:assumed-role/power-user/alice`,
      accountId: account,
    }
    const apiGateway = { type: 'AWSService', invokedBy: 'apigateway.amazonaws.com' }
    const direct = [
      event(fn, someone),
      event(arn, someone),
      event(`${account}:function:${fn}`, someone),
      event(`${arn}:$LATEST`, someone),
      event('secret-broker-prod-batchGetSecrets', someone),
      event(arn, { type: 'AWSService', invokedBy: 'events.amazonaws.com' }),
    ]
    const notDirect = [
      event(arn, apiGateway, {
        sourceIPAddress: 'apigateway.amazonaws.com',
        userAgent: 'apigateway.amazonaws.com',
      }),
      event('secret-broker-prod-rotateSecret', someone),
      event('secret-broker-dev-getSecret', someone),
      event('secret-broker-prod-getSecretSomething', someone),
      { ...event(arn, someone), detail: { ...event(arn, someone).detail, eventName: 'GetFunction' } },
    ]
    const matches = eventPatternMatches(directInvokeEventPattern('prod'), [...direct, ...notDirect])
    expect(matches).toEqual([...direct.map(() => true), ...notDirect.map(() => false)])
    figures['detection sample events'] = { matched: direct.length, notMatched: notDirect.length }
  })

  it('adds no detection to a stage that does not ask for it (dev)', () => {
    const dev = packaged('dev', 'dev-side-door').t
    expect(Object.keys(dev.Resources).filter((id) => id.startsWith('DirectInvocation'))).toEqual([])
  }, 120_000)
})

afterAll(() => {
  recordFigures('perimeter', figures)
})
