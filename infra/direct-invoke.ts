import { getAtt, ref, sub, type Cfn, type Statement } from './cfn'
import { HTTP_FUNCTIONS, httpFunctionLogicalId, httpFunctionName } from './http-functions'
import type { StackPlan } from './plan'
import { SERVICE_NAME } from './stage-declarations'

/**
 * The side door: the HTTP functions trust `requestContext.identity` because only API Gateway is meant to call
 * them. Any principal allowed `lambda:InvokeFunction` on them could hand one a forged event. What closes it
 * lives outside the stack, since it restricts the account's principals rather than the stack's resources:
 *
 * - a service control policy (Organizations) and, for accounts without Organizations, a permissions boundary,
 *   both written by packaging per stage, that deny invoking these functions — and changing their code,
 *   permissions or URLs — to every principal but the deployment role and `directInvokePrincipals`. API
 *   Gateway invokes them as a service principal, which SCPs never restrict and the conditions exempt too;
 * - optionally (`directInvokeDetection`), CloudTrail data events for the functions and an EventBridge rule
 *   that notifies the stage's alarm topic of every invocation API Gateway did not make.
 *
 * The functions' own check of the API id and stage (src/lib/middleware/api-origin.ts) is a tripwire against
 * mistakes (a test event, a wrongly wired integration), not a control: a forger can copy both values.
 */

/** Actions that invoke a function. */
export const INVOKE_ACTIONS = ['lambda:InvokeFunction', 'lambda:InvokeFunctionUrl', 'lambda:InvokeAsync']

/** Actions that would reopen the door: new invoke permissions, function URLs, new code or configuration. */
export const REOPEN_ACTIONS = [
  'lambda:AddPermission',
  'lambda:CreateFunctionUrlConfig',
  'lambda:UpdateFunctionUrlConfig',
  'lambda:UpdateFunctionCode',
  'lambda:UpdateFunctionConfiguration',
  'lambda:CreateAlias',
  'lambda:UpdateAlias',
  'lambda:PublishVersion',
]

/** SCPs are limited to 5,120 characters, managed policies (a boundary) to 6,144. */
export const SCP_MAX_CHARACTERS = 5120
export const MANAGED_POLICY_MAX_CHARACTERS = 6144

/** Principals exempt from the deny: the deployment role (CloudFormation updates the functions) and the named ones. */
export function directInvokeExemptions(plan: StackPlan): string[] {
  const { params } = plan.decl
  return [params.deploymentRoleArn, ...(params.directInvokePrincipals ?? [])]
}

/** Each HTTP function's ARN, unqualified and with any qualifier (version or alias). */
export function httpFunctionArns(plan: StackPlan): string[] {
  const { stage, params } = plan.decl
  return HTTP_FUNCTIONS.flatMap((k) => {
    const arn = `arn:aws:lambda:${params.region}:${params.accountId}:function:${httpFunctionName(stage, k)}`
    return [arn, `${arn}:*`]
  })
}

function denyStatements(plan: StackPlan): Statement[] {
  const condition = {
    ArnNotLike: { 'aws:PrincipalArn': directInvokeExemptions(plan) },
    // SCPs never apply to service principals; a boundary-style evaluation must not deny API Gateway either.
    BoolIfExists: { 'aws:PrincipalIsAWSService': 'false' },
  }
  const sid = `${SERVICE_NAME}-${plan.decl.stage}`.replace(/[^A-Za-z0-9]/g, '')
  return [
    {
      Sid: `DenyDirectInvocationOf${sid}HttpFunctions`,
      Effect: 'Deny',
      Action: INVOKE_ACTIONS,
      Resource: httpFunctionArns(plan),
      Condition: condition,
    },
    {
      Sid: `DenyReopening${sid}HttpFunctions`,
      Effect: 'Deny',
      Action: REOPEN_ACTIONS,
      Resource: httpFunctionArns(plan),
      Condition: condition,
    },
  ]
}

/** The service control policy to attach to the stage's account (or its OU). */
export function directInvokeScp(plan: StackPlan): Cfn {
  return { Version: '2012-10-17', Statement: denyStatements(plan) }
}

/** The boundary's own name, so that it can keep principals from removing or editing it. */
export function boundaryPolicyName(stage: string): string {
  return `${SERVICE_NAME}-${stage}-direct-invoke-boundary`
}

/**
 * The permissions boundary for accounts without Organizations: attach it (as a customer-managed policy named
 * {@link boundaryPolicyName}) to every role and user of the account that is not exempt. It allows everything
 * else, and keeps its holders from shedding it or creating principals without it.
 */
export function directInvokeBoundary(plan: StackPlan): Cfn {
  const { stage, params } = plan.decl
  const boundaryArn = `arn:aws:iam::${params.accountId}:policy/${boundaryPolicyName(stage)}`
  return {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'EverythingElseAsTheIdentityPoliciesAllow', Effect: 'Allow', Action: '*', Resource: '*' },
      ...denyStatements(plan),
      {
        Sid: 'KeepThisBoundary',
        Effect: 'Deny',
        Action: ['iam:DeleteRolePermissionsBoundary', 'iam:DeleteUserPermissionsBoundary'],
        Resource: '*',
      },
      {
        Sid: 'NewAndChangedPrincipalsCarryThisBoundary',
        Effect: 'Deny',
        Action: [
          'iam:CreateRole',
          'iam:CreateUser',
          'iam:PutRolePermissionsBoundary',
          'iam:PutUserPermissionsBoundary',
        ],
        Resource: '*',
        Condition: { ArnNotEquals: { 'iam:PermissionsBoundary': boundaryArn } },
      },
      {
        Sid: 'NoEditingThisBoundary',
        Effect: 'Deny',
        Action: [
          'iam:CreatePolicyVersion',
          'iam:DeletePolicy',
          'iam:DeletePolicyVersion',
          'iam:SetDefaultPolicyVersion',
        ],
        Resource: boundaryArn,
      },
    ],
  }
}

/**
 * The EventBridge pattern for an invocation of an HTTP function that API Gateway did not make. CloudTrail
 * records a service's call with `userIdentity.invokedBy` naming the service; a principal's call has no
 * `invokedBy`. Function names are matched in every form the Invoke API accepts (name, ARN, partial ARN,
 * qualified), so the pattern needs neither the account nor the region.
 */
export function directInvokeEventPattern(stage: string): Cfn {
  return {
    source: ['aws.lambda'],
    'detail-type': ['AWS API Call via CloudTrail'],
    detail: {
      eventSource: ['lambda.amazonaws.com'],
      eventName: ['Invoke'],
      requestParameters: {
        functionName: HTTP_FUNCTIONS.flatMap((k) => {
          const name = httpFunctionName(stage, k)
          return [
            name,
            { wildcard: `${name}:*` },
            { wildcard: `*:function:${name}` },
            { wildcard: `*:function:${name}:*` },
          ]
        }),
      },
      $or: [
        { userIdentity: { invokedBy: [{ exists: false }] } },
        { userIdentity: { invokedBy: [{ 'anything-but': ['apigateway.amazonaws.com'] }] } },
      ],
    },
  }
}

/** The detection's resources: the trail (and its bucket) that records the invocations, and the rule. */
export function directInvokeDetectionResources(plan: StackPlan): Cfn {
  const { stage, params } = plan.decl
  if (!params.directInvokeDetection) return {}
  const prefix = `${SERVICE_NAME}-${stage}`
  const trailName = `${prefix}-direct-invocations`
  const trailArn = sub(
    `arn:\${AWS::Partition}:cloudtrail:\${AWS::Region}:\${AWS::AccountId}:trail/${trailName}`,
  )
  const bucketArn = getAtt('DirectInvocationTrailBucket', 'Arn')
  return {
    DirectInvocationTrailBucket: {
      Type: 'AWS::S3::Bucket',
      // The trail's records are the evidence of a direct invocation: kept when the stack goes.
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
        LifecycleConfiguration: {
          Rules: [{ Id: 'expire', Status: 'Enabled', ExpirationInDays: params.logRetentionDays }],
        },
      },
    },
    DirectInvocationTrailBucketPolicy: {
      Type: 'AWS::S3::BucketPolicy',
      Properties: {
        Bucket: ref('DirectInvocationTrailBucket'),
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'CloudTrailChecksTheBucket',
              Effect: 'Allow',
              Principal: { Service: 'cloudtrail.amazonaws.com' },
              Action: 's3:GetBucketAcl',
              Resource: bucketArn,
              Condition: { StringEquals: { 'aws:SourceArn': trailArn } },
            },
            {
              Sid: 'CloudTrailWritesThisTrail',
              Effect: 'Allow',
              Principal: { Service: 'cloudtrail.amazonaws.com' },
              Action: 's3:PutObject',
              Resource: sub(`\${DirectInvocationTrailBucket.Arn}/AWSLogs/\${AWS::AccountId}/*`),
              Condition: { StringEquals: { 'aws:SourceArn': trailArn } },
            },
            {
              Sid: 'TlsOnly',
              Effect: 'Deny',
              Principal: '*',
              Action: 's3:*',
              Resource: [bucketArn, sub('${DirectInvocationTrailBucket.Arn}/*')],
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            },
          ],
        },
      },
    },
    DirectInvocationTrail: {
      Type: 'AWS::CloudTrail::Trail',
      DependsOn: ['DirectInvocationTrailBucketPolicy'],
      Properties: {
        TrailName: trailName,
        S3BucketName: ref('DirectInvocationTrailBucket'),
        IsLogging: true,
        IsMultiRegionTrail: false,
        IncludeGlobalServiceEvents: false,
        EnableLogFileValidation: true,
        // Data events of the HTTP functions only: no management events (the account's own trail has those).
        AdvancedEventSelectors: [
          {
            Name: `${prefix}: invocations of the HTTP functions`,
            FieldSelectors: [
              { Field: 'eventCategory', Equals: ['Data'] },
              { Field: 'resources.type', Equals: ['AWS::Lambda::Function'] },
              {
                Field: 'resources.ARN',
                StartsWith: HTTP_FUNCTIONS.map((k) => getAtt(httpFunctionLogicalId(k), 'Arn')),
              },
            ],
          },
        ],
      },
    },
    DirectInvocationRule: {
      Type: 'AWS::Events::Rule',
      Properties: {
        Description: `${prefix}: an HTTP function was invoked by something other than API Gateway`,
        EventPattern: directInvokeEventPattern(stage),
        Targets: [
          {
            Arn: ref('AlarmTopic'),
            Id: 'AlarmTopic',
            InputTransformer: {
              InputPathsMap: {
                fn: '$.detail.requestParameters.functionName',
                who: '$.detail.userIdentity.arn',
                type: '$.detail.userIdentity.type',
                ip: '$.detail.sourceIPAddress',
                time: '$.time',
              },
              InputTemplate: `"${prefix}: <fn> was invoked directly, not by API Gateway, by <who> (<type>) from <ip> at <time>. Its audit records may name a forged caller."`,
            },
          },
        ],
      },
    },
  }
}
