/**
 * CloudFormation's and IAM's size limits, checked on a packaged template so that a stage too big for one
 * stack fails at packaging with a message naming the limit, not halfway through a deploy. Policies are
 * measured as IAM measures them (JSON without whitespace) with every intrinsic resolved at its longest:
 * the `aws-us-gov` partition, a 6-character secret suffix, a 64-character name where the template does not
 * say.
 */
export const TEMPLATE_LIMITS = {
  /** Resources per stack. */
  resources: 500,
  /** Template body uploaded through S3 (Serverless always uploads it). */
  bodyBytes: 1_048_576,
  /** All inline policies of one role together. */
  roleInlinePolicyChars: 10_240,
  /** A role's trust policy (the default quota). */
  trustPolicyChars: 2_048,
  managedPolicyChars: 6_144,
  secretResourcePolicyChars: 20_480,
  keyPolicyBytes: 32_768,
} as const

/** Variables that carried the catalog, rotation targets and invalidation scope before they moved into the bundles. */
export const RETIRED_DOCUMENT_VARIABLES = [
  'BROKER_CATALOG_JSON',
  'BROKER_ROTATION_JSON',
  'BROKER_INVALIDATION_JSON',
] as const

export interface LimitContext {
  readonly region: string
  readonly accountId: string
  /** Secrets Manager name of each secret the template creates, by logical id (for worst-case ARNs). */
  readonly secretNames: ReadonlyMap<string, string>
}

type Template = { Resources?: Record<string, { Type?: string; Properties?: Record<string, unknown> }> }

const WORST_PARTITION = 'aws-us-gov'
const NAME_64 = 'x'.repeat(64)

function pseudo(name: string, ctx: LimitContext): string {
  switch (name) {
    case 'AWS::AccountId':
      return ctx.accountId
    case 'AWS::Region':
      return ctx.region
    case 'AWS::Partition':
      return WORST_PARTITION
    case 'AWS::URLSuffix':
      return 'amazonaws.com.cn'
    default:
      return NAME_64
  }
}

function refValue(id: string, template: Template, ctx: LimitContext): string {
  if (id.startsWith('AWS::')) return pseudo(id, ctx)
  const secret = ctx.secretNames.get(id)
  if (secret !== undefined)
    return `arn:${WORST_PARTITION}:secretsmanager:${ctx.region}:${ctx.accountId}:secret:${secret}-AbCdEf`
  const roleName = template.Resources?.[id]?.Properties?.['RoleName']
  return typeof roleName === 'string' ? roleName : NAME_64
}

function getAttValue(id: string, attribute: string, template: Template, ctx: LimitContext): string {
  const type = template.Resources?.[id]?.Type ?? ''
  const head = `arn:${WORST_PARTITION}`
  if (type === 'AWS::IAM::Role') return `${head}:iam::${ctx.accountId}:role/${refValue(id, template, ctx)}`
  if (type === 'AWS::KMS::Key' && attribute === 'Arn')
    return `${head}:kms:${ctx.region}:${ctx.accountId}:key/${'0'.repeat(36)}`
  return `${head}:service:${ctx.region}:${ctx.accountId}:${NAME_64}`
}

/** A value with every intrinsic function replaced by its longest plausible string. */
export function resolveWorstCase(value: unknown, template: Template, ctx: LimitContext): unknown {
  if (Array.isArray(value)) return value.map((v) => resolveWorstCase(v, template, ctx))
  if (value === null || typeof value !== 'object') return value
  const o = value as Record<string, unknown>
  const keys = Object.keys(o)
  if (keys.length === 1) {
    const [key] = keys as [string]
    const arg = o[key]
    if (key === 'Ref') return refValue(String(arg), template, ctx)
    if (key === 'Fn::GetAtt') {
      const [id, attribute] = Array.isArray(arg) ? arg.map(String) : String(arg).split('.')
      return getAttValue(id ?? '', attribute ?? '', template, ctx)
    }
    if (key === 'Fn::Sub') {
      const text = Array.isArray(arg) ? String(arg[0]) : String(arg)
      return text.replace(/\$\{([^}!]+)\}/g, (_, name: string) => {
        const [id, attribute] = name.split('.')
        return attribute === undefined
          ? refValue(id ?? '', template, ctx)
          : getAttValue(id ?? '', attribute, template, ctx)
      })
    }
    if (key === 'Fn::Join' && Array.isArray(arg)) {
      const parts = resolveWorstCase(arg[1], template, ctx)
      return Array.isArray(parts) ? parts.map(String).join(String(arg[0])) : String(parts)
    }
  }
  return Object.fromEntries(keys.map((k) => [k, resolveWorstCase(o[k], template, ctx)]))
}

/** A policy's size as IAM counts it: its JSON without whitespace, intrinsics resolved at their longest. */
export function policyChars(policy: unknown, template: Template, ctx: LimitContext): number {
  return policy === undefined ? 0 : JSON.stringify(resolveWorstCase(policy, template, ctx)).length
}

function over(what: string, size: number, limit: number, unit = 'characters'): string[] {
  return size <= limit ? [] : [`${what} is ${size} ${unit}; the limit is ${limit}`]
}

/** Every limit the template breaks, one message each; empty when it fits one stack. */
export function templateLimitProblems(templateText: string, ctx: LimitContext): string[] {
  const template = JSON.parse(templateText) as Template
  const resources = Object.entries(template.Resources ?? {})
  const problems = [
    ...over('the template body', Buffer.byteLength(templateText), TEMPLATE_LIMITS.bodyBytes, 'bytes'),
    ...over('the stack', resources.length, TEMPLATE_LIMITS.resources, 'resources'),
  ]
  const size = (policy: unknown): number => policyChars(policy, template, ctx)
  for (const [id, r] of resources) {
    const p = r.Properties ?? {}
    switch (r.Type ?? '') {
      case 'AWS::IAM::Role': {
        const inline = ((p['Policies'] ?? []) as { PolicyDocument?: unknown }[]).reduce(
          (sum, x) => sum + size(x.PolicyDocument),
          0,
        )
        problems.push(...over(`${id}'s inline policies`, inline, TEMPLATE_LIMITS.roleInlinePolicyChars))
        problems.push(
          ...over(
            `${id}'s trust policy`,
            size(p['AssumeRolePolicyDocument']),
            TEMPLATE_LIMITS.trustPolicyChars,
          ),
        )
        break
      }
      case 'AWS::IAM::ManagedPolicy':
        problems.push(...over(id, size(p['PolicyDocument']), TEMPLATE_LIMITS.managedPolicyChars))
        break
      case 'AWS::SecretsManager::ResourcePolicy':
        problems.push(...over(id, size(p['ResourcePolicy']), TEMPLATE_LIMITS.secretResourcePolicyChars))
        break
      case 'AWS::KMS::Key':
        problems.push(
          ...over(`${id}'s key policy`, size(p['KeyPolicy']), TEMPLATE_LIMITS.keyPolicyBytes, 'bytes'),
        )
        break
      case 'AWS::Lambda::Function': {
        const variables = Object.keys(
          (p['Environment'] as { Variables?: object } | undefined)?.Variables ?? {},
        )
        for (const name of RETIRED_DOCUMENT_VARIABLES)
          if (variables.includes(name))
            problems.push(`${id} carries ${name}: the catalog and rotation documents belong in the bundle`)
        break
      }
      default:
        break
    }
  }
  return problems
}
