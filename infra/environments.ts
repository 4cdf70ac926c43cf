import { parseSecretArn, registerTableName } from '../src/contract/register'
import { ROTATION_STRATEGY_TRAITS } from '../src/contract/rotation-strategies'
import { settingsFor, type FunctionKind } from '../src/contract/settings'
import type { InvalidationDocument } from '../src/invalidation/invalidation-config'
import type { RuntimeCatalogDocument } from '../src/lib/secrets'
import type { RotationDocument } from '../src/rotation'
import type { ManagedSecret, StackPlan } from './plan'
import { isBrokeredDeclaration, SERVICE_NAME } from './stage-declarations'

/**
 * What the functions get from a plan: the compiled catalog and rotation documents, bundled into the
 * functions at packaging (esbuild.config.ts), and each function's environment, which carries settings only.
 * Secrets the stack creates are referenced by name: their ARNs end in a suffix only known after the deploy,
 * which the bundled documents precede; the HTTP role's grant still names each one's ARN (infra/iam.ts).
 */
/** The runtime's bundle of Amazon root CAs (includes the RDS roots). */
export const LAMBDA_AMAZON_CA_BUNDLE = '/var/runtime/ca-cert.pem'

const byName = (m: ManagedSecret): string => m.awsName

/**
 * The compiled catalog: every brokered declared name (a secret with no readers, such as a master only
 * rotation uses, is left out unless declared `brokered: true`), the brokered prefixes, and the rules. Names
 * declared under a prefix with nothing of their own are listed in the prefix, relative, sorted and one per
 * line (one JSON string parses far faster than thousands); the entries are sorted too, so a listing is a
 * binary search.
 */
export function runtimeCatalogDocument(
  plan: Pick<StackPlan, 'decl' | 'managed'>,
  secretIdOf: (m: ManagedSecret) => string = byName,
): RuntimeCatalogDocument {
  const { params, stage } = plan.decl
  const managed = new Map(plan.managed.map((m) => [m.logicalName, m]))
  const entries = Object.entries(params.secrets)
  const prefixNames = new Map<string, string[]>()
  for (const [name, s] of entries) if (s.prefix !== undefined) prefixNames.set(name.slice(0, -1), [])
  const headOf = (name: string): string | undefined => {
    for (let slash = name.indexOf('/'); slash !== -1; slash = name.indexOf('/', slash + 1)) {
      const head = name.slice(0, slash + 1)
      if (prefixNames.has(head)) return head
    }
    return undefined
  }
  const secrets: RuntimeCatalogDocument['secrets'] = []
  const readers = (list: readonly string[]) => (list.length === 0 ? {} : { readers: [...list] })
  for (const [name, s] of entries) {
    if (s.prefix !== undefined || !isBrokeredDeclaration(s)) continue
    const m = managed.get(name)
    const secretId = m === undefined ? s.arn : secretIdOf(m)
    const head = secretId === undefined && s.readers.length === 0 ? headOf(name) : undefined
    if (head !== undefined) {
      prefixNames.get(head)?.push(name.slice(head.length))
      continue
    }
    const rotationStrategy = s.rotation?.strategy
    secrets.push({
      name,
      ...(secretId === undefined ? {} : { secretId }),
      ...readers(s.readers),
      ...(rotationStrategy === undefined ? {} : { rotationStrategy }),
    })
  }
  const prefixes = entries.flatMap(([pattern, s]) => {
    if (s.prefix === undefined) return []
    const names = (prefixNames.get(pattern.slice(0, -1)) ?? []).sort()
    return [
      {
        pattern,
        secretPrefix: s.prefix,
        ...(s.requireTag === undefined ? {} : { requireTag: s.requireTag }),
        ...readers(s.readers),
        ...(names.length === 0 ? {} : { names: names.join('\n') }),
      },
    ]
  })
  return {
    stage,
    accountId: params.accountId,
    secrets: secrets.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    ...(prefixes.length === 0 ? {} : { prefixes }),
    ...(params.rules.length === 0
      ? {}
      : {
          rules: params.rules.map((r) => ({
            ...(r.id === undefined ? {} : { id: r.id }),
            principals: r.principals,
            ...(r.allow === undefined ? {} : { allow: r.allow }),
            ...(r.deny === undefined ? {} : { deny: r.deny }),
          })),
        }),
  }
}

export function rotationDocument(
  plan: StackPlan,
  secretIdOf: (m: ManagedSecret) => string = byName,
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

/**
 * What the invalidation function records: the catalog's secrets by their names in Secrets Manager, and its
 * brokered prefixes (a name under one is brokered without being listed), so the register follows the
 * catalog whatever its size.
 */
export function invalidationDocument(plan: StackPlan): InvalidationDocument {
  const catalog = runtimeCatalogDocument(plan)
  return {
    secretNames: catalog.secrets.flatMap((s) =>
      s.secretId === undefined ? [] : [parseSecretArn(s.secretId)?.name ?? s.secretId],
    ),
    secretPrefixes: (catalog.prefixes ?? []).map((p) => p.secretPrefix),
  }
}

/**
 * The documents bundled with the functions, as JSON text: the catalog (HTTP functions), the rotation
 * targets (rotation function) and the invalidation scope (invalidation function). The same text serves
 * packaging, `npm start`, `npm run rotate` and the tests.
 */
export function compiledDocuments(plan: StackPlan): {
  readonly catalogJson: string
  readonly rotationJson: string
  readonly invalidationJson: string
} {
  return {
    catalogJson: JSON.stringify(runtimeCatalogDocument(plan)),
    rotationJson: JSON.stringify(rotationDocument(plan)),
    invalidationJson: JSON.stringify(invalidationDocument(plan)),
  }
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
  return {
    BROKER_STAGE: stage,
    BROKER_API_ID: stage === 'local' ? OFFLINE_API_ID : { Ref: 'ApiGatewayRestApi' },
    ...settingsEnvironment(plan, 'http'),
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
  }
}

export function rotationEnvironment(plan: StackPlan): Record<string, unknown> {
  const { params, stage } = plan.decl
  const local = stage === 'local'
  return {
    BROKER_STAGE: stage,
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
