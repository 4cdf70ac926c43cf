import { accountRoot, ref, type Cfn, type Statement } from './cfn'
import { executeApiResource, SIGNED_ROUTES } from './http-functions'
import type { StackPlan } from './plan'
import { SERVICE_NAME } from './stage-declarations'

/**
 * Where the API can be reached from and who may invoke it, merged into the REST API Serverless creates.
 *
 * `PRIVATE`: API Gateway serves the API only through the stage's interface VPC endpoints (associated here, so
 * their `<api-id>-<vpce-id>` DNS names resolve), and the resource policy denies any request that did not
 * come through one of them (`aws:SourceVpce`). `REGIONAL` and `EDGE` (by explicit choice only) are reachable
 * from the internet, where AWS_IAM is the only gate.
 *
 * The resource policy is a guardrail, not the authorization (the catalog is): whatever an identity policy
 * grants, a principal of another account is denied on the signed routes, and a PRIVATE API is denied to
 * every request from outside its endpoints. Principals of this account still need their own IAM permission
 * (`execute-api:Invoke`) — the account statement delegates to IAM, as IAM reads an account principal.
 */
export const HEALTH_RESOURCE = 'execute-api:/*/GET/health'

export function apiPolicyStatements(plan: StackPlan): Statement[] {
  const { params } = plan.decl
  const statements: Statement[] = [
    {
      Sid: 'AnyoneMayAskForHealth',
      Effect: 'Allow',
      Principal: '*',
      Action: 'execute-api:Invoke',
      Resource: HEALTH_RESOURCE,
    },
    {
      Sid: 'PrincipalsOfThisAccountAsTheirIamAllows',
      Effect: 'Allow',
      Principal: { AWS: accountRoot },
      Action: 'execute-api:Invoke',
      Resource: 'execute-api:/*',
    },
    {
      // aws:PrincipalAccount is absent from an unsigned request, so the negated operator denies those too.
      Sid: 'NoPrincipalOfAnotherAccountOnTheSignedRoutes',
      Effect: 'Deny',
      Principal: '*',
      Action: 'execute-api:Invoke',
      Resource: SIGNED_ROUTES.map(executeApiResource),
      Condition: { StringNotEquals: { 'aws:PrincipalAccount': ref('AWS::AccountId') } },
    },
  ]
  if (params.endpointType === 'PRIVATE') {
    statements.push({
      Sid: 'OnlyThroughTheStageVpcEndpoints',
      Effect: 'Deny',
      Principal: '*',
      Action: 'execute-api:Invoke',
      Resource: 'execute-api:/*',
      Condition: { StringNotEquals: { 'aws:SourceVpce': params.vpcEndpointIds ?? [] } },
    })
  }
  return statements
}

export function apiResources(plan: StackPlan): Cfn {
  const { params } = plan.decl
  return {
    ApiGatewayRestApi: {
      Type: 'AWS::ApiGateway::RestApi',
      Properties: {
        // provider.endpointType (serverless-bridge) sets the type; the endpoints are associated here, since
        // Serverless refuses vpcEndpointIds for any other type and its schema takes no empty value.
        ...(params.endpointType === 'PRIVATE'
          ? { EndpointConfiguration: { Types: ['PRIVATE'], VpcEndpointIds: params.vpcEndpointIds ?? [] } }
          : {}),
        Policy: { Version: '2012-10-17', Statement: apiPolicyStatements(plan) },
      },
    },
  }
}

/**
 * The access log line: who called what and the outcome. No headers, no bodies, no authorizer claims.
 */
export const ACCESS_LOG_FORMAT = JSON.stringify({
  requestId: '$context.requestId',
  ip: '$context.identity.sourceIp',
  caller: '$context.identity.userArn',
  method: '$context.httpMethod',
  path: '$context.resourcePath',
  status: '$context.status',
  latencyMs: '$context.responseLatency',
  responseLength: '$context.responseLength',
})

/**
 * The API stage as a template resource (added by infra/api-stage-plugin.cjs): access logs in a retained log
 * group, execution logging at ERROR with data tracing off, no stage cache (a cache keyed on the path would
 * hand one caller's secret to another), stage-wide throttling, X-Ray when tracing is on.
 */
export function apiStageResources(plan: StackPlan, deploymentId: string): Cfn {
  const { stage, params } = plan.decl
  return {
    ApiGatewayAccessLogGroup: {
      Type: 'AWS::Logs::LogGroup',
      Properties: {
        LogGroupName: `/aws/api-gateway/${SERVICE_NAME}-${stage}`,
        RetentionInDays: params.logRetentionDays,
      },
    },
    ApiGatewayStage: {
      Type: 'AWS::ApiGateway::Stage',
      Properties: {
        RestApiId: { Ref: 'ApiGatewayRestApi' },
        DeploymentId: { Ref: deploymentId },
        StageName: stage,
        TracingEnabled: params.tracing,
        CacheClusterEnabled: false,
        AccessLogSetting: {
          DestinationArn: { 'Fn::GetAtt': ['ApiGatewayAccessLogGroup', 'Arn'] },
          Format: ACCESS_LOG_FORMAT,
        },
        MethodSettings: [
          {
            ResourcePath: '/*',
            HttpMethod: '*',
            LoggingLevel: 'ERROR',
            DataTraceEnabled: false,
            MetricsEnabled: true,
            CachingEnabled: false,
            ThrottlingRateLimit: params.apiThrottleRatePerSecond,
            ThrottlingBurstLimit: params.apiThrottleBurst,
          },
        ],
      },
    },
  }
}
