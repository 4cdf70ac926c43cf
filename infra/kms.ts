import {
  accountRoot,
  httpRoleName,
  namedRoleArn,
  rotationRoleName,
  sub,
  viaSecretsManager,
  type Cfn,
} from './cfn'
import { secretAwsName, type StackPlan } from './plan'
import { SERVICE_NAME } from './stage-declarations'

/**
 * The stage's customer-managed key: administered through the account's IAM policies, usable for
 * cryptography only through Secrets Manager, and only by the stack's roles (and, at deployment, for this
 * stage's secrets). Retained on stack deletion: deleting it would make every retained secret unreadable.
 */
const KEY_ADMINISTRATION = [
  'kms:Create*',
  'kms:Describe*',
  'kms:Enable*',
  'kms:List*',
  'kms:Put*',
  'kms:Update*',
  'kms:Revoke*',
  'kms:Disable*',
  'kms:Get*',
  'kms:Delete*',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:ScheduleKeyDeletion',
  'kms:CancelKeyDeletion',
]

function keyPolicy(stage: string): Cfn {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        // Administration by the account's IAM policies, but no cryptographic use: nobody can decrypt directly.
        Sid: 'AccountAdministersTheKey',
        Effect: 'Allow',
        Principal: { AWS: accountRoot },
        Action: KEY_ADMINISTRATION,
        Resource: '*',
      },
      // The roles are named by ARN in a condition, not as principals: the key is created before them,
      // and a GetAtt on a role would make key → role → secret → key a cycle.
      {
        Sid: 'BrokerReadsThroughSecretsManager',
        Effect: 'Allow',
        Principal: { AWS: accountRoot },
        Action: ['kms:Decrypt'],
        Resource: '*',
        Condition: {
          ...viaSecretsManager,
          ArnEquals: { 'aws:PrincipalArn': namedRoleArn(httpRoleName(stage)) },
        },
      },
      {
        Sid: 'RotationWritesThroughSecretsManager',
        Effect: 'Allow',
        Principal: { AWS: accountRoot },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Resource: '*',
        Condition: {
          ...viaSecretsManager,
          ArnEquals: { 'aws:PrincipalArn': namedRoleArn(rotationRoleName(stage)) },
        },
      },
      {
        // CloudFormation creates the secrets (and their generated first value) with the deployer's
        // credentials. Key use is delegated to the account's IAM policies (the deployer needs kms
        // permissions on this key), but only through Secrets Manager in this account, and only for
        // this stage's secrets (Secrets Manager sets the SecretARN encryption context on every call).
        // aws:CalledVia is not relied on: AWS documents it for few services' onward calls, so a condition
        // on it could match nothing and fail the first deployment.
        // Decrypt as well as GenerateDataKey: Secrets Manager documents both for creating or changing a
        // value with a customer-managed key.
        Sid: 'StackDeploymentThroughSecretsManager',
        Effect: 'Allow',
        Principal: { AWS: accountRoot },
        Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
        Resource: '*',
        Condition: {
          StringEquals: {
            'kms:ViaService': sub('secretsmanager.${AWS::Region}.amazonaws.com'),
            'kms:CallerAccount': { Ref: 'AWS::AccountId' },
          },
          StringLike: {
            'kms:EncryptionContext:SecretARN': sub(
              `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:${secretAwsName(stage, '*')}`,
            ),
          },
        },
      },
    ],
  }
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
        KeyPolicy: keyPolicy(stage),
      },
    },
    BrokerKeyAlias: {
      Type: 'AWS::KMS::Alias',
      Properties: { AliasName: `alias/${SERVICE_NAME}-${stage}`, TargetKeyId: { Ref: 'BrokerKey' } },
    },
  }
}
