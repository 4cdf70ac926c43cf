import { accountRoot, type Cfn } from './cfn'
import type { StackPlan } from './plan'
import { SERVICE_NAME } from './stage-declarations'

/**
 * Only principals of this account may invoke the API at all (health is open to anyone who can reach it);
 * the broker's catalog then decides which of them may read what. Merged into the REST API Serverless creates.
 */
export function apiResources(): Cfn {
  return {
    ApiGatewayRestApi: {
      Type: 'AWS::ApiGateway::RestApi',
      Properties: {
        Policy: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: '*',
              Action: 'execute-api:Invoke',
              Resource: 'execute-api:/*/GET/health',
            },
            {
              Effect: 'Allow',
              Principal: { AWS: accountRoot },
              Action: 'execute-api:Invoke',
              Resource: 'execute-api:/*',
            },
          ],
        },
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
