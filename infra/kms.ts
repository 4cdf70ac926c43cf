import {
  accountRoot,
  httpRoleName,
  namedRoleArn,
  rotationRoleName,
  sub,
  viaSecretsManager,
  type Cfn,
  type Statement,
} from './cfn'
import { secretAwsName, type StackPlan } from './plan'
import { SERVICE_NAME } from './stage-declarations'

/**
 * The stage's customer-managed key. Who may do what is decided by this policy alone, never delegated to the
 * account's IAM policies as a whole (a PowerUserAccess principal's `kms:*` grants it nothing here):
 *
 * - administration (no cryptography, no grants) by the deployment role, and by the account's root user for
 *   lockout safety (the root user only: `aws:PrincipalArn` is the root ARN for it and for nobody else);
 * - cryptography only through Secrets Manager in this region, only on this stage's secrets (the `SecretARN`
 *   encryption context Secrets Manager sets on every call), and only by the broker role (decrypt), the
 *   rotation role (decrypt, new data keys) and the deployment role (CloudFormation creating secrets);
 * - no grants at all: Secrets Manager uses none, and a grant would be a second policy nobody reviews.
 *
 * Retained on stack deletion: deleting it would make every retained secret unreadable.
 */
export const KEY_ADMINISTRATION = [
  'kms:CancelKeyDeletion',
  'kms:CreateAlias',
  'kms:DeleteAlias',
  'kms:DescribeKey',
  'kms:DisableKey',
  'kms:DisableKeyRotation',
  'kms:EnableKey',
  'kms:EnableKeyRotation',
  'kms:GetKeyPolicy',
  'kms:GetKeyRotationStatus',
  'kms:ListAliases',
  'kms:ListGrants',
  'kms:ListKeyPolicies',
  'kms:ListResourceTags',
  'kms:PutKeyPolicy',
  'kms:RetireGrant',
  'kms:RevokeGrant',
  'kms:ScheduleKeyDeletion',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:UpdateAlias',
  'kms:UpdateKeyDescription',
] as const

/** Every action that uses key material (or hands it out): only ever through Secrets Manager. */
const CRYPTOGRAPHY = [
  'kms:Decrypt',
  'kms:Encrypt',
  'kms:GenerateDataKey',
  'kms:GenerateDataKeyPair',
  'kms:GenerateDataKeyPairWithoutPlaintext',
  'kms:GenerateDataKeyWithoutPlaintext',
  'kms:ReEncryptFrom',
  'kms:ReEncryptTo',
]

const ROOT_USER = accountRoot

function thisStagesSecrets(stage: string): Cfn {
  return sub(
    `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:${secretAwsName(stage, '*')}`,
  )
}

/** Cryptography through Secrets Manager, on this stage's secrets, by one named role. */
function useThroughSecretsManager(sid: string, role: unknown, actions: string[], stage: string): Statement {
  return {
    Sid: sid,
    Effect: 'Allow',
    // The function roles are named in a condition, not as principals: the key is created before them, and a
    // GetAtt on a role would make key → role → secret → key a cycle.
    Principal: { AWS: accountRoot },
    Action: actions,
    Resource: '*',
    Condition: {
      ...viaSecretsManager,
      ArnEquals: { 'aws:PrincipalArn': role },
      StringLike: { 'kms:EncryptionContext:SecretARN': thisStagesSecrets(stage) },
    },
  }
}

export function keyPolicy(plan: StackPlan): Cfn {
  const { stage, params } = plan.decl
  const deployer = params.deploymentRoleArn
  const statements: Statement[] = [
    {
      Sid: 'DeploymentRoleAdministersTheKey',
      Effect: 'Allow',
      Principal: { AWS: deployer },
      Action: [...KEY_ADMINISTRATION],
      Resource: '*',
    },
    {
      // Without a statement for the account, a broken policy could only be repaired by AWS Support.
      Sid: 'RootUserForLockoutSafety',
      Effect: 'Allow',
      Principal: { AWS: ROOT_USER },
      Action: [...KEY_ADMINISTRATION],
      Resource: '*',
      Condition: { ArnEquals: { 'aws:PrincipalArn': ROOT_USER } },
    },
    useThroughSecretsManager(
      'BrokerReadsThroughSecretsManager',
      namedRoleArn(httpRoleName(stage)),
      ['kms:Decrypt'],
      stage,
    ),
    useThroughSecretsManager(
      'RotationWritesThroughSecretsManager',
      namedRoleArn(rotationRoleName(stage)),
      ['kms:Decrypt', 'kms:GenerateDataKey'],
      stage,
    ),
    // CloudFormation creates the secrets and their generated first value as the deployment role; Secrets
    // Manager documents both actions for creating or changing a value under a customer-managed key.
    useThroughSecretsManager(
      'DeploymentCreatesSecretsThroughSecretsManager',
      deployer,
      ['kms:GenerateDataKey', 'kms:Decrypt'],
      stage,
    ),
    {
      // A guardrail that holds whatever an Allow above (or a future edit) says.
      Sid: 'CryptographyOnlyThroughSecretsManager',
      Effect: 'Deny',
      Principal: '*',
      Action: CRYPTOGRAPHY,
      Resource: '*',
      Condition: {
        StringNotEquals: { 'kms:ViaService': sub('secretsmanager.${AWS::Region}.amazonaws.com') },
      },
    },
    {
      Sid: 'NoGrants',
      Effect: 'Deny',
      Principal: '*',
      Action: 'kms:CreateGrant',
      Resource: '*',
    },
  ]
  return { Version: '2012-10-17', Statement: statements }
}

export function kmsResources(plan: StackPlan): Cfn {
  const { stage } = plan.decl
  return {
    BrokerKey: {
      Type: 'AWS::KMS::Key',
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        Description: `${SERVICE_NAME} ${stage}: encrypts the brokered secrets`,
        EnableKeyRotation: true,
        KeyPolicy: keyPolicy(plan),
      },
    },
    BrokerKeyAlias: {
      Type: 'AWS::KMS::Alias',
      Properties: { AliasName: `alias/${SERVICE_NAME}-${stage}`, TargetKeyId: { Ref: 'BrokerKey' } },
    },
  }
}
