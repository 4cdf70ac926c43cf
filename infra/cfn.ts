import { SERVICE_NAME } from './stage-declarations'

/** Small builders for the CloudFormation and IAM shapes the infra modules repeat. */
export type Cfn = Record<string, unknown>

export const sub = (template: string): Cfn => ({ 'Fn::Sub': template })
export const ref = (logicalId: string): Cfn => ({ Ref: logicalId })
export const getAtt = (logicalId: string, attribute: string): Cfn => ({
  'Fn::GetAtt': [logicalId, attribute],
})

/** An ARN in this stack's partition, region (default) and account. */
export const partitionArn = (service: string, resource: string, region = '${AWS::Region}'): Cfn =>
  sub(`arn:\${AWS::Partition}:${service}:${region}:\${AWS::AccountId}:${resource}`)

export const accountRoot = sub('arn:${AWS::Partition}:iam::${AWS::AccountId}:root')
export const namedRoleArn = (name: string): Cfn =>
  sub(`arn:\${AWS::Partition}:iam::\${AWS::AccountId}:role/${name}`)
export const roleArn = (logicalId: string): Cfn => getAtt(logicalId, 'Arn')

/** The stage's two function roles, by name (the key policy names them before they exist). */
export const httpRoleName = (stage: string): string => `${SERVICE_NAME}-${stage}-http`
export const rotationRoleName = (stage: string): string => `${SERVICE_NAME}-${stage}-rotation`
export const invalidationRoleName = (stage: string): string => `${SERVICE_NAME}-${stage}-invalidation`

/** kms:ViaService = Secrets Manager in this region: the key is usable only through Secrets Manager. */
export const viaSecretsManager: Cfn = {
  StringEquals: { 'kms:ViaService': sub('secretsmanager.${AWS::Region}.amazonaws.com') },
}

export interface Statement {
  readonly Sid?: string
  readonly Effect: 'Allow' | 'Deny'
  readonly Principal?: unknown
  readonly Action: string | readonly string[]
  readonly Resource: unknown
  readonly Condition?: Cfn
}

export const allow = (Action: Statement['Action'], Resource: unknown, Condition?: Cfn): Statement => ({
  Effect: 'Allow',
  Action,
  Resource,
  ...(Condition === undefined ? {} : { Condition }),
})

export const policyDocument = (statements: readonly Statement[]): Cfn => ({
  Version: '2012-10-17',
  Statement: statements,
})
