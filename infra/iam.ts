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
import {
  brokeredPrefixes,
  externalBrokeredArns,
  isBrokered,
  masterSecretRefs,
  rotatedSecrets,
  type StackPlan,
} from './plan'
import { SERVICE_NAME } from './stage-declarations'
import { policyChars, TEMPLATE_LIMITS } from './template-limits'

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

const READ_SECRET = ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret']

/**
 * Room left in the HTTP role's 10,240 characters of inline policy for statements added beside the secret
 * grants, so that listing each managed secret's ARN never pushes the role past IAM's limit.
 */
export const HTTP_ROLE_POLICY_HEADROOM_CHARS = 1024

/**
 * What the HTTP functions may read: each brokered secret the stack creates, by its ARN (a Ref) while the
 * list fits the role's policy, else the stage's own name space `secret-broker/<stage>/*` (the secrets of it
 * that are not brokered, such as masters, still deny the HTTP role in their resource policies); each
 * existing secret declared by ARN; each brokered prefix by a prefix ARN, with its tag condition when the
 * stage requires the owners to opt in.
 */
export function httpSecretStatements(plan: StackPlan, others: readonly Statement[] = []): Statement[] {
  const { stage, params } = plan.decl
  const external = externalBrokeredArns(plan)
  const refs = plan.managed.filter((m) => isBrokered(plan, m)).map((m) => ({ Ref: m.logicalId }))
  const prefixStatements = prefixReadStatements(plan)
  const exact = [...refs, ...external]
  const statementsWith = (managed: unknown[]): Statement[] => [
    ...(managed.length === 0 ? [] : [allow(READ_SECRET, managed)]),
    ...prefixStatements,
  ]
  const exactStatements = statementsWith(exact)
  const ctx = {
    region: params.region,
    accountId: params.accountId,
    secretNames: new Map(plan.managed.map((m) => [m.logicalId, m.awsName])),
  }
  const fits =
    policyChars(policyDocument([...others, ...exactStatements]), {}, ctx) <=
    TEMPLATE_LIMITS.roleInlinePolicyChars - HTTP_ROLE_POLICY_HEADROOM_CHARS
  if (fits || refs.length === 0) return exactStatements
  return statementsWith([partitionArn('secretsmanager', `secret:${SERVICE_NAME}/${stage}/*`), ...external])
}

/** One statement per distinct tag requirement, listing the prefix ARNs (`secret:orders/*`) under it. */
function prefixReadStatements(plan: StackPlan): Statement[] {
  const groups = new Map<string, { tag: { key: string; value: string } | undefined; arns: Cfn[] }>()
  for (const p of brokeredPrefixes(plan)) {
    const key = p.requireTag === undefined ? '' : JSON.stringify([p.requireTag.key, p.requireTag.value])
    const group = groups.get(key) ?? { tag: p.requireTag, arns: [] }
    group.arns.push(partitionArn('secretsmanager', `secret:${p.secretPrefix}*`))
    groups.set(key, group)
  }
  return [...groups.values()].map(({ tag, arns }) =>
    allow(
      READ_SECRET,
      arns,
      tag === undefined
        ? undefined
        : { StringEquals: { [`secretsmanager:ResourceTag/${tag.key}`]: tag.value } },
    ),
  )
}

function httpRole(plan: StackPlan): Cfn {
  const { stage, params } = plan.decl
  const logs = logStatements(HTTP_FUNCTIONS.map((k) => httpFunctionName(stage, k)))
  const rest = [
    allow(['kms:Decrypt'], keyArn, viaSecretsManager),
    ...tracingStatements(params.tracing),
    // Cache invalidation (infra/invalidation.ts): the HTTP functions only read the register.
    registerReadStatement(),
  ]
  return lambdaRole(httpRoleName(stage), [
    ...logs,
    ...httpSecretStatements(plan, [...logs, ...rest]),
    ...rest,
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
