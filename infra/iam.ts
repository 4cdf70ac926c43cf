import {
  allow,
  getAtt,
  httpRoleName,
  invalidationRoleName,
  partitionArn,
  policyDocument,
  rotationRoleName,
  sub,
  viaSecretsManager,
  type Cfn,
  type Statement,
} from './cfn'
import { HTTP_FUNCTIONS, httpFunctionName } from './http-functions'
import { registerReadStatement, registerWriteStatement } from './invalidation'
import { externalBrokeredArns, isBrokered, masterSecretRefs, rotatedSecrets, type StackPlan } from './plan'
import { SERVICE_NAME } from './stage-declarations'

/**
 * One IAM role per kind of function, each with exactly what its functions do: the HTTP functions read the
 * brokered secrets; the rotation function reads and writes the rotated ones and reads their masters. No `*`
 * action anywhere; `*` resources only where AWS accepts nothing narrower, each said where it appears.
 */
const keyArn = getAtt('BrokerKey', 'Arn')

/**
 * Each role writes only its own functions' log groups: the HTTP functions' groups hold the audit records,
 * which nothing else may append to.
 */
function logStatements(functionNames: readonly string[]): Statement[] {
  return [
    allow(
      ['logs:CreateLogStream', 'logs:PutLogEvents'],
      functionNames.map((name) => partitionArn('logs', `log-group:/aws/lambda/${name}:*`)),
    ),
  ]
}

export const ROTATION_FUNCTION = 'rotateSecret'
export const INVALIDATION_FUNCTION = 'invalidateCache'

function tracingStatements(enabled: boolean): Statement[] {
  return enabled ? [allow(['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], '*')] : []
}

function lambdaRole(name: string, statements: Statement[]): Cfn {
  return {
    Type: 'AWS::IAM::Role',
    Properties: {
      RoleName: name,
      AssumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
        ],
      },
      Policies: [{ PolicyName: name, PolicyDocument: policyDocument(statements) }],
    },
  }
}

function httpRole(plan: StackPlan): Cfn {
  const { stage, params } = plan.decl
  const brokered: unknown[] = [
    ...plan.managed.filter((m) => isBrokered(plan, m)).map((m) => ({ Ref: m.logicalId })),
    ...externalBrokeredArns(plan),
  ]
  return lambdaRole(httpRoleName(stage), [
    ...logStatements(HTTP_FUNCTIONS.map((k) => httpFunctionName(stage, k))),
    ...(brokered.length === 0
      ? []
      : [allow(['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'], brokered)]),
    allow(['kms:Decrypt'], keyArn, viaSecretsManager),
    ...tracingStatements(params.tracing),
    // Cache invalidation (infra/invalidation.ts): the HTTP functions only read the register.
    registerReadStatement(),
  ])
}

/**
 * iam-access-key: exactly the four access-key actions the strategy calls, on the IAM users its secrets
 * name (a user at the root path, or under any path: IAM user names contain no `/`, so `user/*\/<name>`
 * matches that user only). GetCallerIdentity, signed with the new key, needs no permission.
 */
export const ACCESS_KEY_ROTATION_ACTIONS = [
  'iam:ListAccessKeys',
  'iam:CreateAccessKey',
  'iam:UpdateAccessKey',
  'iam:DeleteAccessKey',
] as const

function accessKeyStatements(plan: StackPlan): Statement[] {
  const users = rotatedSecrets(plan)
    .filter((m) => m.rotation?.strategy === 'iam-access-key')
    .map((m) => m.username)
  if (users.length === 0) return []
  const userArn = (path: string): Cfn => sub(`arn:\${AWS::Partition}:iam::\${AWS::AccountId}:user/${path}`)
  return [
    allow(
      [...ACCESS_KEY_ROTATION_ACTIONS],
      [...new Set(users)].flatMap((u) => [userArn(u), userArn(`*/${u}`)]),
    ),
  ]
}

function rotationRole(plan: StackPlan): Cfn {
  const { stage, params } = plan.decl
  const rotated = rotatedSecrets(plan)
  const masters = masterSecretRefs(plan)
  return lambdaRole(rotationRoleName(stage), [
    ...logStatements([`${SERVICE_NAME}-${stage}-${ROTATION_FUNCTION}`]),
    ...(rotated.length === 0
      ? []
      : [
          allow(
            [
              'secretsmanager:DescribeSecret',
              'secretsmanager:GetSecretValue',
              'secretsmanager:PutSecretValue',
              'secretsmanager:UpdateSecretVersionStage',
            ],
            rotated.map((m) => ({ Ref: m.logicalId })),
          ),
        ]),
    ...(masters.length === 0
      ? []
      : [allow(['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'], masters)]),
    // GetRandomPassword acts on no resource: AWS accepts nothing narrower than "*".
    allow(['secretsmanager:GetRandomPassword'], '*'),
    allow(['kms:Decrypt', 'kms:GenerateDataKey'], keyArn, viaSecretsManager),
    ...accessKeyStatements(plan),
    // ENI management for a function in a VPC: these actions take no resource ARN either.
    ...(params.rotationVpc === undefined
      ? []
      : [
          allow(
            [
              'ec2:CreateNetworkInterface',
              'ec2:DescribeNetworkInterfaces',
              'ec2:DeleteNetworkInterface',
              'ec2:AssignPrivateIpAddresses',
              'ec2:UnassignPrivateIpAddresses',
            ],
            '*',
          ),
        ]),
    ...tracingStatements(params.tracing),
  ])
}

/** Cache invalidation (infra/invalidation.ts): the invalidation function may only write the register. */
function invalidationRole(plan: StackPlan): Cfn {
  const { stage, params } = plan.decl
  return lambdaRole(invalidationRoleName(stage), [
    ...logStatements([`${SERVICE_NAME}-${stage}-${INVALIDATION_FUNCTION}`]),
    registerWriteStatement(),
    ...tracingStatements(params.tracing),
  ])
}

export function iamResources(plan: StackPlan): Cfn {
  return {
    HttpFunctionRole: httpRole(plan),
    RotationFunctionRole: rotationRole(plan),
    InvalidationFunctionRole: invalidationRole(plan),
  }
}
