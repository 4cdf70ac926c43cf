import { parseSecretArn, registerTableName } from '../src/contract/register'
import { ROTATION_STRATEGY_TRAITS } from '../src/contract/rotation-strategies'
import { settingsFor, type FunctionKind } from '../src/contract/settings'
import type { InvalidationDocument } from '../src/invalidation/invalidation-config'
import type { RuntimeCatalogDocument } from '../src/lib/secrets'
import type { RotationDocument } from '../src/rotation'
import type { ManagedSecret, StackPlan } from './plan'
import { SERVICE_NAME } from './stage-declarations'

/**
 * What the functions get from a plan: the runtime catalog and rotation documents, and each function's
 * environment. Deployed stages reference the secrets' ARNs with `${LogicalId}` placeholders in an Fn::Sub;
 * the local stage uses the secrets' names (serverless-offline resolves no intrinsics).
 */
type Cfn = Record<string, unknown>

/** Lambda refuses a function whose environment variables (names and values) exceed 4 KB in total. */
export const LAMBDA_ENVIRONMENT_LIMIT_BYTES = 4096

/** The runtime's bundle of Amazon root CAs (includes the RDS roots). */
export const LAMBDA_AMAZON_CA_BUNDLE = '/var/runtime/ca-cert.pem'

/** The runtime catalog, with `secretIdOf` choosing how a managed secret is referenced (name, or a CFN placeholder). */
export function runtimeCatalogDocument(
  plan: StackPlan,
  secretIdOf: (m: ManagedSecret) => string,
): RuntimeCatalogDocument {
  const byName = new Map(plan.managed.map((m) => [m.logicalName, m]))
  return {
    // A secret with no readers (a master credential only the rotation function uses) is not brokered.
    secrets: Object.entries(plan.decl.params.secrets)
      .filter(([, s]) => s.readers.length > 0)
      .map(([name, s]) => {
        const m = byName.get(name)
        const rotationStrategy = s.rotation?.strategy
        return {
          name,
          secretId: m === undefined ? (s.arn as string) : secretIdOf(m),
          readers: s.readers,
          ...(rotationStrategy === undefined ? {} : { rotationStrategy }),
        }
      }),
  }
}

export function rotationDocument(
  plan: StackPlan,
  secretIdOf: (m: ManagedSecret) => string,
): RotationDocument {
  const byName = new Map(plan.managed.map((m) => [m.logicalName, m]))
  return {
    pgSslMode: plan.decl.params.pgSslMode,
    targets: plan.managed
      .filter((m) => m.rotation !== undefined)
      .map((m) => {
        const masterName = m.rotation?.masterSecret
        const master = masterName === undefined ? undefined : byName.get(masterName)
        const masterId =
          master === undefined ? plan.decl.params.secrets[masterName ?? '']?.arn : secretIdOf(master)
        return {
          secretId: secretIdOf(m),
          strategy: m.rotation?.strategy ?? 'random',
          passwordLength: m.passwordLength,
          excludeCharacters: m.excludeCharacters,
          ...(masterId === undefined ? {} : { masterSecretId: masterId }),
        }
      }),
  }
}

/** The stage's invalidation register (a DynamoDB table with a fixed name, so no intrinsic is needed). */
export const registerTable = (plan: StackPlan): string => registerTableName(SERVICE_NAME, plan.decl.stage)

/** What the invalidation function records: the names (in Secrets Manager) of the stage's brokered secrets. */
export function invalidationDocument(plan: StackPlan): InvalidationDocument {
  return {
    secretNames: runtimeCatalogDocument(plan, (m) => m.awsName).secrets.map(
      (s) => parseSecretArn(s.secretId)?.name ?? s.secretId,
    ),
  }
}

const deployed = (m: ManagedSecret): string => `\${${m.logicalId}}`

/** A JSON document with `${LogicalId}` placeholders as a CloudFormation string (Ref of a secret is its ARN). */
function subJson(doc: unknown): Cfn {
  return { 'Fn::Sub': JSON.stringify(doc) }
}

/**
 * The settings a function kind receives, as its environment variables: derived from contract/settings.ts,
 * so a setting added there reaches the functions that read it without another edit. The account id is the
 * deployed account itself (`AWS::AccountId`), so a template deployed into another account fails closed.
 */
function settingsEnvironment(plan: StackPlan, fn: FunctionKind): Record<string, unknown> {
  const { params, stage } = plan.decl
  const env: Record<string, unknown> = {}
  for (const [name, s] of settingsFor(fn)) {
    const value = params[name]
    if (value === undefined || s.env === undefined) continue
    env[s.env] = name === 'accountId' && stage !== 'local' ? { Ref: 'AWS::AccountId' } : String(value)
  }
  return env
}

/**
 * The API id serverless-offline puts in every event (`requestContext.apiId`); deployed stages get the REST
 * API's real id. Either way the functions refuse an event naming another (src/lib/middleware/api-origin.ts).
 */
export const OFFLINE_API_ID = 'offlineContext_apiId'

export function httpEnvironment(plan: StackPlan): Record<string, unknown> {
  const { stage } = plan.decl
  const local = stage === 'local'
  return {
    BROKER_STAGE: stage,
    BROKER_API_ID: local ? OFFLINE_API_ID : { Ref: 'ApiGatewayRestApi' },
    ...settingsEnvironment(plan, 'http'),
    BROKER_CATALOG_JSON: local
      ? JSON.stringify(runtimeCatalogDocument(plan, (m) => m.awsName))
      : subJson(runtimeCatalogDocument(plan, deployed)),
    BROKER_REGISTER_TABLE: registerTable(plan),
    ...(plan.localConsumersSecretName === undefined
      ? {}
      : { BROKER_LOCAL_CONSUMERS_SECRET_ID: plan.localConsumersSecretName }),
  }
}

export function invalidationEnvironment(plan: StackPlan): Record<string, unknown> {
  return {
    BROKER_STAGE: plan.decl.stage,
    ...settingsEnvironment(plan, 'invalidation'),
    BROKER_REGISTER_TABLE: registerTable(plan),
    BROKER_INVALIDATION_JSON: JSON.stringify(invalidationDocument(plan)),
  }
}

export function rotationEnvironment(plan: StackPlan): Record<string, unknown> {
  const { params, stage } = plan.decl
  const local = stage === 'local'
  return {
    BROKER_STAGE: stage,
    BROKER_ROTATION_JSON: local
      ? JSON.stringify(rotationDocument(plan, (m) => m.awsName))
      : subJson(rotationDocument(plan, deployed)),
    ...settingsEnvironment(plan, 'rotation'),
    // Lambda's Node.js 20+ runtimes no longer load Amazon's CA bundle (RDS's roots among them) by default;
    // verify-full against an RDS or Aurora endpoint (PostgreSQL or MySQL/MariaDB) needs it named here.
    ...(!local &&
    params.pgSslMode === 'verify-full' &&
    plan.managed.some(
      (m) =>
        m.rotation !== undefined &&
        ['postgres', 'mysql', 'redis'].includes(ROTATION_STRATEGY_TRAITS[m.rotation.strategy].engine),
    )
      ? { NODE_EXTRA_CA_CERTS: LAMBDA_AMAZON_CA_BUNDLE }
      : {}),
  }
}

/**
 * The HTTP and rotation functions' environments as CloudFormation will resolve them, each secret's ARN at
 * its longest: `${SecretX}` in a Sub becomes the ARN, the account id Ref the stage's account.
 */
export function resolvedEnvironments(
  plan: StackPlan,
): Record<'http' | 'rotation' | 'invalidation', Record<string, string>> {
  const { params } = plan.decl
  const awsNames = new Map(plan.managed.map((m) => [m.logicalId, m.awsName]))
  const worstArn = (logicalId: string): string =>
    `arn:aws-us-gov:secretsmanager:${params.region}:${params.accountId}:secret:${awsNames.get(logicalId) ?? logicalId}-AbCdEf`
  const resolve = (v: unknown): string => {
    if (typeof v === 'string') return v
    const cfn = v as { 'Fn::Sub'?: string; Ref?: string }
    if (cfn['Fn::Sub'] !== undefined)
      return cfn['Fn::Sub'].replace(/\$\{(\w+)\}/g, (_, id: string) => worstArn(id))
    if (cfn.Ref === 'AWS::AccountId') return params.accountId
    if (cfn.Ref === 'ApiGatewayRestApi') return 'a1b2c3d4e5' // REST API ids are 10 characters
    return JSON.stringify(v)
  }
  const resolved = (env: Record<string, unknown>): Record<string, string> =>
    Object.fromEntries(Object.entries(env).map(([k, v]) => [k, resolve(v)]))
  return {
    http: resolved(httpEnvironment(plan)),
    rotation: resolved(rotationEnvironment(plan)),
    invalidation: resolved(invalidationEnvironment(plan)),
  }
}

/**
 * The catalog and the rotation targets travel in environment variables, so a stage with many secrets can
 * pass every other check and then fail at deployment. Measure both environments with each secret's ARN
 * expanded at its longest (the `aws-us-gov` partition, the 6-character suffix) and refuse at packaging time.
 */
export function environmentSizeProblems(plan: StackPlan): string[] {
  return Object.entries(resolvedEnvironments(plan)).flatMap(([fn, env]) => {
    // Lambda measures the JSON text of the whole map: quotes, separators and escaped quotes count.
    const bytes = Buffer.byteLength(JSON.stringify(env))
    return bytes <= LAMBDA_ENVIRONMENT_LIMIT_BYTES
      ? []
      : [
          `the ${fn} functions' environment would be ${bytes} bytes with the secrets' ARNs expanded; Lambda ` +
            `allows ${LAMBDA_ENVIRONMENT_LIMIT_BYTES}. Split the catalog across stages or services, or shorten names.`,
        ]
  })
}
