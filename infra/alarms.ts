import type { Cfn } from './cfn'
import type { StackPlan } from './plan'
import { SERVICE_NAME } from './stage-declarations'

/** Every route that can deny a caller (all but health), as the metrics' `route` dimension names them. */
export const DENIAL_ROUTES = [
  '/secrets/{name+}',
  '/batch-get-secrets',
  '/secrets:batchGet',
  '/secrets',
  '/whoami',
] as const

/**
 * Operators are told when rotation breaks, when denials spike (a misconfigured or probing consumer) and when
 * the API answers 5xx: one SNS topic per stage (email subscriber from params), an EventBridge rule for
 * Secrets Manager's RotationFailed event on this stack's secrets, and CloudWatch alarms.
 */
const topic = { Ref: 'AlarmTopic' }

/** A single metric (Namespace, MetricName, Dimensions) is summed over 5 minutes; metric math brings its own. */
export function alarm(description: string, metric: Cfn, threshold: number): Cfn {
  return {
    Type: 'AWS::CloudWatch::Alarm',
    Properties: {
      AlarmDescription: description,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
      ...('Metrics' in metric ? {} : { Period: 300, Statistic: 'Sum' }),
      Threshold: threshold,
      TreatMissingData: 'notBreaching',
      AlarmActions: [topic],
      OKActions: [topic],
      ...metric,
    },
  }
}

export function alarmResources(plan: StackPlan): Cfn {
  const resources: Cfn = {
    ...topicResources(plan),
    ...rotationFailedRule(plan),
    ...metricAlarms(plan),
    ...directInvocationAlarm(plan),
  }
  // Named alarms: an operator finds them by stage, and the dashboard lists them by ARN (infra/dashboard.ts).
  for (const [id, r] of Object.entries(resources) as [string, { Type?: string; Properties: Cfn }][])
    if (r.Type === ALARM) r.Properties = { AlarmName: alarmName(plan.decl.stage, id), ...r.Properties }
  return resources
}

const ALARM = 'AWS::CloudWatch::Alarm'
export const alarmName = (stage: string, logicalId: string): string => `${SERVICE_NAME}-${stage}-${logicalId}`

/** The ARNs (as Fn::Sub text) of the named alarms among `resources`. */
export function alarmArns(stage: string, resources: Cfn): string[] {
  return Object.entries(resources as Record<string, { Type?: string }>)
    .filter(([, r]) => r.Type === ALARM)
    .map(
      ([id]) =>
        `arn:\${AWS::Partition}:cloudwatch:\${AWS::Region}:\${AWS::AccountId}:alarm:${alarmName(stage, id)}`,
    )
}

function topicResources(plan: StackPlan): Cfn {
  const { stage, params } = plan.decl
  const prefix = `${SERVICE_NAME}-${stage}`
  return {
    AlarmTopic: {
      Type: 'AWS::SNS::Topic',
      // Not encrypted with alias/aws/sns: that AWS-managed key's policy cannot be changed to let EventBridge and
      // CloudWatch alarms publish, and the notifications name secrets and alarms, never a value.
      Properties: { TopicName: `${prefix}-alarms` },
    },
    ...(params.alarmEmail === undefined
      ? {}
      : {
          AlarmTopicEmail: {
            Type: 'AWS::SNS::Subscription',
            Properties: { TopicArn: topic, Protocol: 'email', Endpoint: params.alarmEmail },
          },
        }),
    AlarmTopicPolicy: {
      Type: 'AWS::SNS::TopicPolicy',
      Properties: {
        Topics: [topic],
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'EventBridgeAndCloudWatchPublish',
              Effect: 'Allow',
              Principal: { Service: ['events.amazonaws.com', 'cloudwatch.amazonaws.com'] },
              Action: 'sns:Publish',
              Resource: topic,
              Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
            },
          ],
        },
      },
    },
  }
}

function rotationFailedRule(plan: StackPlan): Cfn {
  const { stage } = plan.decl
  const prefix = `${SERVICE_NAME}-${stage}`
  return {
    RotationFailedRule: {
      Type: 'AWS::Events::Rule',
      Properties: {
        Description: `${prefix}: a rotation of one of this stack's secrets failed`,
        EventPattern: {
          source: ['aws.secretsmanager'],
          'detail-type': ['AWS Service Event via CloudTrail'],
          detail: {
            eventName: ['RotationFailed', 'RotationAbandoned'],
            additionalEventData: {
              SecretId: [
                {
                  prefix: {
                    'Fn::Sub': `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:${SERVICE_NAME}/${stage}/`,
                  },
                },
              ],
            },
          },
        },
        Targets: [{ Arn: topic, Id: 'AlarmTopic' }],
      },
    },
  }
}

function metricAlarms(plan: StackPlan): Cfn {
  const { stage, params } = plan.decl
  const prefix = `${SERVICE_NAME}-${stage}`
  return {
    RotationFunctionErrorsAlarm: alarm(
      `${prefix}: the rotation function failed (a rotation step threw; Secrets Manager will retry)`,
      {
        Namespace: 'AWS/Lambda',
        MetricName: 'Errors',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: 'RotateSecretLambdaFunction' } }],
      },
      1,
    ),
    // The register is then not updated for that event: containers learn of the move only at their TTL.
    InvalidationFunctionErrorsAlarm: alarm(
      `${prefix}: the cache invalidation function failed (an AWSCURRENT move may not reach the containers before their TTL)`,
      {
        Namespace: 'AWS/Lambda',
        MetricName: 'Errors',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: 'InvalidateCacheLambdaFunction' } }],
      },
      1,
    ),
    // Denials on every authenticated route (a probe through the batch endpoint tries 20 names a request), summed
    // with metric math: the EMF metrics carry a bounded route dimension, never a principal or a name.
    DenialSpikeAlarm: alarm(
      `${prefix}: more than ${params.denialAlarmThreshold} denied requests in 5 minutes`,
      {
        Metrics: [
          {
            Id: 'denied',
            Label: 'RequestsDenied, all routes',
            Expression: `SUM([${DENIAL_ROUTES.map((_, i) => `r${i}`).join(', ')}])`,
            ReturnData: true,
          },
          ...DENIAL_ROUTES.map((route, i) => ({
            Id: `r${i}`,
            ReturnData: false,
            MetricStat: {
              Metric: {
                Namespace: 'SecretBroker',
                MetricName: 'RequestsDenied',
                Dimensions: [
                  { Name: 'service', Value: SERVICE_NAME },
                  { Name: 'stage', Value: stage },
                  { Name: 'route', Value: route },
                ],
              },
              Period: 300,
              Stat: 'Sum',
            },
          })),
        ],
      },
      params.denialAlarmThreshold,
    ),
    Api5xxAlarm: alarm(
      `${prefix}: the API answered 5xx`,
      {
        Namespace: 'AWS/ApiGateway',
        MetricName: '5XXError',
        Dimensions: [{ Name: 'ApiName', Value: `${stage}-${SERVICE_NAME}` }],
      },
      5,
    ),
  }
}

/**
 * With `directInvokeDetection`, the rule of infra/direct-invoke.ts notifies the topic of each invocation API
 * Gateway did not make; this alarm keeps the state visible (ALARM until a quiet 5 minutes) next to the others.
 */
function directInvocationAlarm(plan: StackPlan): Cfn {
  const { stage, params } = plan.decl
  if (!params.directInvokeDetection) return {}
  return {
    DirectInvocationAlarm: alarm(
      `${SERVICE_NAME}-${stage}: an HTTP function was invoked directly, not by API Gateway`,
      {
        Namespace: 'AWS/Events',
        MetricName: 'TriggeredRules',
        Dimensions: [{ Name: 'RuleName', Value: { Ref: 'DirectInvocationRule' } }],
      },
      1,
    ),
  }
}
