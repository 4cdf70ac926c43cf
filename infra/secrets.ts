import { getAtt, ref, roleArn, type Cfn } from './cfn'
import { isBrokered, ownedMasterNames, type ManagedSecret, type StackPlan } from './plan'
import { SERVICE_NAME } from './stage-declarations'

/**
 * The secrets the stack owns: each with a generated password under the stage's key, a resource policy that
 * lets only the broker and rotation roles read it (and, for rotated secrets, only rotation write it), and a
 * rotation schedule when it rotates. Retained on stack deletion.
 */
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
      GenerateSecretString: {
        SecretStringTemplate: JSON.stringify({ username: m.username, ...m.fields }),
        GenerateStringKey: 'password',
        PasswordLength: m.passwordLength,
        ExcludeCharacters: m.excludeCharacters,
      },
      Tags: [
        { Key: 'secret-broker:stage', Value: stage },
        { Key: 'secret-broker:name', Value: m.logicalName },
      ],
    },
  }
}

function resourcePolicy(plan: StackPlan, m: ManagedSecret, mastersOwned: ReadonlySet<string>): Cfn {
  const { params } = plan.decl
  const writers =
    m.rotation === undefined
      ? []
      : [
          roleArn('RotationFunctionRole'),
          ...(params.breakGlassRoleArn === undefined ? [] : [params.breakGlassRoleArn]),
        ]
  const readers = [
    ...(isBrokered(plan, m) ? [roleArn('HttpFunctionRole')] : []),
    ...(m.rotation !== undefined || mastersOwned.has(m.logicalName) ? [roleArn('RotationFunctionRole')] : []),
  ]
  return {
    Type: 'AWS::SecretsManager::ResourcePolicy',
    Properties: {
      SecretId: ref(m.logicalId),
      BlockPublicPolicy: true,
      ResourcePolicy: {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'OnlyTheBrokerAndRotationRead',
            Effect: 'Deny',
            Principal: '*',
            Action: 'secretsmanager:GetSecretValue',
            Resource: '*',
            Condition: {
              StringNotEquals: {
                'aws:PrincipalArn': readers.length > 0 ? readers : [roleArn('RotationFunctionRole')],
              },
            },
          },
          // A rotated secret changes only through its rotation function (and the stage's break-glass role, if
          // declared, to abandon a stuck rotation); an unrotated one stays writable by operators.
          ...(writers.length === 0
            ? []
            : [
                {
                  Sid: 'OnlyRotationWrites',
                  Effect: 'Deny',
                  Principal: '*',
                  Action: ['secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage'],
                  Resource: '*',
                  Condition: { StringNotEquals: { 'aws:PrincipalArn': writers } },
                },
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
    if (m.rotation !== undefined) resources[`${m.logicalId}RotationSchedule`] = rotationSchedule(plan, m)
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
