import type { Template } from '../../../scripts/lib/cfn-resolve'
import type { Perimeter } from '../../../scripts/lib/policy-questions'

/**
 * Mutations of the packaged prod template (and of the generated SCP/boundary) that weaken a policy, each of
 * which the evaluation must notice (tests/adversarial/policy-evaluation.test.ts). The first six are the ones
 * issue 17 reports the former structural tests let through; the rest cover each remaining guardrail.
 */
type Statement = {
  Sid?: string
  Effect: string
  Principal?: unknown
  Action?: unknown
  Resource?: unknown
  Condition?: Record<string, Record<string, unknown>>
}
type Policy = { Statement: Statement[] }

export interface Subject {
  template: Template
  perimeter: Perimeter
}

export interface PolicyMutation {
  readonly name: string
  readonly apply: (s: Subject) => Subject
}

const props = (t: Template, id: string): Record<string, unknown> => {
  const p = t.Resources[id]?.Properties
  if (p === undefined) throw new Error(`the template has no ${id}`)
  return p
}
const secretPolicy = (t: Template, id: string): Policy =>
  props(t, `${id}ResourcePolicy`)['ResourcePolicy'] as Policy
const keyPolicy = (t: Template): Policy => props(t, 'BrokerKey')['KeyPolicy'] as Policy
const apiPolicy = (t: Template): Policy => props(t, 'ApiGatewayRestApi')['Policy'] as Policy
const rolePolicy = (t: Template, id: string): Policy =>
  (props(t, id)['Policies'] as { PolicyDocument: Policy }[])[0]?.PolicyDocument as Policy

function statement(policy: Policy, sid: string): Statement {
  const s = policy.Statement.find((x) => x.Sid === sid)
  if (s === undefined) throw new Error(`no statement ${sid}`)
  return s
}
function without(policy: Policy, sid: string): void {
  statement(policy, sid)
  policy.Statement = policy.Statement.filter((x) => x.Sid !== sid)
}
const asList = (x: unknown): unknown[] => (Array.isArray(x) ? x : [x])

const ORDERS_DB = 'SecretOrdersDb'
const READ_DENY = 'OnlyTheBrokerAndRotationRead'
const VALUE_DENY = 'OnlyRotationWritesValues'
const ACCOUNT = '222222222222'

/** Applies `change` to the template, leaving the perimeter documents as they are. */
const onTemplate =
  (change: (t: Template) => void) =>
  (s: Subject): Subject => {
    change(s.template)
    return s
  }

export const POLICY_MUTATIONS: readonly PolicyMutation[] = [
  {
    name: "an inverted condition operator (ArnNotEquals → ArnEquals) in a secret's read Deny",
    apply: onTemplate((t) => {
      const s = statement(secretPolicy(t, ORDERS_DB), READ_DENY)
      s.Condition = { ArnEquals: s.Condition?.['ArnNotEquals'] as Record<string, unknown> }
    }),
  },
  {
    name: "an extra exempt principal in a secret's read Deny",
    apply: onTemplate((t) => {
      const kv = statement(secretPolicy(t, ORDERS_DB), READ_DENY).Condition?.['ArnNotEquals'] as Record<
        string,
        unknown
      >
      kv['aws:PrincipalArn'] = [...asList(kv['aws:PrincipalArn']), `arn:aws:iam::${ACCOUNT}:role/power-user`]
    }),
  },
  {
    name: "a StringNotLike that matches nobody in a secret's read Deny",
    apply: onTemplate((t) => {
      statement(secretPolicy(t, ORDERS_DB), READ_DENY).Condition = {
        StringNotLike: { 'aws:PrincipalArn': '*' },
      }
    }),
  },
  {
    name: "kms:* added to the key's administration",
    apply: onTemplate((t) => {
      const s = statement(keyPolicy(t), 'DeploymentRoleAdministersTheKey')
      s.Action = [...asList(s.Action), 'kms:*']
    }),
  },
  {
    name: "StringEqualsIfExists on kms:ViaService in the broker role's key statement",
    apply: onTemplate((t) => {
      const c = statement(keyPolicy(t), 'BrokerReadsThroughSecretsManager').Condition as Record<
        string,
        Record<string, unknown>
      >
      c['StringEqualsIfExists'] = c['StringEquals'] as Record<string, unknown>
      delete c['StringEquals']
    }),
  },
  {
    name: 'a Principal "*" Allow in the API policy',
    apply: onTemplate((t) => {
      apiPolicy(t).Statement.push({
        Effect: 'Allow',
        Principal: '*',
        Action: 'execute-api:Invoke',
        Resource: 'execute-api:/*',
      })
    }),
  },
  {
    name: "UpdateSecret dropped from a rotated secret's value-write Deny",
    apply: onTemplate((t) => {
      const s = statement(secretPolicy(t, ORDERS_DB), VALUE_DENY)
      s.Action = asList(s.Action).filter((a) => a !== 'secretsmanager:UpdateSecret')
    }),
  },
  {
    name: "the break-glass role exempted from a rotated secret's value-write Deny",
    apply: onTemplate((t) => {
      const kv = statement(secretPolicy(t, ORDERS_DB), VALUE_DENY).Condition?.['ArnNotEquals'] as Record<
        string,
        unknown
      >
      kv['aws:PrincipalArn'] = [
        ...asList(kv['aws:PrincipalArn']),
        `arn:aws:iam::${ACCOUNT}:role/secret-broker-break-glass`,
      ]
    }),
  },
  {
    name: "the policy-and-lifecycle Deny removed from a secret's policy",
    apply: onTemplate((t) =>
      without(secretPolicy(t, ORDERS_DB), 'OnlyTheDeploymentRoleChangesPolicyAndLifecycle'),
    ),
  },
  {
    name: 'the aws:SourceVpce Deny removed from the API policy',
    apply: onTemplate((t) => without(apiPolicy(t), 'OnlyThroughTheStageVpcEndpoints')),
  },
  {
    name: "the other accounts' Deny removed from the API policy",
    apply: onTemplate((t) => without(apiPolicy(t), 'NoPrincipalOfAnotherAccountOnTheSignedRoutes')),
  },
  {
    name: "the rotation role's log writes widened to every function's group",
    apply: onTemplate((t) => {
      const logs = rolePolicy(t, 'RotationFunctionRole').Statement.find((s) =>
        asList(s.Action).includes('logs:PutLogEvents'),
      ) as Statement
      logs.Resource = [
        {
          'Fn::Sub':
            'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/secret-broker-prod-*:*',
        },
      ]
    }),
  },
  {
    name: "the broker role's register reads widened to dynamodb:*",
    apply: onTemplate((t) => {
      const reads = rolePolicy(t, 'HttpFunctionRole').Statement.find((s) =>
        asList(s.Action).includes('dynamodb:GetItem'),
      ) as Statement
      reads.Action = ['dynamodb:*']
    }),
  },
  {
    name: "the root user's key statement without its aws:PrincipalArn condition (every admin's IAM decides)",
    apply: onTemplate((t) => {
      delete statement(keyPolicy(t), 'RootUserForLockoutSafety').Condition
    }),
  },
  {
    name: 'key administration delegated with kms:Create* (CreateGrant included)',
    apply: onTemplate((t) => {
      const s = statement(keyPolicy(t), 'DeploymentRoleAdministersTheKey')
      s.Action = [...asList(s.Action), 'kms:Create*']
    }),
  },
  {
    name: "the encryption-context condition dropped from the broker role's key statement",
    apply: onTemplate((t) => {
      delete statement(keyPolicy(t), 'BrokerReadsThroughSecretsManager').Condition?.['StringLike']
    }),
  },
  {
    name: 'the SCP exempting every role of the account',
    apply: (s) => {
      for (const st of (s.perimeter.scp as unknown as Policy).Statement) {
        const kv = st.Condition?.['ArnNotLike'] as Record<string, unknown>
        kv['aws:PrincipalArn'] = [...asList(kv['aws:PrincipalArn']), `arn:aws:iam::${ACCOUNT}:role/*`]
      }
      return s
    },
  },
  {
    name: 'the boundary without the statement that keeps it attached',
    apply: (s) => {
      without(s.perimeter.boundary as unknown as Policy, 'KeepThisBoundary')
      const swap = statement(
        s.perimeter.boundary as unknown as Policy,
        'NewAndChangedPrincipalsCarryThisBoundary',
      )
      swap.Action = asList(swap.Action).filter((a) => a !== 'iam:PutRolePermissionsBoundary')
      return s
    },
  },
]
