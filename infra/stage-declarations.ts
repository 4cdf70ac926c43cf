import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse, type Tags } from 'yaml'
import { z } from 'zod'
import { STAGES, type Stage, AUTH_MODES } from '../src/lib/config'
import { ROTATION_STRATEGIES } from '../src/lib/secrets/catalog'
import { ConfigError } from '../src/lib/errors'
import { checkRotationSchedule } from './schedule'

/**
 * A stage's declarations, read from serverless.yml's `params` (default merged under the stage). This is
 * the single source for the CloudFormation resources (through infra/serverless-bridge.cjs) and for what
 * `npm start` creates in the emulator, so the two can never list different secrets.
 */
export const REPO_ROOT = join(__dirname, '..')
export const SERVICE_NAME = 'secret-broker'

const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const
/** Characters that break connection strings and URLs, never put in a generated password. */
export const DEFAULT_EXCLUDE_CHARACTERS = ' "\'`\\/@:?#[]%&+=;,<>{}|^~'

const Schedule = z.string().superRefine((s, ctx) => {
  const problem = checkRotationSchedule(s)
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem })
})

const RotationDecl = z.strictObject({
  strategy: z.enum(ROTATION_STRATEGIES),
  schedule: Schedule.optional(),
  /** Rotation window (RotationRules.Duration), e.g. "2h". */
  window: z
    .string()
    .regex(/^([1-9]|1\d|2[0-4])h$/, 'a duration of 1h–24h')
    .optional(),
  /** postgres-alternating-users: the logical name of the secret holding the master (superuser) credentials. */
  masterSecret: z.string().optional(),
})

const SecretDecl = z
  .strictObject({
    readers: z.array(z.string()).default([]),
    /** An existing secret the stack does not own. */
    arn: z.string().optional(),
    /** A secret the stack creates, with a generated password. */
    username: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'a database-safe user name')
      .optional(),
    passwordLength: z.number().int().min(16).max(4096).optional(),
    excludeCharacters: z.string().optional(),
    /** Non-secret fields stored next to username/password (engine, host, port, dbname, sslmode). */
    fields: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
    rotation: RotationDecl.optional(),
  })
  .superRefine((s, ctx) => {
    if ((s.arn === undefined) === (s.username === undefined)) {
      ctx.addIssue({
        code: 'custom',
        message: 'declare either arn (an existing secret) or username (a secret this stack creates)',
      })
    }
    if (s.arn !== undefined && s.rotation !== undefined) {
      ctx.addIssue({
        code: 'custom',
        message: 'rotation can only be declared on a secret this stack creates',
      })
    }
    if (s.fields !== undefined && ('username' in s.fields || 'password' in s.fields)) {
      ctx.addIssue({ code: 'custom', message: 'fields may not set username or password' })
    }
  })

const LocalConsumer = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9-]{0,40}$/),
  principalArn: z.string(),
})

export const StageParamsSchema = z.strictObject({
  region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/),
  accountId: z.string().regex(/^\d{12}$/, 'a 12-digit account id (quote it in YAML)'),
  authMode: z.enum(AUTH_MODES),
  cacheTtlSeconds: z.number().int().min(0).max(3600),
  cacheMaxEntries: z.number().int().min(1).max(10_000),
  maxStaleSeconds: z.number().int().min(0).max(86_400),
  forceRefreshMinIntervalSeconds: z.number().int().min(0).max(3600),
  /** A cached value is re-read in full (GetSecretValue) at least this often, so revoked access is noticed. */
  maxValueAgeSeconds: z.number().int().min(0).max(86_400),
  upstreamTimeoutMs: z.number().int().min(100).max(20_000),
  logRetentionDays: z.number().refine((n) => (LOG_RETENTION_DAYS as readonly number[]).includes(n), {
    error: `one of ${LOG_RETENTION_DAYS.join(', ')}`,
  }),
  logLevel: z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR']),
  passwordLength: z.number().int().min(16).max(4096),
  passwordExcludeCharacters: z.string(),
  rotationSchedule: Schedule,
  rotationWindow: z.string().regex(/^([1-9]|1\d|2[0-4])h$/),
  pgSslMode: z.enum(['disable', 'require', 'verify-full']),
  /** Who is told about failed rotations, denial spikes and 5xx answers (an SNS email subscription). */
  alarmEmail: z.email().optional(),
  /** Denied requests per 5 minutes that count as a spike. */
  denialAlarmThreshold: z.number().int().min(1).max(1_000_000),
  /** API Gateway stage throttling: a ceiling on what callers can make the broker (and Secrets Manager) do. */
  apiThrottleRatePerSecond: z.number().int().min(1).max(10_000),
  apiThrottleBurst: z.number().int().min(1).max(5_000),
  tracing: z.boolean(),
  rotationVpc: z
    .strictObject({ subnetIds: z.array(z.string()).min(1), securityGroupIds: z.array(z.string()).min(1) })
    .optional(),
  /**
   * An operators' role allowed to move version stages and put values on rotated secrets (to abandon a stuck
   * rotation); without it only the rotation function can. It is never allowed to read a value.
   */
  breakGlassRoleArn: z
    .string()
    .regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@\/-]+$/, 'an IAM role ARN')
    .optional(),
  localConsumers: z.array(LocalConsumer).optional(),
  secrets: z.record(z.string(), SecretDecl),
})
export type StageParams = z.infer<typeof StageParamsSchema>
export type SecretDeclaration = z.infer<typeof SecretDecl>

export interface StageDeclarations {
  readonly stage: Stage
  readonly params: StageParams
}

/** YAML tags serverless.yml may use; kept as plain objects since only `params` is read here. */
const CFN_TAGS: Tags = [
  'Ref',
  'Sub',
  'GetAtt',
  'Join',
  'If',
  'Equals',
  'Not',
  'Select',
  'Split',
  'ImportValue',
  'FindInMap',
  'Base64',
  'GetAZs',
  'Condition',
].flatMap(
  (name) =>
    (['scalar', 'seq', 'map'] as const).map((kind) => ({
      tag: `!${name}`,
      collection: kind === 'scalar' ? undefined : kind,
      resolve: (value: unknown) => ({ [`Fn::${name}`]: value }),
    })) as unknown as Tags,
)

export function isStage(s: string): s is Stage {
  return (STAGES as readonly string[]).includes(s)
}

/**
 * Local-stage overrides for tests and `npm start` flags (e.g. a short cache TTL), as a JSON object in this
 * variable. Applied to the local stage only; never to dev or prod.
 */
export const LOCAL_PARAM_OVERRIDES_VAR = 'SECRET_BROKER_LOCAL_PARAMS'

export function loadStageDeclarations(
  stage: string,
  file = join(REPO_ROOT, 'serverless.yml'),
  env: Readonly<Record<string, string | undefined>> = process.env,
): StageDeclarations {
  if (!isStage(stage)) throw new ConfigError(`Unknown stage "${stage}": expected one of ${STAGES.join(', ')}`)
  const doc = parse(readFileSync(file, 'utf8'), { customTags: CFN_TAGS, uniqueKeys: true }) as {
    params?: Record<string, Record<string, unknown>>
  }
  const overridesJson = stage === 'local' ? env[LOCAL_PARAM_OVERRIDES_VAR] : undefined
  const overrides =
    overridesJson === undefined || overridesJson === ''
      ? {}
      : (JSON.parse(overridesJson) as Record<string, unknown>)
  const merged = { ...(doc.params?.['default'] ?? {}), ...(doc.params?.[stage] ?? {}), ...overrides }
  const unresolved = JSON.stringify(merged).match(/\$\{[^}]*\}/)
  if (unresolved !== null) {
    throw new ConfigError(
      `params for stage ${stage} use ${unresolved[0]}: params must be plain values (they are read without Serverless)`,
    )
  }
  const parsed = StageParamsSchema.safeParse(merged)
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `params.${stage}.${i.path.join('.')}: ${i.message}`)
    throw new ConfigError(`serverless.yml params for stage "${stage}" are invalid:\n- ${issues.join('\n- ')}`)
  }
  if (parsed.data.authMode === 'local-sigv4' && stage !== 'local') {
    throw new ConfigError(`params.${stage}.authMode: local-sigv4 is only allowed in the local stage`)
  }
  return { stage, params: parsed.data }
}
