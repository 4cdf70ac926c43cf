import {
  ACL_USER_PATTERN,
  IAM_USER_NAME_PATTERN,
  MYSQL_USER_PATTERN,
  PG_USERNAME_PATTERN,
  ROTATION_STRATEGY_TRAITS,
  STRATEGIES_WITH_MASTER,
  type RotationEngine,
  type RotationStrategyKind,
} from '../src/contract/rotation-strategies'
import { ConfigError } from '../src/lib/errors'
import { findCatalogProblems, findCatalogWarnings, parseSecretArn } from '../src/lib/secrets'
import { declaredPrefixProblems } from './catalog-declarations'
import { runtimeCatalogDocument } from './environments'
import {
  isBrokeredDeclaration,
  SERVICE_NAME,
  type SecretDeclaration,
  type StageDeclarations,
} from './stage-declarations'

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
  /** Catalog warnings (a dead allow, a pattern that matches nothing): packaging prints them once. */
  readonly warnings: readonly string[]
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
  const rotation = s.rotation
  if (rotation === undefined) return []
  const traits = ROTATION_STRATEGY_TRAITS[rotation.strategy]
  const problems: string[] = []
  const master = rotation.masterSecret
  if (traits.needsMaster) {
    if (master === undefined)
      problems.push(`secrets "${name}": ${rotation.strategy} needs rotation.masterSecret`)
    else if (secrets[master] === undefined)
      problems.push(`secrets "${name}": masterSecret "${master}" is not declared`)
    else if (master === name) problems.push(`secrets "${name}": a secret cannot be its own masterSecret`)
    else problems.push(...masterProblems(name, s, master, secrets[master]))
  } else if (master !== undefined) {
    problems.push(
      `secrets "${name}": masterSecret only applies to ${STRATEGIES_WITH_MASTER.join(', ')}, not ${rotation.strategy}`,
    )
  }
  problems.push(...engineProblems(name, s, rotation.strategy))
  return problems
}

const CLONE_SUFFIX = '_clone'

/** What each engine needs: the fields it connects with, and a user name it can rotate (and clone). */
const ENGINE_RULES: Readonly<
  Record<
    Exclude<RotationEngine, 'none'>,
    {
      readonly label: string
      readonly required: readonly string[]
      readonly user: RegExp
      readonly userRule: string
      /** The longest user name whose alternate `<user>_clone` the engine still accepts. */
      readonly maxAlternating: number
    }
  >
> = {
  postgres: {
    label: 'a PostgreSQL strategy',
    required: ['host', 'port', 'dbname'],
    user: PG_USERNAME_PATTERN,
    userRule: "PostgreSQL's 63",
    maxAlternating: 63 - CLONE_SUFFIX.length,
  },
  mysql: {
    label: 'a MySQL strategy',
    required: ['host'],
    user: MYSQL_USER_PATTERN,
    userRule: "MySQL's 32 (letters, digits and _$.-)",
    maxAlternating: 32 - CLONE_SUFFIX.length,
  },
  redis: {
    label: 'a Redis ACL strategy',
    required: ['host'],
    user: ACL_USER_PATTERN,
    userRule: 'the 128 characters of [A-Za-z0-9_.:@+=-] Redis users may have here',
    maxAlternating: 128 - CLONE_SUFFIX.length,
  },
  iam: {
    label: 'iam-access-key',
    required: [],
    user: IAM_USER_NAME_PATTERN,
    userRule: "IAM's 64 characters of [A-Za-z0-9_+=,.@-]",
    maxAlternating: 0,
  },
}

/** The value fields iam-access-key keeps (the stack creates them empty; the first rotation fills them). */
export const ACCESS_KEY_FIELDS = ['userName', 'accessKeyId', 'secretAccessKey'] as const

function engineProblems(name: string, s: SecretDeclaration, strategy: RotationStrategyKind): string[] {
  const { engine, alternating } = ROTATION_STRATEGY_TRAITS[strategy]
  if (engine === 'none') return []
  const rules = ENGINE_RULES[engine]
  const problems = rules.required
    .filter((f) => s.fields?.[f] === undefined)
    .map((f) => `secrets "${name}": ${rules.label} needs fields.${f}`)
  const port = s.fields?.['port']
  if (
    engine !== 'iam' &&
    port !== undefined &&
    !(/^\d{1,5}$/.test(String(port)) && Number(port) >= 1 && Number(port) <= 65_535)
  )
    problems.push(`secrets "${name}": fields.port must be a port number (1–65535)`)
  const username = s.username ?? ''
  if (!rules.user.test(username))
    problems.push(`secrets "${name}": username is not a user name ${strategy} can rotate (${rules.userRule})`)
  else if (alternating && username.length > rules.maxAlternating)
    problems.push(
      `secrets "${name}": username is longer than ${rules.maxAlternating} characters, so its alternate <username>${CLONE_SUFFIX} would exceed ${rules.userRule}`,
    )
  if (engine === 'iam')
    for (const f of ACCESS_KEY_FIELDS)
      if (s.fields?.[f] !== undefined)
        problems.push(
          `secrets "${name}": fields.${f} is set by iam-access-key itself (userName is the username)`,
        )
  return problems
}

/**
 * A master declaration that could never log in. The master logs in with its own username and password;
 * host and port come from the master secret when it has them, else from the rotated secret (an
 * RDS-managed master secret, `rds!db-…`, holds only a username and a password). So a master given by ARN
 * needs nothing but a well-formed ARN, and a master this stack creates must not name another server.
 */
function masterProblems(
  name: string,
  s: SecretDeclaration,
  masterName: string,
  master: SecretDeclaration | undefined,
): string[] {
  const problems: string[] = []
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

/**
 * The username alphabet of a secret that is not rotated: a master's is its engine's (a Redis master may be
 * `rotation-master`), anything else keeps the PostgreSQL identifier rule it always had.
 */
function unrotatedUsernameProblems(
  name: string,
  s: SecretDeclaration,
  secrets: StageDeclarations['params']['secrets'],
): string[] {
  if (s.rotation !== undefined || s.username === undefined) return []
  const engines = new Set(
    Object.values(secrets).flatMap((o) =>
      o.rotation?.masterSecret === name ? [ROTATION_STRATEGY_TRAITS[o.rotation.strategy].engine] : [],
    ),
  )
  const pattern = engines.has('redis')
    ? ACL_USER_PATTERN
    : engines.has('mysql')
      ? MYSQL_USER_PATTERN
      : PG_USERNAME_PATTERN
  return pattern.test(s.username)
    ? []
    : [`secrets "${name}": username must be a database-safe user name (${pattern.source})`]
}

/** The fields a managed secret's value starts with: the declared ones, and an access key's empty ones. */
function initialFields(s: SecretDeclaration): Readonly<Record<string, string | number>> {
  if (s.rotation?.strategy !== 'iam-access-key') return s.fields ?? {}
  return { ...s.fields, userName: s.username ?? '', accessKeyId: '', secretAccessKey: '' }
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
      fields: initialFields(s),
      rotation: s.rotation,
    })
    problems.push(...rotationProblems(name, s, params.secrets))
    problems.push(...unrotatedUsernameProblems(name, s, params.secrets))
  }
  const catalog = runtimeCatalogDocument({ decl, managed })
  problems.push(...findCatalogProblems(catalog, params.accountId))
  const prefixes = declaredPrefixProblems(decl)
  problems.push(...prefixes.problems)
  problems.push(...localConsumerProblems(decl))
  problems.push(...perimeterProblems(decl))
  if (problems.length > 0)
    throw new ConfigError(`Stage "${stage}" declarations are invalid:\n- ${problems.join('\n- ')}`)
  return {
    decl,
    managed,
    localConsumersSecretName: stage === 'local' ? `${SERVICE_NAME}/local/_local/consumer-keys` : undefined,
    warnings: [...findCatalogWarnings(catalog), ...prefixes.warnings],
  }
}

/**
 * Managed secrets that callers read through the broker (a secret with no readers only feeds rotation,
 * unless declared `brokered: true` for rules to grant).
 */
export function isBrokered(plan: StackPlan, m: ManagedSecret): boolean {
  const s = plan.decl.params.secrets[m.logicalName]
  return s !== undefined && isBrokeredDeclaration(s)
}

/**
 * Strategies whose rotation changes another system (a database): its user must accept the secret before the
 * schedule exists, since Secrets Manager tests the rotation as soon as it does (docs/ROTATION.md, "Day 1").
 */
export function needsOnboarding(strategy: RotationStrategyKind): boolean {
  // A database has never seen the password the stack generated; an access key is created by the first
  // rotation itself, and a random password has no system behind it.
  return ['postgres', 'mysql', 'redis'].includes(ROTATION_STRATEGY_TRAITS[strategy].engine)
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
    s.arn === undefined || !isBrokeredDeclaration(s) ? [] : [s.arn],
  )
}

/** Secrets Manager prefixes other stacks own that the stage brokers (`secrets` keys ending in `/*`). */
export function brokeredPrefixes(plan: StackPlan): {
  readonly pattern: string
  readonly secretPrefix: string
  readonly requireTag?: { key: string; value: string }
}[] {
  return Object.entries(plan.decl.params.secrets).flatMap(([pattern, s]) =>
    s.prefix === undefined
      ? []
      : [
          {
            pattern,
            secretPrefix: s.prefix,
            ...(s.requireTag === undefined ? {} : { requireTag: s.requireTag }),
          },
        ],
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
