import { ConfigError } from '../src/lib/errors'
import { findCatalogProblems, parseSecretArn } from '../src/lib/secrets'
import { environmentSizeProblems, runtimeCatalogDocument } from './environments'
import { SERVICE_NAME, type SecretDeclaration, type StageDeclarations } from './stage-declarations'

/**
 * The stack plan: a stage's declarations checked once and resolved into the secrets the stack manages.
 * Every other infra module derives its resources from a plan; a plan that exists is a plan that packages.
 */
export interface ManagedSecret {
  readonly logicalName: string
  readonly logicalId: string
  /** The secret's name in Secrets Manager. */
  readonly awsName: string
  readonly username: string
  /** What rotations generate: `rotation.passwordLength`/`excludeCharacters`, else the first value's. */
  readonly passwordLength: number
  readonly excludeCharacters: string
  /**
   * What made the first value (CloudFormation's GenerateSecretString). Fixed once deployed: a change would make
   * CloudFormation generate a new password on the next deploy (infra/credential-guard.ts refuses it).
   */
  readonly generation: { readonly passwordLength: number; readonly excludeCharacters: string }
  readonly fields: Readonly<Record<string, string | number>>
  readonly rotation: SecretDeclaration['rotation']
}

export interface StackPlan {
  readonly decl: StageDeclarations
  readonly managed: readonly ManagedSecret[]
  /** Name of the local stage's demo-consumer key secret (local stage only). */
  readonly localConsumersSecretName: string | undefined
}

export function secretAwsName(stage: string, logicalName: string): string {
  return `${SERVICE_NAME}/${stage}/${logicalName}`
}

function logicalIdFor(logicalName: string): string {
  const pascal = logicalName
    .split(/[^A-Za-z0-9]+/)
    .filter((p) => p.length > 0)
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join('')
  return `Secret${pascal}`
}

/** What a rotated secret's strategy needs from its declaration; one message per problem. */
function rotationProblems(
  name: string,
  s: SecretDeclaration,
  secrets: StageDeclarations['params']['secrets'],
): string[] {
  const problems: string[] = []
  if (s.rotation?.strategy === 'postgres-alternating-users') {
    const master = s.rotation.masterSecret
    if (master === undefined)
      problems.push(`secrets "${name}": postgres-alternating-users needs rotation.masterSecret`)
    else if (secrets[master] === undefined)
      problems.push(`secrets "${name}": masterSecret "${master}" is not declared`)
    else if (master === name) problems.push(`secrets "${name}": a secret cannot be its own masterSecret`)
    else problems.push(...alternatingUsersProblems(name, s, master, secrets[master]))
  } else if (s.rotation?.masterSecret !== undefined) {
    problems.push(`secrets "${name}": masterSecret only applies to postgres-alternating-users`)
  }
  if (s.rotation?.strategy.startsWith('postgres') === true) {
    for (const f of ['host', 'port', 'dbname']) {
      if (s.fields?.[f] === undefined)
        problems.push(`secrets "${name}": a PostgreSQL strategy needs fields.${f}`)
    }
    const port = s.fields?.['port']
    if (
      port !== undefined &&
      !(/^\d{1,5}$/.test(String(port)) && Number(port) >= 1 && Number(port) <= 65_535)
    )
      problems.push(`secrets "${name}": fields.port must be a port number (1–65535)`)
  }
  return problems
}

const CLONE_SUFFIX_LENGTH = '_clone'.length
const PG_MAX_IDENTIFIER = 63

/**
 * postgres-alternating-users declarations that could never rotate. The master logs in with its own username
 * and password; host and port come from the master secret when it has them, else from the rotated secret
 * (an RDS-managed master secret, `rds!db-…`, holds only a username and a password), and the database is
 * always the rotated secret's. So a master given by ARN needs nothing but a well-formed ARN, and a master
 * this stack creates must not name another server.
 */
function alternatingUsersProblems(
  name: string,
  s: SecretDeclaration,
  masterName: string,
  master: SecretDeclaration | undefined,
): string[] {
  const problems: string[] = []
  if ((s.username?.length ?? 0) > PG_MAX_IDENTIFIER - CLONE_SUFFIX_LENGTH)
    problems.push(
      `secrets "${name}": username is longer than ${PG_MAX_IDENTIFIER - CLONE_SUFFIX_LENGTH} characters, so its alternate <username>_clone would exceed PostgreSQL's ${PG_MAX_IDENTIFIER}`,
    )
  if (master?.arn !== undefined && parseSecretArn(master.arn) === undefined)
    problems.push(
      `secrets "${masterName}": arn must be a full secret ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-AbCdEf; names such as rds!db-… are accepted): the rotation function reads the master by ARN`,
    )
  for (const f of ['host', 'port'] as const) {
    const mine = s.fields?.[f]
    const theirs = master?.fields?.[f]
    if (
      mine !== undefined &&
      theirs !== undefined &&
      String(mine).toLowerCase() !== String(theirs).toLowerCase()
    )
      problems.push(
        `secrets "${masterName}": fields.${f} differs from secrets "${name}".fields.${f}; a master must log in to the server it manages (or leave fields.${f} out)`,
      )
  }
  return problems
}

/** Where the API is reached from, and who the stage's deployment and exempt principals are. */
function perimeterProblems(decl: StageDeclarations): string[] {
  const { params, stage } = decl
  const problems: string[] = []
  const ids = params.vpcEndpointIds ?? []
  if (params.endpointType === 'PRIVATE' && ids.length === 0) {
    problems.push(
      `params.${stage}.vpcEndpointIds: endpointType PRIVATE needs the interface VPC endpoint ids (vpce-…) ` +
        `consumers reach the API through (endpoints for com.amazonaws.${params.region}.execute-api)`,
    )
  }
  if (params.endpointType !== 'PRIVATE' && ids.length > 0) {
    problems.push(
      `params.${stage}.vpcEndpointIds: only a PRIVATE endpoint is reached through VPC endpoints ` +
        `(endpointType is ${params.endpointType}); remove them or set endpointType: PRIVATE`,
    )
  }
  const inAccount = (field: string, arn: string | undefined): void => {
    if (arn !== undefined && arn.split(':')[4] !== params.accountId)
      problems.push(`params.${stage}.${field}: ${arn} is not in the stage's account ${params.accountId}`)
  }
  inAccount('deploymentRoleArn', params.deploymentRoleArn)
  inAccount('breakGlassRoleArn', params.breakGlassRoleArn)
  for (const arn of params.directInvokePrincipals ?? []) inAccount('directInvokePrincipals', arn)
  return problems
}

function localConsumerProblems(decl: StageDeclarations): string[] {
  const { params, stage } = decl
  if (stage === 'local') {
    return params.localConsumers === undefined || params.localConsumers.length === 0
      ? ['params.local.localConsumers: the local stage needs at least one demo consumer']
      : []
  }
  return params.localConsumers === undefined
    ? []
    : [`params.${stage}.localConsumers: demo consumers exist only in the local stage`]
}

/**
 * Check a stage's declarations as a whole and resolve its managed secrets.
 * @throws ConfigError listing every problem, one line each.
 */
export function planStack(decl: StageDeclarations): StackPlan {
  const { params, stage } = decl
  const problems: string[] = []
  const managed: ManagedSecret[] = []
  const ids = new Map<string, string>()
  for (const [name, s] of Object.entries(params.secrets)) {
    if (s.username === undefined) continue
    const logicalId = logicalIdFor(name)
    const clash = ids.get(logicalId)
    if (clash !== undefined)
      problems.push(`secrets "${name}" and "${clash}" map to the same resource id ${logicalId}; rename one`)
    ids.set(logicalId, name)
    const generation = {
      passwordLength: s.passwordLength ?? params.passwordLength,
      excludeCharacters: s.excludeCharacters ?? params.passwordExcludeCharacters,
    }
    managed.push({
      logicalName: name,
      logicalId,
      awsName: secretAwsName(stage, name),
      username: s.username,
      passwordLength: s.rotation?.passwordLength ?? generation.passwordLength,
      excludeCharacters: s.rotation?.excludeCharacters ?? generation.excludeCharacters,
      generation,
      fields: s.fields ?? {},
      rotation: s.rotation,
    })
    problems.push(...rotationProblems(name, s, params.secrets))
  }
  problems.push(
    ...findCatalogProblems(
      runtimeCatalogDocument({ decl, managed, localConsumersSecretName: undefined }, (m) => m.awsName),
      params.accountId,
    ),
  )
  problems.push(...localConsumerProblems(decl))
  problems.push(...perimeterProblems(decl))
  const plan: StackPlan = {
    decl,
    managed,
    localConsumersSecretName: stage === 'local' ? `${SERVICE_NAME}/local/_local/consumer-keys` : undefined,
  }
  if (problems.length === 0) problems.push(...environmentSizeProblems(plan))
  if (problems.length > 0)
    throw new ConfigError(`Stage "${stage}" declarations are invalid:\n- ${problems.join('\n- ')}`)
  return plan
}

/** Managed secrets that callers read through the broker (a secret with no readers only feeds rotation). */
export function isBrokered(plan: StackPlan, m: ManagedSecret): boolean {
  return (plan.decl.params.secrets[m.logicalName]?.readers.length ?? 0) > 0
}

/**
 * Strategies whose rotation changes another system (a database): its user must accept the secret before the
 * schedule exists, since Secrets Manager tests the rotation as soon as it does (docs/ROTATION.md, "Day 1").
 */
export function needsOnboarding(strategy: string): boolean {
  return strategy !== 'random'
}

/** Whether the stack schedules this secret's rotation: `rotation.enabled`, by default unless it needs onboarding. */
export function rotationScheduled(m: ManagedSecret): boolean {
  if (m.rotation === undefined) return false
  return m.rotation.enabled ?? !needsOnboarding(m.rotation.strategy)
}

export function rotatedSecrets(plan: StackPlan): ManagedSecret[] {
  return plan.managed.filter((m) => m.rotation !== undefined)
}

/** Existing secrets (declared by ARN) that the broker serves. */
export function externalBrokeredArns(plan: StackPlan): string[] {
  return Object.values(plan.decl.params.secrets).flatMap((s) =>
    s.arn === undefined || s.readers.length === 0 ? [] : [s.arn],
  )
}

/** The master secret of each alternating-users rotation: a `Ref` when the stack owns it, else its ARN. */
export function masterSecretRefs(plan: StackPlan): unknown[] {
  return rotatedSecrets(plan).flatMap((m) => {
    const master = m.rotation?.masterSecret
    if (master === undefined) return []
    const owned = plan.managed.find((x) => x.logicalName === master)
    return [owned === undefined ? plan.decl.params.secrets[master]?.arn : { Ref: owned.logicalId }]
  })
}

/** Logical names of managed secrets that serve as some rotation's master. */
export function ownedMasterNames(plan: StackPlan): Set<string> {
  return new Set(
    rotatedSecrets(plan).flatMap((m) =>
      m.rotation?.masterSecret === undefined ? [] : [m.rotation.masterSecret],
    ),
  )
}
