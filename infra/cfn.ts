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

/** The logical ids a value refers to: `Ref`, `Fn::GetAtt` and the `${Id}`/`${Id.Attr}` of `Fn::Sub`. */
export function referencedIds(value: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {
    for (const v of value) referencedIds(v, out)
    return out
  }
  if (value === null || typeof value !== 'object') return out
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (key === 'Ref' && typeof v === 'string') out.add(v)
    else if (key === 'Fn::GetAtt')
      out.add(Array.isArray(v) ? String(v[0]) : (String(v).split('.')[0] ?? String(v)))
    else if (key === 'Fn::Sub') {
      const text: unknown = Array.isArray(v) ? v[0] : v
      if (typeof text === 'string')
        for (const m of text.matchAll(/\$\{([A-Za-z0-9]+)(?:\.[A-Za-z0-9.]+)?\}/g)) out.add(m[1] as string)
      if (Array.isArray(v)) referencedIds(v[1], out)
    } else referencedIds(v, out)
  }
  return out
}

/**
 * Drops each `DependsOn` entry that a `Ref`, `Fn::GetAtt` or `Fn::Sub` in the same resource already
 * enforces (cfn-lint W3005). Serverless writes such entries itself (a function on the role it names with
 * `GetAtt`); CloudFormation orders the two the same way without them, and moto's template validation, which
 * runs cfn-lint and fails on any warning, refuses them. Returns the resources it changed, by logical id.
 */
export function dropEnforcedDependsOn(resources: Record<string, Cfn>): string[] {
  const changed: string[] = []
  for (const [id, resource] of Object.entries(resources)) {
    const dependsOn = resource['DependsOn']
    if (dependsOn === undefined) continue
    const list = Array.isArray(dependsOn) ? (dependsOn as string[]) : [dependsOn as string]
    const enforced = referencedIds(resource['Properties'])
    const kept = list.filter((d) => !enforced.has(d))
    if (kept.length === list.length) continue
    changed.push(id)
    if (kept.length === 0) delete resource['DependsOn']
    else resource['DependsOn'] = kept
  }
  return changed
}
