import {
  DescribeStackResourcesCommand,
  GetTemplateCommand,
  type CloudFormationClient,
} from '@aws-sdk/client-cloudformation'
import { DescribeSecretCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import type { RetainedResource } from './deploy-guard'
import type { StackPlan } from './plan'
import { SERVICE_NAME } from './stage-declarations'

/**
 * What a stage looks like in AWS, read with the clients a caller passes in: the deploy plugin (through
 * Serverless's provider), `npm run adopt`, `npm run info` and the tests (against moto). Reads only.
 */
export const stackNameOf = (stage: string): string => `${SERVICE_NAME}-${stage}`

export interface StackResource {
  readonly type: string
  readonly physicalId: string | undefined
}

function isMissingStack(err: unknown): boolean {
  const message = (err as { message?: unknown }).message
  return typeof message === 'string' && /does not exist/.test(message)
}

/** The stack's resources by logical id, or undefined when the stack does not exist. */
export async function readStackResources(
  cfn: CloudFormationClient,
  stackName: string,
): Promise<Map<string, StackResource> | undefined> {
  try {
    const out = await cfn.send(new DescribeStackResourcesCommand({ StackName: stackName }))
    return new Map(
      (out.StackResources ?? [])
        // moto lists the resource types it does not implement with an empty logical id.
        .filter((r) => (r.LogicalResourceId ?? '') !== '')
        .map((r) => [
          r.LogicalResourceId as string,
          { type: r.ResourceType ?? '', physicalId: r.PhysicalResourceId },
        ]),
    )
  } catch (err) {
    if (isMissingStack(err)) return undefined
    throw err
  }
}

/** The template the stack was deployed with, as submitted (JSON text), or undefined when there is no stack. */
export async function readDeployedTemplate(
  cfn: CloudFormationClient,
  stackName: string,
): Promise<string | undefined> {
  try {
    const out = await cfn.send(new GetTemplateCommand({ StackName: stackName, TemplateStage: 'Original' }))
    const body: unknown = out.TemplateBody
    return typeof body === 'string' ? body : JSON.stringify(body)
  } catch (err) {
    if (isMissingStack(err)) return undefined
    throw err
  }
}

function isNotFound(err: unknown): boolean {
  return (err as { name?: unknown }).name === 'ResourceNotFoundException'
}

/** The logical ids of the stack's deployed template (what CloudFormation will not create again), if any. */
export async function deployedLogicalIds(
  cfn: CloudFormationClient,
  stackName: string,
): Promise<Set<string> | undefined> {
  const body = await readDeployedTemplate(cfn, stackName)
  if (body === undefined) return undefined
  return new Set(Object.keys((JSON.parse(body) as { Resources?: object }).Resources ?? {}))
}

/**
 * The key a secret names (DescribeSecret's KmsKeyId: a key ARN, or the key id CloudFormation passed), as the
 * key's id and ARN. Read from the secret, not from KMS: only the deployment role and the root user may
 * describe the stage's key (its policy), and whoever runs `npm run adopt` need be neither.
 */
export function keyOfSecret(kmsKeyId: string, secretArn: string): { id: string; arn: string } | undefined {
  const fromArn = /^arn:([\w-]+):kms:([\w-]+):(\d{12}):key\/([\w-]+)$/.exec(kmsKeyId)
  if (fromArn !== null) return { id: fromArn[4] as string, arn: kmsKeyId }
  const secret = /^arn:([\w-]+):secretsmanager:([\w-]+):(\d{12}):/.exec(secretArn)
  if (!/^[0-9a-f-]{36}$|^mrk-[0-9a-f]{32}$/.test(kmsKeyId) || secret === null) return undefined
  return { id: kmsKeyId, arn: `arn:${secret[1]}:kms:${secret[2]}:${secret[3]}:key/${kmsKeyId}` }
}

/**
 * The stage's managed secrets that exist in Secrets Manager but not in its stack's template (all of them, when
 * the stack does not exist), and — when there is no stack — the KMS key they are encrypted with: what a
 * deploy would fail creating (ResourceExistsException), and what `npm run adopt` imports. A key that cannot be
 * named (an alias, or the AWS-managed key) is left out, and adoption says so.
 */
export async function findRetained(
  clients: { readonly sm: SecretsManagerClient },
  plan: StackPlan,
  inStack: ReadonlySet<string> | undefined,
): Promise<RetainedResource[]> {
  const found: RetainedResource[] = []
  const keys = new Map<string, { id: string; arn: string }>()
  for (const m of plan.managed) {
    if (inStack?.has(m.logicalId) === true) continue
    let described
    try {
      described = await clients.sm.send(new DescribeSecretCommand({ SecretId: m.awsName }))
    } catch (err) {
      if (isNotFound(err)) continue
      throw err
    }
    const arn = described.ARN ?? m.awsName
    found.push({
      type: 'AWS::SecretsManager::Secret',
      logicalId: m.logicalId,
      name: described.Name ?? m.awsName,
      arn,
      ...(described.DeletedDate === undefined ? {} : { deletionScheduled: true }),
    })
    const key = described.KmsKeyId === undefined ? undefined : keyOfSecret(described.KmsKeyId, arn)
    if (key !== undefined) keys.set(key.id, key)
  }
  if (inStack === undefined || !inStack.has('BrokerKey'))
    for (const key of keys.values())
      found.push({ type: 'AWS::KMS::Key', logicalId: 'BrokerKey', name: key.id, arn: key.arn })
  return found
}

/** Where an operator looks at a deployed stage: its API, its dashboard and its alarm topic. */
export interface StageView {
  readonly apiEndpoint: string | undefined
  readonly dashboard: string | undefined
  readonly dashboardUrl: string | undefined
  readonly alarmTopicArn: string | undefined
}

/** The stage's view from its stack's resources (physical ids, so it works where outputs are missing). */
export function stageView(
  resources: ReadonlyMap<string, StackResource>,
  stage: string,
  region: string,
): StageView {
  const id = (logicalId: string): string | undefined => {
    const p = resources.get(logicalId)?.physicalId
    return p === undefined || p === '' ? undefined : p
  }
  const api = id('ApiGatewayRestApi')
  const dashboard = id('Dashboard')
  return {
    apiEndpoint:
      api === undefined ? undefined : `https://${api}.execute-api.${region}.amazonaws.com/${stage}`,
    dashboard,
    dashboardUrl:
      dashboard === undefined
        ? undefined
        : `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#dashboards/dashboard/${encodeURIComponent(dashboard)}`,
    alarmTopicArn: id('AlarmTopic'),
  }
}

/** What `sls remove` leaves behind: the resources the deployed template marks DeletionPolicy Retain. */
export interface LeftBehind {
  readonly logicalId: string
  readonly type: string
  readonly physicalId: string | undefined
}

export function retainedByTemplate(
  templateBody: string,
  resources: ReadonlyMap<string, StackResource> | undefined,
): LeftBehind[] {
  const template = JSON.parse(templateBody) as {
    Resources?: Record<string, { Type?: string; DeletionPolicy?: string }>
  }
  return Object.entries(template.Resources ?? {})
    .filter(([, r]) => r.DeletionPolicy === 'Retain')
    .map(([logicalId, r]) => ({
      logicalId,
      type: r.Type ?? '',
      physicalId: resources?.get(logicalId)?.physicalId,
    }))
}

/** The lines `sls remove` prints about what it keeps, and how to deploy the stage again. */
export function describeLeftBehind(stage: string, left: readonly LeftBehind[]): string[] {
  if (left.length === 0) return []
  const label = (l: LeftBehind): string =>
    `${l.type} ${l.logicalId}${l.physicalId === undefined || l.physicalId === '' ? '' : ` (${l.physicalId})`}`
  return [
    `sls remove keeps these resources of ${stackNameOf(stage)} (DeletionPolicy Retain), in the account:`,
    ...left.map((l) => `  - ${label(l)}`),
    'The secrets keep their values (the passwords the databases have) and their resource policies, which',
    "still let only the stage's roles and deployment role near them; the key keeps its policy. Rotation stops",
    '(its schedules and function are removed). Nothing reads the secrets until the stage is deployed again:',
    `  npm run adopt -- --stage ${stage}   # imports the secrets and the key into a new stack`,
    `  npx serverless deploy --stage ${stage}`,
    'To delete them instead: aws secretsmanager delete-secret (7–30 days to recover) and aws kms',
    'schedule-key-deletion, only once no secret encrypted with the key is needed.',
  ]
}
