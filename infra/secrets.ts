import { getAtt, ref, roleArn, type Cfn } from './cfn'
import { isBrokered, ownedMasterNames, rotationScheduled, type ManagedSecret, type StackPlan } from './plan'
import { SERVICE_NAME } from './stage-declarations'

/**
 * The secrets the stack owns: each with a generated first password under the stage's key, a resource policy
 * that is the secret's own guardrail whatever the account's IAM policies grant, and a rotation schedule when
 * its rotation is enabled. The secret and its policy are retained on stack deletion.
 *
 * What the resource policy leaves to whom (each is a Deny for everyone else, so an identity policy as broad
 * as PowerUserAccess or AdministratorAccess gains nothing past it):
 * - reading the value: the broker role (if the secret is brokered) and the rotation role (if it rotates the
 *   secret or uses it as a master);
 * - the resource policy itself, rotation settings, deletion, restore, tags and replication: the deployment
 *   role (CloudFormation) only — a principal that could delete the policy could then read past it;
 * - for a rotated secret, its value (`PutSecretValue`, and `UpdateSecret`, which can carry a value): the
 *   rotation role only; its version stages: the rotation role and the break-glass role (stages only);
 * - an unrotated secret's value and stages stay with operators whose IAM allows them (it has no rotation to
 *   protect, and someone must set a master credential).
 */
export const POLICY_AND_LIFECYCLE_ACTIONS = [
  'secretsmanager:PutResourcePolicy',
  'secretsmanager:DeleteResourcePolicy',
  'secretsmanager:RotateSecret',
  'secretsmanager:CancelRotateSecret',
  'secretsmanager:DeleteSecret',
  'secretsmanager:RestoreSecret',
  'secretsmanager:TagResource',
  'secretsmanager:UntagResource',
  'secretsmanager:ReplicateSecretToRegions',
  'secretsmanager:RemoveRegionsFromReplication',
  'secretsmanager:StopReplicationToReplica',
] as const

export const VALUE_WRITE_ACTIONS = ['secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecret'] as const

function secretResource(plan: StackPlan, m: ManagedSecret): Cfn {
  const { stage } = plan.decl
  return {
    Type: 'AWS::SecretsManager::Secret',
    DeletionPolicy: 'Retain',
    UpdateReplacePolicy: 'Retain',
    Properties: {
      Name: m.awsName,
      Description: `${SERVICE_NAME} ${stage}: ${m.logicalName}`,
      KmsKeyId: ref('BrokerKey'),
      // Fixed once deployed: any change here makes CloudFormation generate a new password (credential-guard.ts).
      GenerateSecretString: generateSecretString(m),
      Tags: [
        { Key: 'secret-broker:stage', Value: stage },
        { Key: 'secret-broker:name', Value: m.logicalName },
      ],
    },
  }
}

/** The first value's recipe: `{"username", ...fields, "password"}` with a generated password. */
export function generateSecretString(m: ManagedSecret): Cfn {
  return {
    SecretStringTemplate: JSON.stringify({ username: m.username, ...m.fields }),
    GenerateStringKey: 'password',
    PasswordLength: m.generation.passwordLength,
    ExcludeCharacters: m.generation.excludeCharacters,
  }
}

/** Deny `actions` to every principal but `exempt` (to everyone when nobody is exempt). */
function denyAllBut(sid: string, actions: readonly string[], exempt: unknown[]): Cfn {
  return {
    Sid: sid,
    Effect: 'Deny',
    Principal: '*',
    Action: [...actions],
    Resource: '*',
    ...(exempt.length === 0 ? {} : { Condition: { ArnNotEquals: { 'aws:PrincipalArn': exempt } } }),
  }
}

function resourcePolicy(plan: StackPlan, m: ManagedSecret, mastersOwned: ReadonlySet<string>): Cfn {
  const { params } = plan.decl
  const rotation = roleArn('RotationFunctionRole')
  const readers = [
    ...(isBrokered(plan, m) ? [roleArn('HttpFunctionRole')] : []),
    ...(m.rotation !== undefined || mastersOwned.has(m.logicalName) ? [rotation] : []),
  ]
  const breakGlass = params.breakGlassRoleArn === undefined ? [] : [params.breakGlassRoleArn]
  return {
    Type: 'AWS::SecretsManager::ResourcePolicy',
    // Kept with the secret when the stack is deleted (sls remove) or the declaration removed: a retained secret
    // stays locked to the stage's roles (named, so a redeployed stage's roles match) and deployment role.
    DeletionPolicy: 'Retain',
    UpdateReplacePolicy: 'Retain',
    Properties: {
      SecretId: ref(m.logicalId),
      BlockPublicPolicy: true,
      ResourcePolicy: {
        Version: '2012-10-17',
        Statement: [
          // A secret nobody reads through the broker or rotation is read by nobody.
          denyAllBut('OnlyTheBrokerAndRotationRead', ['secretsmanager:GetSecretValue'], readers),
          denyAllBut('OnlyTheDeploymentRoleChangesPolicyAndLifecycle', POLICY_AND_LIFECYCLE_ACTIONS, [
            params.deploymentRoleArn,
          ]),
          ...(m.rotation === undefined
            ? []
            : [
                denyAllBut('OnlyRotationWritesValues', VALUE_WRITE_ACTIONS, [rotation]),
                denyAllBut(
                  'OnlyRotationAndBreakGlassMoveStages',
                  ['secretsmanager:UpdateSecretVersionStage'],
                  [rotation, ...breakGlass],
                ),
              ]),
        ],
      },
    },
  }
}

function rotationSchedule(plan: StackPlan, m: ManagedSecret): Cfn {
  const { params } = plan.decl
  return {
    Type: 'AWS::SecretsManager::RotationSchedule',
    DependsOn: ['RotateSecretLambdaPermission'],
    Properties: {
      SecretId: ref(m.logicalId),
      RotationLambdaARN: getAtt('RotateSecretLambdaFunction', 'Arn'),
      RotateImmediatelyOnUpdate: false,
      RotationRules: {
        ScheduleExpression: m.rotation?.schedule ?? params.rotationSchedule,
        Duration: m.rotation?.window ?? params.rotationWindow,
      },
    },
  }
}

export function secretResources(plan: StackPlan): Cfn {
  const mastersOwned = ownedMasterNames(plan)
  const resources: Cfn = {}
  for (const m of plan.managed) {
    resources[m.logicalId] = secretResource(plan, m)
    resources[`${m.logicalId}ResourcePolicy`] = resourcePolicy(plan, m, mastersOwned)
    // A schedule only once the target accepts the secret (rotation.enabled; plan.ts rotationScheduled).
    if (rotationScheduled(m)) resources[`${m.logicalId}RotationSchedule`] = rotationSchedule(plan, m)
  }
  // Secrets Manager may invoke the rotation function, for this account's secrets only.
  resources['RotateSecretLambdaPermission'] = {
    Type: 'AWS::Lambda::Permission',
    Properties: {
      FunctionName: getAtt('RotateSecretLambdaFunction', 'Arn'),
      Action: 'lambda:InvokeFunction',
      Principal: 'secretsmanager.amazonaws.com',
      SourceAccount: ref('AWS::AccountId'),
    },
  }
  return resources
}
