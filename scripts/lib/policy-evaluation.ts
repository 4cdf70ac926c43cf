import {
  anonymousPrincipal,
  runSimulation,
  type Simulation,
  type SimulationIdentityPolicy,
} from '@cloud-copilot/iam-simulate'
import { createResolver, PARTITION, text, type Deployment, type Json, type Template } from './cfn-resolve'

/**
 * What the packaged template's policies ALLOW, asked of an IAM policy evaluator (`@cloud-copilot/iam-simulate`,
 * AGPL-3.0, a dev dependency only: docs/ARCHITECTURE.md) the way AWS would evaluate each request: identity
 * policies, the resource's policy (a secret's, the key's, the API's, a function's), and optionally an SCP or a
 * permissions boundary, for principals of the stage's account, another account, API Gateway and anonymous
 * callers. The evaluator fills in no request context, so each request carries the keys AWS would set.
 *
 * Two gaps of the evaluator are bridged here and pinned by known-answer tests
 * (tests/adversarial/policy-evaluation.test.ts):
 * - its public API drops `kms:EncryptionContext:*` keys from a request (they never match a condition), which
 *   would make the key policy look tighter than it is: such condition keys are renamed, in the key policy and
 *   in the request alike, to a resource-tag key it does pass through ({@link ENCRYPTION_CONTEXT_SURROGATE});
 * - it applies SCPs to service principals, which AWS never does: the generated SCP exempts service principals
 *   in its condition anyway, so it reads the same either way.
 * It models neither KMS grants (the key policy denies creating any) nor the root user (who is answered in the
 * docs, not here).
 */
export const ENCRYPTION_CONTEXT_SURROGATE = 'aws:ResourceTag/kms-encryption-context-'
const ENCRYPTION_CONTEXT = 'kms:EncryptionContext:'

type Policy = { Version: string; Statement: Statement[] }
type Statement = Record<string, Json> & {
  Sid?: string
  Effect: string
  Condition?: Record<string, Record<string, Json>>
}

export const ALLOW_ALL: Policy = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
}

/** AWS's managed PowerUserAccess, as AWS publishes it. */
export const POWER_USER_ACCESS: Policy = {
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', NotAction: ['iam:*', 'organizations:*', 'account:*'], Resource: '*' },
    {
      Effect: 'Allow',
      Action: [
        'account:GetAccountInformation',
        'account:GetPrimaryEmail',
        'account:ListRegions',
        'iam:CreateServiceLinkedRole',
        'iam:DeleteServiceLinkedRole',
        'iam:ListRoles',
        'organizations:DescribeOrganization',
      ],
      Resource: '*',
    },
  ],
}

/** A key policy (or any policy) with `kms:EncryptionContext:*` condition keys renamed for the evaluator. */
export function withEncryptionContextSurrogate(policy: Policy): Policy {
  const text = JSON.stringify(policy)
  if (text.includes(ENCRYPTION_CONTEXT_SURROGATE))
    throw new Error('the policy already uses the surrogate key; the evaluation would be ambiguous')
  return {
    ...policy,
    Statement: policy.Statement.map((s) =>
      s.Condition === undefined
        ? s
        : {
            ...s,
            Condition: Object.fromEntries(
              Object.entries(s.Condition).map(([op, kv]) => [
                op,
                Object.fromEntries(
                  Object.entries(kv).map(([k, v]) => [
                    k.startsWith(ENCRYPTION_CONTEXT)
                      ? ENCRYPTION_CONTEXT_SURROGATE + k.slice(ENCRYPTION_CONTEXT.length)
                      : k,
                    v,
                  ]),
                ),
              ]),
            ),
          },
    ),
  }
}

export interface Principal {
  readonly id: string
  /** An IAM ARN, a service principal, or 'anonymous'. */
  readonly arn: string
  readonly policies: SimulationIdentityPolicy[]
}

export interface Request {
  readonly principal: Principal
  readonly action: string
  readonly resource: string
  readonly resourceAccount: string
  readonly resourcePolicy?: Policy | undefined
  readonly context?: Record<string, string | string[]>
  readonly scp?: Policy | undefined
  readonly boundary?: Policy | undefined
}

const accountOf = (arn: string): string | undefined => /^arn:[^:]+:(iam|sts)::(\d{12}):/.exec(arn)?.[2]

/** The request context AWS sets for a principal, before the request's own keys. */
function principalContext(p: Principal): Record<string, string> {
  if (p.arn === 'anonymous') return {}
  const account = accountOf(p.arn)
  if (account === undefined) return { 'aws:PrincipalIsAWSService': 'true' }
  return { 'aws:PrincipalArn': p.arn, 'aws:PrincipalAccount': account, 'aws:PrincipalIsAWSService': 'false' }
}

/** Whether AWS would allow the request; any input the evaluator refuses or ignores is an error, never a "no". */
export async function isAllowed(r: Request): Promise<boolean> {
  const anonymous = r.principal.arn === 'anonymous'
  const sim: Simulation = {
    request: {
      principal: anonymous ? anonymousPrincipal : r.principal.arn,
      action: r.action,
      resource: { resource: r.resource, accountId: r.resourceAccount },
      contextVariables: { ...principalContext(r.principal), ...(r.context ?? {}) },
    },
    identityPolicies: anonymous ? [] : r.principal.policies,
    serviceControlPolicies:
      r.scp === undefined || anonymous
        ? []
        : [
            { orgIdentifier: 'r-root', policies: [{ name: 'FullAWSAccess', policy: ALLOW_ALL }] },
            {
              orgIdentifier: accountOf(r.principal.arn) ?? r.resourceAccount,
              policies: [
                { name: 'FullAWSAccess', policy: ALLOW_ALL },
                { name: 'direct-invoke', policy: r.scp },
              ],
            },
          ],
    resourceControlPolicies: [],
    ...(r.resourcePolicy === undefined ? {} : { resourcePolicy: r.resourcePolicy }),
    ...(r.boundary === undefined || anonymous
      ? {}
      : { permissionBoundaryPolicies: [{ name: 'direct-invoke-boundary', policy: r.boundary }] }),
  }
  const result = await runSimulation(sim, {})
  if (result.resultType === 'error')
    throw new Error(`the evaluator refused ${r.action} on ${r.resource}: ${JSON.stringify(result.errors)}`)
  if (result.resultType === 'single' && (result.result.ignoredContextKeys?.length ?? 0) > 0)
    throw new Error(
      `the evaluator ignored ${(result.result.ignoredContextKeys ?? []).join(', ')} for ${r.action}`,
    )
  return result.overallResult === 'Allowed'
}

/** The policies of a packaged stack, resolved for one deployment. */
export interface StackPolicies {
  readonly deployment: Deployment
  readonly stage: string
  readonly roles: Readonly<Record<string, Principal>>
  readonly secrets: readonly { id: string; name: string; arn: string; rotated: boolean; policy: Policy }[]
  readonly keyArn: string
  /** The invalidation register (a DynamoDB table without a resource policy: identity policies alone decide). */
  readonly registerArn: string
  readonly keyPolicy: Policy
  readonly apiPolicy: Policy
  readonly functions: readonly { name: string; arn: string; policy: Policy }[]
}

const apiArn = (d: Deployment, rest: string): string =>
  `arn:${PARTITION}:execute-api:${d.region}:${d.account}:${d.apiId}/${rest}`

/** API Gateway stores `execute-api:/…` resources as the API's ARN; so does the evaluation. */
function expandApiPolicy(policy: Policy, d: Deployment): Policy {
  const expand = (r: Json): Json =>
    typeof r === 'string' && r.startsWith('execute-api:/') ? apiArn(d, r.slice('execute-api:/'.length)) : r
  return {
    ...policy,
    Statement: policy.Statement.map((s) => ({
      ...s,
      Resource: Array.isArray(s['Resource']) ? s['Resource'].map(expand) : expand(s['Resource'] as Json),
    })),
  }
}

/** A function's resource policy from the template's AWS::Lambda::Permission resources. */
function lambdaPolicy(permissions: Record<string, Json>[], fnArn: string): Policy {
  return {
    Version: '2012-10-17',
    Statement: permissions.map((p) => {
      const condition: Record<string, Record<string, Json>> = {}
      if (p['SourceArn'] !== undefined) condition['ArnLike'] = { 'aws:SourceArn': p['SourceArn'] }
      if (p['SourceAccount'] !== undefined)
        condition['StringEquals'] = { 'aws:SourceAccount': p['SourceAccount'] }
      const principal = text(p['Principal'], 'Principal')
      return {
        Effect: 'Allow',
        Principal: /^\d{12}$|^arn:/.test(principal) ? { AWS: principal } : { Service: principal },
        Action: p['Action'] as Json,
        Resource: fnArn,
        ...(Object.keys(condition).length === 0 ? {} : { Condition: condition }),
      }
    }),
  }
}

function onlyOne(found: [string, unknown][], type: string): string {
  const [first] = found
  if (found.length !== 1 || first === undefined)
    throw new Error(`expected one ${type}, found ${found.length}`)
  return first[0]
}

export function stackPolicies(template: Template, d: Deployment, stage: string): StackPolicies {
  const resolve = createResolver(template, d)
  const byType = (type: string) => Object.entries(template.Resources).filter(([, r]) => r.Type === type)
  const props = (id: string) => resolve(template.Resources[id]?.Properties ?? {}) as Record<string, Json>
  const roles = Object.fromEntries(
    byType('AWS::IAM::Role').map(([id]) => {
      const p = props(id)
      const arn = `arn:${PARTITION}:iam::${d.account}:role/${text(p['RoleName'], 'RoleName')}`
      const policies = (p['Policies'] as { PolicyName: string; PolicyDocument: Policy }[]).map((x) => ({
        name: x.PolicyName,
        policy: x.PolicyDocument,
      }))
      return [id, { id, arn, policies }]
    }),
  )
  const policyOf = (secretId: string): Policy => {
    const found = byType('AWS::SecretsManager::ResourcePolicy').find(
      ([, r]) => (r.Properties?.['SecretId'] as { Ref?: string } | undefined)?.Ref === secretId,
    )
    if (found === undefined) throw new Error(`${secretId} has no resource policy`)
    return props(found[0])['ResourcePolicy'] as Policy
  }
  // A rotated secret is one its resource policy guards as rotated (only rotation writes its value): its
  // RotationSchedule may not exist yet (rotation.enabled, day 1), but its policy and the roles' do.
  const isRotated = (id: string): boolean =>
    (policyOf(id).Statement as { Sid?: string }[]).some((st) => st.Sid === 'OnlyRotationWritesValues')
  const rotated = new Set([
    ...byType('AWS::SecretsManager::RotationSchedule').map(
      ([, r]) => (r.Properties?.['SecretId'] as { Ref?: string }).Ref,
    ),
    ...byType('AWS::SecretsManager::Secret')
      .map(([id]) => id)
      .filter(isRotated),
  ])
  const secrets = byType('AWS::SecretsManager::Secret').map(([id]) => {
    const p = props(id)
    const tags = p['Tags'] as { Key: string; Value: string }[]
    const name = tags.find((t) => t.Key === 'secret-broker:name')?.Value ?? id
    return { id, name, arn: text(resolve({ Ref: id })), rotated: rotated.has(id), policy: policyOf(id) }
  })
  const keyId = onlyOne(byType('AWS::KMS::Key'), 'AWS::KMS::Key')
  const registerId = onlyOne(byType('AWS::DynamoDB::Table'), 'AWS::DynamoDB::Table')
  const apiId = onlyOne(byType('AWS::ApiGateway::RestApi'), 'AWS::ApiGateway::RestApi')
  const permissions = byType('AWS::Lambda::Permission').map(([id]) => props(id))
  const functions = byType('AWS::Lambda::Function').map(([id]) => {
    const arn = text(resolve({ 'Fn::GetAtt': [id, 'Arn'] }))
    return {
      name: text(props(id)['FunctionName'], 'FunctionName'),
      arn,
      policy: lambdaPolicy(
        permissions.filter((p) => p['FunctionName'] === arn),
        arn,
      ),
    }
  })
  return {
    deployment: d,
    stage,
    roles,
    secrets,
    keyArn: text(resolve({ 'Fn::GetAtt': [keyId, 'Arn'] })),
    registerArn: text(resolve({ 'Fn::GetAtt': [registerId, 'Arn'] })),
    keyPolicy: withEncryptionContextSurrogate(props(keyId)['KeyPolicy'] as Policy),
    apiPolicy: expandApiPolicy(props(apiId)['Policy'] as Policy, d),
    functions,
  }
}

export { apiArn }
