import type { RetainedResource } from './deploy-guard'

/**
 * Bringing retained secrets (and their key) back under the stage's stack with CloudFormation's resource
 * import, so a stage can be deployed again after `sls remove` without losing a password: the secrets keep
 * their values and ARNs, the key keeps its material and policy. Pure: `npm run adopt` (scripts/adopt.ts)
 * reads the account and runs what this plans.
 *
 * - No stack: an IMPORT change set creates the stack from the key and the secrets alone (an import cannot
 *   create anything), then an update adds Serverless's deployment bucket, which `sls deploy` needs to find
 *   in the stack. The next `sls deploy` creates everything else, the secrets' resource policies and rotation
 *   schedules included.
 * - A stack without some of its secrets (a declaration removed, its secret retained, then declared again): an
 *   IMPORT change set on the stack, its deployed template plus those secrets.
 *
 * Each imported resource is the stack's own declaration of it (infra/stack.ts), so the next deploy changes
 * nothing it generated (its GenerateSecretString is the one the value was made from).
 */
type Resource = Record<string, unknown> & { Type?: string }
export interface TemplateLike {
  readonly AWSTemplateFormatVersion?: string
  readonly Description?: string
  readonly Resources?: Record<string, Resource>
  readonly Outputs?: Record<string, unknown>
}

export interface ResourceToImport {
  readonly ResourceType: string
  readonly LogicalResourceId: string
  readonly ResourceIdentifier: Record<string, string>
}

export interface AdoptionPlan {
  readonly kind: 'new-stack' | 'existing-stack'
  readonly importTemplate: TemplateLike
  readonly resourcesToImport: readonly ResourceToImport[]
  /** After a new stack's import: the template that adds Serverless's deployment bucket. */
  readonly followUpTemplate: TemplateLike | undefined
}

/** The identifier CloudFormation imports each type by (its primary identifier). */
function identifier(r: RetainedResource): Record<string, string> {
  return r.type === 'AWS::KMS::Key' ? { KeyId: r.name } : { Id: r.arn }
}

/**
 * The import for `retained`, or the problems that prevent it (one line each).
 * @param stackResources the stack's resources as the next deploy declares them (buildResources)
 * @param deployed the stack's deployed template, or undefined when there is no stack
 * @param core Serverless's core template (its deployment bucket and policy)
 */
export function planAdoption(
  retained: readonly RetainedResource[],
  stackResources: Readonly<Record<string, unknown>>,
  deployed: TemplateLike | undefined,
  core: TemplateLike,
): AdoptionPlan | { problems: string[] } {
  const secrets = retained.filter((r) => r.type === 'AWS::SecretsManager::Secret')
  const keys = retained.filter((r) => r.type === 'AWS::KMS::Key')
  const problems: string[] = []
  for (const s of secrets.filter((x) => x.deletionScheduled === true))
    problems.push(
      `${s.name} is scheduled for deletion: restore it first (aws secretsmanager restore-secret --secret-id ${s.arn})`,
    )
  if (secrets.length === 0) problems.push('no retained secret of this stage was found: nothing to adopt')
  if (deployed === undefined && keys.length !== 1)
    problems.push(
      keys.length === 0
        ? "the retained secrets name no key by id or ARN (an alias, or the AWS-managed key): a stage's secrets use its own key, so these cannot be adopted as they are"
        : `the retained secrets are encrypted with ${keys.length} different keys (${keys.map((k) => k.name).join(', ')}); ` +
            'a stage has one: re-encrypt them with one key (aws secretsmanager update-secret --kms-key-id) first',
    )
  for (const r of retained)
    if (stackResources[r.logicalId] === undefined)
      problems.push(
        `${r.name} is not declared in this stage any more (${r.logicalId}): declare it to adopt it`,
      )
  if (problems.length > 0) return { problems }

  const declared = (r: RetainedResource): Resource => stackResources[r.logicalId] as Resource
  const adopted = Object.fromEntries(
    [...(deployed === undefined ? keys : []), ...secrets].map((r) => [r.logicalId, declared(r)]),
  )
  const resourcesToImport = [...(deployed === undefined ? keys : []), ...secrets].map((r) => ({
    ResourceType: r.type,
    LogicalResourceId: r.logicalId,
    ResourceIdentifier: identifier(r),
  }))
  if (deployed !== undefined) {
    return {
      kind: 'existing-stack',
      importTemplate: { ...deployed, Resources: { ...(deployed.Resources ?? {}), ...adopted } },
      resourcesToImport,
      followUpTemplate: undefined,
    }
  }
  const importTemplate: TemplateLike = {
    AWSTemplateFormatVersion: '2010-09-09',
    ...(core.Description === undefined ? {} : { Description: core.Description }),
    Resources: adopted,
  }
  return {
    kind: 'new-stack',
    importTemplate,
    resourcesToImport,
    followUpTemplate: {
      ...importTemplate,
      Resources: { ...adopted, ...(core.Resources ?? {}) },
      ...(core.Outputs === undefined ? {} : { Outputs: core.Outputs }),
    },
  }
}
