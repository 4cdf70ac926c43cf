import {
  CLOUDTRAIL_SERVICE_EVENT,
  LABEL_UPDATED,
  parseSecretArn,
  REGISTER_KEY_ATTRIBUTE,
  REGISTER_TTL_ATTRIBUTE,
  ROTATION_SUCCEEDED,
  SECRETS_MANAGER_SOURCE,
} from '../src/contract/register'
import { AWSCURRENT } from '../src/contract/version-stages'
import { allow, getAtt, sub, type Cfn, type Statement } from './cfn'
import { registerTable } from './environments'
import { secretAwsName, type StackPlan } from './plan'
import { SERVICE_NAME } from './stage-declarations'

/**
 * Cache invalidation from Secrets Manager's own events: the register (a DynamoDB table, on demand, with a
 * TTL attribute), two EventBridge rules on the account's default bus — Secrets Manager's `Secret Label
 * Updated` for AWSCURRENT, and CloudTrail's `RotationSucceeded` — matching only this account, this region
 * and this stage's secrets, targeting the invalidation function, and that function's permissions. Its IAM
 * role is in iam.ts (it may only write the register; the HTTP role may only read it), its alarm in alarms.ts.
 */
export const REGISTER_TABLE_ID = 'RegisterTable'
export const INVALIDATION_FUNCTION_ID = 'InvalidateCacheLambdaFunction'
export const INVALIDATION_RULES = ['SecretLabelUpdatedRule', 'RotationSucceededRule'] as const

export const registerTableArn: Cfn = getAtt(REGISTER_TABLE_ID, 'Arn')

/** Secrets declared by ARN (not under the stage's name prefix) that the broker serves. */
function externalBrokered(plan: StackPlan): { name: string; arn: string }[] {
  return Object.values(plan.decl.params.secrets).flatMap((s) => {
    const parsed = s.arn === undefined || s.readers.length === 0 ? undefined : parseSecretArn(s.arn)
    return parsed === undefined || s.arn === undefined ? [] : [{ name: parsed.name, arn: s.arn }]
  })
}

/** The stack's own secrets share this name prefix; the function still checks each name against the catalog. */
const stagePrefix = (plan: StackPlan): string => secretAwsName(plan.decl.stage, '')

const thisAccountAndRegion = { account: [{ Ref: 'AWS::AccountId' }], region: [{ Ref: 'AWS::Region' }] }

export function labelUpdatedPattern(plan: StackPlan): Cfn {
  return {
    source: [SECRETS_MANAGER_SOURCE],
    'detail-type': [LABEL_UPDATED],
    ...thisAccountAndRegion,
    detail: {
      labelUpdated: [AWSCURRENT],
      name: [{ prefix: stagePrefix(plan) }, ...externalBrokered(plan).map((e) => e.name)],
    },
  }
}

export function rotationSucceededPattern(plan: StackPlan): Cfn {
  return {
    source: [SECRETS_MANAGER_SOURCE],
    'detail-type': [CLOUDTRAIL_SERVICE_EVENT],
    ...thisAccountAndRegion,
    detail: {
      eventSource: ['secretsmanager.amazonaws.com'],
      eventName: [ROTATION_SUCCEEDED],
      additionalEventData: {
        SecretId: [
          {
            prefix: sub(
              `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:${stagePrefix(plan)}`,
            ),
          },
          ...externalBrokered(plan).map((e) => e.arn),
        ],
      },
    },
  }
}

function rule(description: string, pattern: Cfn): Cfn {
  return {
    Type: 'AWS::Events::Rule',
    Properties: {
      Description: description,
      EventPattern: pattern,
      Targets: [
        {
          Arn: getAtt(INVALIDATION_FUNCTION_ID, 'Arn'),
          Id: 'InvalidateCache',
          // Delivery to Lambda is retried for a day; the function's own failures are retried by Lambda and alarm.
          RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86_400 },
        },
      ],
    },
  }
}

function permission(ruleId: string): Cfn {
  return {
    Type: 'AWS::Lambda::Permission',
    Properties: {
      Action: 'lambda:InvokeFunction',
      FunctionName: getAtt(INVALIDATION_FUNCTION_ID, 'Arn'),
      Principal: 'events.amazonaws.com',
      SourceArn: getAtt(ruleId, 'Arn'),
    },
  }
}

export function invalidationResources(plan: StackPlan): Cfn {
  const prefix = `${SERVICE_NAME}-${plan.decl.stage}`
  return {
    [REGISTER_TABLE_ID]: {
      Type: 'AWS::DynamoDB::Table',
      // Its content is derived (the last AWSCURRENT moves): losing it costs one TTL of freshness, nothing more.
      DeletionPolicy: 'Delete',
      UpdateReplacePolicy: 'Delete',
      Properties: {
        TableName: registerTable(plan),
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: REGISTER_KEY_ATTRIBUTE, AttributeType: 'S' }],
        KeySchema: [{ AttributeName: REGISTER_KEY_ATTRIBUTE, KeyType: 'HASH' }],
        TimeToLiveSpecification: { AttributeName: REGISTER_TTL_ATTRIBUTE, Enabled: true },
      },
    },
    SecretLabelUpdatedRule: rule(
      `${prefix}: AWSCURRENT moved on one of this stage's secrets (Secrets Manager's Secret Label Updated)`,
      labelUpdatedPattern(plan),
    ),
    RotationSucceededRule: rule(
      `${prefix}: a rotation of one of this stage's secrets succeeded (CloudTrail RotationSucceeded)`,
      rotationSucceededPattern(plan),
    ),
    SecretLabelUpdatedRulePermission: permission('SecretLabelUpdatedRule'),
    RotationSucceededRulePermission: permission('RotationSucceededRule'),
  }
}

/** The HTTP functions read the register: the generation item and the items of the secrets they hold. */
export function registerReadStatement(): Statement {
  return allow(['dynamodb:GetItem', 'dynamodb:BatchGetItem'], registerTableArn)
}

/** The invalidation function writes the register (TransactWriteItems of two updates needs UpdateItem only). */
export function registerWriteStatement(): Statement {
  return allow(['dynamodb:UpdateItem'], registerTableArn)
}
