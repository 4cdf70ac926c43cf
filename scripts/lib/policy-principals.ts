import type { StageParams } from '../../infra/stage-declarations'
import { ALLOW_ALL, POWER_USER_ACCESS, type Principal, type StackPolicies } from './policy-evaluation'

/**
 * The principals the policy questions (policy-questions.ts) are asked about: the stack's own roles, the
 * operators' roles (the deployment and break-glass roles, a PowerUserAccess and an AdministratorAccess
 * principal, as AWS's managed policies define them), a consumer allowed `execute-api:Invoke`, a principal of
 * another account, API Gateway's service principal and an unsigned caller.
 */
const OTHER_ACCOUNT = '999999999999'

/** Who is asked about: the stack's roles, the operators' roles, a consumer, a principal of another account. */
export function evaluationPrincipals(stack: StackPolicies, params: StageParams): Principal[] {
  const { account, region, apiId } = stack.deployment
  const role = (id: string): Principal => {
    const r = stack.roles[id]
    if (r === undefined) throw new Error(`the template has no role ${id}`)
    return r
  }
  const policy = (name: string, p: object) => [{ name, policy: p }]
  return [
    { ...role('HttpFunctionRole'), id: 'broker role' },
    { ...role('RotationFunctionRole'), id: 'rotation role' },
    { ...role('InvalidationFunctionRole'), id: 'invalidation role' },
    {
      id: 'deployment role',
      arn: params.deploymentRoleArn,
      policies: policy('AdministratorAccess', ALLOW_ALL),
    },
    ...(params.breakGlassRoleArn === undefined
      ? []
      : [
          {
            id: 'break-glass role',
            arn: params.breakGlassRoleArn,
            policies: policy('PowerUserAccess', POWER_USER_ACCESS),
          },
        ]),
    {
      id: 'PowerUserAccess principal',
      arn: `arn:aws:iam::${account}:role/power-user`,
      policies: policy('PowerUserAccess', POWER_USER_ACCESS),
    },
    {
      id: 'AdministratorAccess principal',
      arn: `arn:aws:iam::${account}:role/administrator`,
      policies: policy('AdministratorAccess', ALLOW_ALL),
    },
    {
      id: 'consumer with execute-api:Invoke',
      arn: `arn:aws:iam::${account}:role/orders-service`,
      policies: policy('invoke-the-broker', {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: 'execute-api:Invoke',
            Resource: `arn:aws:execute-api:${region}:${account}:${apiId}/*`,
          },
        ],
      }),
    },
    {
      id: 'AdministratorAccess of another account',
      arn: `arn:aws:iam::${OTHER_ACCOUNT}:role/administrator`,
      policies: policy('AdministratorAccess', ALLOW_ALL),
    },
  ]
}

export const API_GATEWAY: Principal = { id: 'API Gateway', arn: 'apigateway.amazonaws.com', policies: [] }
export const ANONYMOUS: Principal = { id: 'anyone (unsigned)', arn: 'anonymous', policies: [] }
