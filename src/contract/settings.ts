/**
 * The runtime contract's settings, each declared once: its `params` name in serverless.yml, the environment
 * variable that carries it to the functions (if any), unit, range, default and meaning. Everything else is
 * derived from this table: the functions' configuration (`lib/config.ts`, `rotation/rotation-config.ts`), the
 * stage declaration schema (`infra/stage-declarations.ts`), the functions' environments
 * (`infra/environments.ts`) and the README's configuration table (a test renders it from here and compares).
 *
 * Plain data with no dependencies: it is read at cold start by every function.
 */
export const STAGES = ['local', 'dev', 'prod'] as const
export type Stage = (typeof STAGES)[number]

export const AUTH_MODES = ['iam', 'local-sigv4'] as const
/** `iam`: trust API Gateway's AWS_IAM identity. `local-sigv4`: verify SigV4 ourselves (serverless-offline only). */
export type AuthMode = (typeof AUTH_MODES)[number]

export const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

export const PG_SSL_MODES = ['disable', 'require', 'verify-full'] as const
export type PgSslMode = (typeof PG_SSL_MODES)[number]

/** Where API Gateway serves the API from: only through the stage's interface VPC endpoints, a region, or CloudFront. */
export const ENDPOINT_TYPES = ['PRIVATE', 'REGIONAL', 'EDGE'] as const
export type EndpointType = (typeof ENDPOINT_TYPES)[number]

/** CloudWatch Logs accepts only these retention periods. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const

/** Which functions receive a setting in their environment. */
export type FunctionKind = 'http' | 'rotation' | 'invalidation'

interface Common {
  /** One line for the README's configuration table. */
  readonly meaning: string
  /** The variable that carries the setting into the functions named in `functions`. */
  readonly env?: `BROKER_${string}`
  readonly functions?: readonly FunctionKind[]
}

export interface IntSetting extends Common {
  readonly kind: 'int'
  readonly unit: 'seconds' | 'ms' | 'count' | 'days' | 'characters' | 'per second'
  readonly min: number
  readonly max: number
  readonly default: number
  /** When set, only these values are accepted (e.g. CloudWatch's retention periods). */
  readonly oneOf?: readonly number[]
}

export interface EnumSetting<T extends string = string> extends Common {
  readonly kind: 'enum'
  readonly values: readonly T[]
  readonly default: T
  /** A stage whose default differs (prod's endpoint is PRIVATE unless its params say otherwise). */
  readonly stageDefaults?: Partial<Record<Stage, T>>
}

export interface BoolSetting extends Common {
  readonly kind: 'bool'
  readonly default: boolean
}

export interface StringSetting extends Common {
  readonly kind: 'string'
  /** A default, or undefined for an optional setting without one. */
  readonly default: string | undefined
  readonly required?: boolean
  /** The accepted form, and how a message should describe it. */
  readonly pattern?: RegExp
  readonly describe?: string
}

export type Setting = IntSetting | EnumSetting | BoolSetting | StringSetting

const int = <const S extends Omit<IntSetting, 'kind'>>(s: S): S & { readonly kind: 'int' } => ({
  kind: 'int',
  ...s,
})
const oneOf = <T extends string, const S extends Omit<EnumSetting<T>, 'kind'>>(
  s: S & { readonly values: readonly T[] },
): S & { readonly kind: 'enum' } => ({ kind: 'enum', ...s })
const str = <const S extends Omit<StringSetting, 'kind'>>(s: S): S & { readonly kind: 'string' } => ({
  kind: 'string',
  ...s,
})
const bool = <const S extends Omit<BoolSetting, 'kind'>>(s: S): S & { readonly kind: 'bool' } => ({
  kind: 'bool',
  ...s,
})

/** Characters that break connection strings and URLs; never in a generated password. */
export const DEFAULT_EXCLUDE_CHARACTERS = ' "\'`\\/@:?#[]%&+=;,<>{}|^~'

export const ACCOUNT_ID_PATTERN = /^\d{12}$/
export const ROLE_ARN_PATTERN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/
export const REGION_PATTERN = /^[a-z]{2}(-[a-z]+)+-\d$/

/**
 * Every scalar setting of a stage, in the order the README lists them. Structured params (`rotationVpc`,
 * `localConsumers`, `secrets`) are declared in infra/stage-declarations.ts and listed in
 * {@link STRUCTURED_PARAMS}.
 */
export const SETTINGS = {
  region: str({
    default: 'us-east-1',
    pattern: REGION_PATTERN,
    describe: 'an AWS region such as us-east-1',
    meaning: 'AWS region of the stage',
  }),
  accountId: str({
    default: undefined,
    required: true,
    pattern: ACCOUNT_ID_PATTERN,
    describe: 'a 12-digit AWS account id',
    env: 'BROKER_ACCOUNT_ID',
    functions: ['http', 'invalidation'],
    meaning: "the stage's account; every reader and external secret must be in it",
  }),
  authMode: oneOf({
    values: AUTH_MODES,
    default: 'iam',
    env: 'BROKER_AUTH_MODE',
    functions: ['http'],
    meaning: '`local-sigv4` only in the local stage',
  }),
  cacheTtlSeconds: int({
    unit: 'seconds',
    min: 0,
    max: 3600,
    // 900 s, not 300 s: the invalidation register brings a moved AWSCURRENT within seconds, so the TTL is
    // only the backstop for an event that never arrives (docs/ARCHITECTURE.md, "Invalidation").
    default: 900,
    env: 'BROKER_CACHE_TTL_SECONDS',
    functions: ['http'],
    meaning:
      "how long a value is served from a container's cache before it is revalidated, while the invalidation register answers (the bound for an event that never arrives)",
  }),
  invalidationPollSeconds: int({
    unit: 'seconds',
    min: 1,
    max: 60,
    default: 2,
    env: 'BROKER_INVALIDATION_POLL_SECONDS',
    functions: ['http'],
    meaning:
      "a container reads the invalidation register's generation at most this often, inside a request, and revalidates at once a secret whose AWSCURRENT moved",
  }),
  registerFallbackTtlSeconds: int({
    unit: 'seconds',
    min: 0,
    max: 3600,
    default: 300,
    env: 'BROKER_REGISTER_FALLBACK_TTL_SECONDS',
    functions: ['http'],
    meaning:
      'while the invalidation register cannot be read (unreachable, throttled), cached values are revalidated at least this often (the TTL before the register existed)',
  }),
  cacheMaxEntries: int({
    unit: 'count',
    min: 1,
    max: 10_000,
    default: 500,
    env: 'BROKER_CACHE_MAX_ENTRIES',
    functions: ['http'],
    meaning: 'secrets cached per container (least recently used go first)',
  }),
  maxStaleSeconds: int({
    unit: 'seconds',
    min: 0,
    max: 86_400,
    default: 900,
    env: 'BROKER_MAX_STALE_SECONDS',
    functions: ['http'],
    meaning: 'how long past expiry a cached value may be served while Secrets Manager fails',
  }),
  forceRefreshMinIntervalSeconds: int({
    unit: 'seconds',
    min: 0,
    max: 3600,
    default: 10,
    env: 'BROKER_FORCE_REFRESH_MIN_INTERVAL_SECONDS',
    functions: ['http'],
    meaning: '`Cache-Control: no-cache` revalidates at most this often per secret and container',
  }),
  maxValueAgeSeconds: int({
    unit: 'seconds',
    min: 0,
    max: 86_400,
    default: 3600,
    env: 'BROKER_MAX_VALUE_AGE_SECONDS',
    functions: ['http'],
    meaning:
      'a cached value is re-read with `GetSecretValue` (not just revalidated with `DescribeSecret`) at least this often, so revoked access is noticed',
  }),
  upstreamTimeoutMs: int({
    unit: 'ms',
    min: 100,
    max: 20_000,
    default: 2000,
    env: 'BROKER_UPSTREAM_TIMEOUT_MS',
    functions: ['http', 'rotation'],
    meaning: 'Secrets Manager request timeout, per attempt',
  }),
  upstreamMaxAttempts: int({
    unit: 'count',
    min: 1,
    max: 5,
    default: 3,
    env: 'BROKER_UPSTREAM_MAX_ATTEMPTS',
    functions: ['http', 'rotation'],
    meaning: 'attempts per Secrets Manager call (the SDK retries transient failures)',
  }),
  logRetentionDays: int({
    unit: 'days',
    min: 1,
    max: 3653,
    default: 90,
    oneOf: LOG_RETENTION_DAYS,
    meaning: 'CloudWatch Logs retention (one of the periods CloudWatch accepts)',
  }),
  logLevel: oneOf({
    values: LOG_LEVELS,
    default: 'INFO',
    env: 'BROKER_LOG_LEVEL',
    functions: ['http', 'rotation', 'invalidation'],
    meaning: 'the functions’ log level',
  }),
  passwordLength: int({
    unit: 'characters',
    min: 16,
    max: 4096,
    default: 32,
    meaning: 'generated password length',
  }),
  passwordExcludeCharacters: str({
    default: DEFAULT_EXCLUDE_CHARACTERS,
    meaning: 'never in a generated password (the default: characters that break connection strings and URLs)',
  }),
  rotationSchedule: str({
    default: 'rate(30 days)',
    describe: '`rate(N hours|days)` or a six-field `cron(...)`',
    meaning: 'default schedule of rotated secrets (at most every 4 hours, as Secrets Manager allows)',
  }),
  rotationWindow: str({
    default: '4h',
    pattern: /^([1-9]|1\d|2[0-4])h$/,
    describe: 'a duration of 1h–24h',
    meaning: 'rotation window (`RotationRules.Duration`)',
  }),
  pgSslMode: oneOf({
    values: PG_SSL_MODES,
    default: 'verify-full',
    meaning:
      'TLS to PostgreSQL targets (`disable` only locally); with `verify-full` the rotation function gets `NODE_EXTRA_CA_CERTS=/var/runtime/ca-cert.pem`, Amazon’s CA bundle (RDS roots), which Lambda’s Node 20+ runtimes no longer load by default',
  }),
  pgConnectTimeoutMs: int({
    unit: 'ms',
    min: 100,
    max: 60_000,
    default: 5000,
    env: 'BROKER_PG_CONNECT_TIMEOUT_MS',
    functions: ['rotation'],
    meaning: 'connect timeout to rotation targets',
  }),
  pgStatementTimeoutMs: int({
    unit: 'ms',
    min: 100,
    max: 60_000,
    default: 5000,
    env: 'BROKER_PG_STATEMENT_TIMEOUT_MS',
    functions: ['rotation'],
    meaning: 'statement timeout on rotation targets',
  }),
  tracing: bool({
    default: true,
    meaning: 'X-Ray tracing of the functions and API (no response capture anywhere)',
  }),
  alarmEmail: str({
    default: undefined,
    pattern: /^[^\s@]+@[^\s@]+\.[^\s@]+$/,
    describe: 'an email address',
    meaning: "subscriber of the stage's alarm topic",
  }),
  denialAlarmThreshold: int({
    unit: 'count',
    min: 1,
    max: 1_000_000,
    default: 50,
    meaning: 'denied requests per 5 minutes that raise the denial-spike alarm',
  }),
  apiThrottleRatePerSecond: int({
    unit: 'per second',
    min: 1,
    max: 10_000,
    default: 200,
    meaning:
      'API Gateway stage throttling, steady rate: a ceiling on what callers can make the broker (and Secrets Manager) do',
  }),
  apiThrottleBurst: int({
    unit: 'count',
    min: 1,
    max: 5000,
    default: 100,
    meaning: 'API Gateway stage throttling, burst',
  }),
  breakGlassRoleArn: str({
    default: undefined,
    pattern: ROLE_ARN_PATTERN,
    describe: 'an IAM role ARN',
    meaning:
      'optional: the one role besides the rotation function that may move version stages (`UpdateSecretVersionStage`) on rotated secrets, to abandon a stuck rotation; it cannot write values, read them, or change policies',
  }),
  deploymentRoleArn: str({
    default: undefined,
    required: true,
    pattern: ROLE_ARN_PATTERN,
    describe: 'an IAM role ARN',
    meaning:
      "the role CloudFormation deploys the stage with (`provider.iam.deploymentRole`): the key's administrator, the only principal that may change the secrets' resource policies, rotation settings or existence, and exempt from the direct-invocation deny",
  }),
  endpointType: oneOf({
    values: ENDPOINT_TYPES,
    default: 'REGIONAL',
    stageDefaults: { prod: 'PRIVATE' },
    meaning:
      "where the API can be reached from: `PRIVATE` (only through the stage's `vpcEndpointIds`), `REGIONAL`, or `EDGE` (only when chosen explicitly)",
  }),
  directInvokeDetection: bool({
    default: false,
    meaning:
      'CloudTrail Lambda data events for the HTTP functions, an EventBridge rule for invocations not made by API Gateway, and an alarm on the stage topic (costs: docs/SECURITY.md)',
  }),
} as const satisfies Record<string, Setting>

export type SettingName = keyof typeof SETTINGS

/** The value type a setting declares: number, boolean, one of its enum values, or a string. */
export type SettingValue<S> = S extends { kind: 'int' }
  ? number
  : S extends { kind: 'bool' }
    ? boolean
    : S extends { kind: 'enum'; values: readonly (infer T)[] }
      ? T
      : S extends { required: true }
        ? string
        : S extends { default: string }
          ? string
          : string | undefined

/** Every scalar setting of a stage with its type, as the declarations loader returns them. */
export type SettingValues = { readonly [K in SettingName]: SettingValue<(typeof SETTINGS)[K]> }

/** Params that are not scalar settings; declared (and validated) in infra/stage-declarations.ts. */
export const STRUCTURED_PARAMS = {
  vpcEndpointIds:
    'interface VPC endpoint ids (`vpce-…`) for `com.amazonaws.<region>.execute-api` through which a `PRIVATE` API is reached; required with `PRIVATE`, refused otherwise',
  directInvokePrincipals:
    'IAM principal ARNs besides `deploymentRoleArn` exempt from the generated policies that deny invoking the HTTP functions directly (`lambda:InvokeFunction`)',
  rotationVpc: '`{subnetIds, securityGroupIds}` for a rotation function that must reach a private database',
  localConsumers: 'local only: demo consumers that get SigV4 keys from `npm start`',
  secrets: 'the catalog, below',
  rules: 'who may read what, as path rules: below',
} as const

/**
 * Variables the deployment sets that are not settings of a stage: which stage, and the local stage's helpers.
 * With the settings' own variables, these are every BROKER_* variable a function reads. The compiled catalog,
 * rotation and invalidation documents are not among them: they are bundled with the functions (esbuild.config.ts).
 */
export const STRUCTURAL_ENV = {
  BROKER_STAGE: 'the stage the function belongs to',
  BROKER_LOCAL_CONSUMERS_SECRET_ID: 'local stage only: the secret holding the demo consumers’ keys',
  BROKER_AUDIT_FILE: 'local stage only: a file that receives a copy of every audit record',
  BROKER_LOCAL_STACK_ID: 'local stage only: the id of the `npm start` stack, which /health answers with',
  BROKER_API_ID:
    "the id of the stage's REST API: an event that does not name it (and the stage) is refused, a tripwire against direct invocation by mistake",
  BROKER_REGISTER_TABLE:
    'the invalidation register (DynamoDB table) the HTTP functions read and the invalidation function writes',
} as const

/** Every BROKER_* variable any function reads; anything else is a typo, refused at cold start. */
export const KNOWN_ENV_KEYS: ReadonlySet<string> = new Set([
  ...Object.keys(STRUCTURAL_ENV),
  ...Object.values(SETTINGS as Record<string, Setting>).flatMap((s) => (s.env === undefined ? [] : [s.env])),
])

/** The settings a function kind receives in its environment. */
export function settingsFor(fn: FunctionKind): [SettingName, Setting][] {
  return (Object.entries(SETTINGS) as [SettingName, Setting][]).filter(
    ([, s]) => s.env !== undefined && s.functions?.includes(fn) === true,
  )
}

/** How a setting's range reads in a message or the README. */
export function describeRange(s: Setting): string {
  switch (s.kind) {
    case 'int':
      return s.oneOf !== undefined ? `one of ${s.oneOf.join(', ')}` : `an integer ${s.min}–${s.max}`
    case 'enum':
      return `one of: ${s.values.join(', ')}`
    case 'bool':
      return 'true or false'
    case 'string':
      return s.describe ?? 'a string'
    default: {
      const unreachable: never = s
      return String(unreachable)
    }
  }
}
