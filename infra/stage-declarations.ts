import { readFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { parse, type Tags } from 'yaml'
import { z } from 'zod'
import {
  describeRange,
  SETTINGS,
  STAGES,
  type Setting,
  type SettingValues,
  type Stage,
} from '../src/contract/settings'
import { ROTATION_STRATEGIES } from '../src/contract/rotation-strategies'
import { ConfigError } from '../src/lib/errors'
import { checkRotationSchedule } from './schedule'

/**
 * A stage's declarations, read from serverless.yml's `params` (default merged under the stage). This is
 * the single source for the CloudFormation resources (through infra/serverless-bridge.cjs) and for what
 * `npm start` creates in the emulator, so the two can never list different secrets.
 */
export const REPO_ROOT = join(__dirname, '..')
export const SERVICE_NAME = 'secret-broker'

export { DEFAULT_EXCLUDE_CHARACTERS } from '../src/contract/settings'

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
  /**
   * The logical name of the secret holding the master credentials, for the strategies that need one
   * (postgres- and mysql-alternating-users, both Redis ACL strategies; contract/rotation-strategies.ts).
   */
  masterSecret: z.string().optional(),
  /**
   * Password settings for rotations only. The secret's own `passwordLength`/`excludeCharacters` made its first
   * value and stay as deployed (CloudFormation would generate a new password if they changed); set these to
   * rotate with other settings.
   */
  passwordLength: z.number().int().min(16).max(4096).optional(),
  excludeCharacters: z.string().optional(),
  /**
   * Whether the stack creates the secret's RotationSchedule (rotation turned on). Secrets Manager runs the
   * function's testSecret against the target as soon as the schedule is created, so a strategy with a
   * database is off until the database accepts the secret (`npm run onboard`, docs/ROTATION.md "Day 1"):
   * the default is true for `random` and false for every strategy that changes another system.
   */
  enabled: z.boolean().optional(),
})

/** Secrets Manager tag grammar (keys may not start with aws:, which AWS reserves). */
const RequireTag = z.strictObject({
  key: z
    .string()
    .regex(/^(?!aws:)[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u, 'a tag key: 1–128 characters, not aws:…'),
  value: z.string().regex(/^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$/u, 'a tag value: 0–256 characters'),
})

/**
 * One entry of `secrets`, keyed by its logical name: a secret the stack creates (`username`), an existing
 * one (`arn`), a Secrets Manager prefix other stacks own brokered under a logical prefix (key `a/b/*`,
 * `prefix: orders/`), or, with none of these, a name declared under such a prefix. `readers` is shorthand
 * for a rule allowing exactly this name (or prefix) to those principals.
 */
const SecretDecl = z
  .strictObject({
    readers: z.array(z.string()).default([]),
    /** An existing secret the stack does not own. */
    arn: z.string().optional(),
    /** A secret the stack creates, with a generated password. */
    /**
     * The login the secret holds (an IAM user name for iam-access-key). Its alphabet depends on the engine
     * that uses it, checked by infra/plan.ts; here only what none of them allows is refused.
     */
    username: z
      .string()
      .regex(/^[A-Za-z0-9_$.:@+=,-]{1,128}$/, 'a user name (letters, digits and _$.:@+=,- only)')
      .optional(),
    passwordLength: z.number().int().min(16).max(4096).optional(),
    excludeCharacters: z.string().optional(),
    /** Non-secret fields stored next to username/password (engine, host, port, dbname, sslmode). */
    fields: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
    rotation: RotationDecl.optional(),
    /** Key `a/b/*` only: the Secrets Manager name prefix (ending in "/") brokered under it. */
    prefix: z.string().optional(),
    /** With `prefix`: broker only secrets carrying this tag (an IAM condition, so the owner opts in). */
    requireTag: RequireTag.optional(),
    /** Whether callers may read it through the broker; by default, when it lists readers. */
    brokered: z.boolean().optional(),
  })
  .superRefine((s, ctx) => {
    const kinds = [s.arn, s.username, s.prefix].filter((k) => k !== undefined).length
    if (kinds > 1) {
      ctx.addIssue({
        code: 'custom',
        message: 'declare one of arn (an existing secret), username (a secret this stack creates) or prefix',
      })
    }
    if (s.username === undefined && s.rotation !== undefined) {
      ctx.addIssue({
        code: 'custom',
        message: 'rotation can only be declared on a secret this stack creates',
      })
    }
    if (s.fields !== undefined && ('username' in s.fields || 'password' in s.fields)) {
      ctx.addIssue({ code: 'custom', message: 'fields may not set username or password' })
    }
    const managedOnly = [s.passwordLength, s.excludeCharacters, s.fields]
    if (s.username === undefined && managedOnly.some((v) => v !== undefined)) {
      ctx.addIssue({
        code: 'custom',
        message: 'passwordLength, excludeCharacters and fields apply only to a secret this stack creates',
      })
    }
    if (s.prefix === undefined && s.requireTag !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'requireTag applies only to a brokered prefix' })
    }
    if ((s.prefix !== undefined || kinds === 0) && s.brokered !== undefined) {
      ctx.addIssue({
        code: 'custom',
        message:
          'brokered applies only to a secret declared by username or arn (a prefix and the names under it are brokered)',
      })
    }
  })

/**
 * A path rule: principals (exact IAM user/role ARNs of the stage's account, or `role/<family>*`) and the
 * logical-name patterns it allows or denies (exact, `+` for one segment, `*` last for the rest).
 */
const RuleDecl = z.strictObject({
  id: z.string().optional(),
  principals: z.array(z.string()),
  allow: z.array(z.string()).optional(),
  deny: z.array(z.string()).optional(),
})

const LocalConsumer = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9-]{0,40}$/),
  principalArn: z.string(),
})

/** Checks beyond a setting's declared range, by setting. */
const EXTRA_CHECKS: Partial<Record<keyof typeof SETTINGS, (value: string) => string | undefined>> = {
  rotationSchedule: checkRotationSchedule,
}

/** The zod schema of one scalar setting, from its declaration: its type, range and default. */
function settingSchema(name: keyof typeof SETTINGS, s: Setting): z.ZodType {
  const message = describeRange(s)
  let schema: z.ZodType
  switch (s.kind) {
    case 'int':
      schema = z
        .number({ error: message })
        .int(message)
        .min(s.min, message)
        .max(s.max, message)
        .refine((n) => s.oneOf === undefined || s.oneOf.includes(n), message)
      break
    case 'enum':
      schema = z.enum(s.values as [string, ...string[]], { error: message })
      break
    case 'bool':
      schema = z.boolean({ error: message })
      break
    case 'string': {
      let str = z.string({ error: message })
      if (s.pattern !== undefined) str = str.regex(s.pattern, message)
      const check = EXTRA_CHECKS[name]
      schema =
        check === undefined
          ? str
          : str.superRefine((v, ctx) => {
              const problem = check(v)
              if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem })
            })
      break
    }
    default: {
      const unreachable: never = s
      throw new Error(`unknown setting kind ${String(unreachable)}`)
    }
  }
  if (s.default !== undefined) return schema.default(s.default as never)
  return s.kind === 'string' && s.required === true ? schema : schema.optional()
}

const scalarShape = Object.fromEntries(
  (Object.entries(SETTINGS) as [keyof typeof SETTINGS, Setting][]).map(([name, s]) => [
    name,
    settingSchema(name, s),
  ]),
)

/** An interface VPC endpoint id, as EC2 prints it. */
export const VPC_ENDPOINT_ID_PATTERN = /^vpce-[0-9a-f]{8,17}$/
const IAM_PRINCIPAL_ARN = /^arn:aws[a-z-]*:iam::\d{12}:(role|user)\/[\w+=,.@/-]+$/

const StructuredParams = z.strictObject({
  ...scalarShape,
  vpcEndpointIds: z
    .array(
      z
        .string()
        .regex(VPC_ENDPOINT_ID_PATTERN, 'an interface VPC endpoint id (vpce- and 8 or 17 hex digits)'),
    )
    .min(1)
    .optional(),
  directInvokePrincipals: z.array(z.string().regex(IAM_PRINCIPAL_ARN, 'an IAM role or user ARN')).optional(),
  rotationVpc: z
    .strictObject({ subnetIds: z.array(z.string()).min(1), securityGroupIds: z.array(z.string()).min(1) })
    .optional(),
  localConsumers: z.array(LocalConsumer).optional(),
  secrets: z.record(z.string(), SecretDecl),
  rules: z.array(RuleDecl).default([]),
})

/** A stage's params: every scalar setting of contract/settings.ts (defaults applied) and the structured ones. */
export type StageParams = SettingValues & {
  readonly vpcEndpointIds?: string[] | undefined
  readonly directInvokePrincipals?: string[] | undefined
  readonly rotationVpc?: { readonly subnetIds: string[]; readonly securityGroupIds: string[] } | undefined
  readonly localConsumers?: z.infer<typeof LocalConsumer>[] | undefined
  readonly secrets: Record<string, SecretDeclaration>
  readonly rules: RuleDeclaration[]
}
export const StageParamsSchema = StructuredParams as unknown as z.ZodType<StageParams>
export type SecretDeclaration = z.infer<typeof SecretDecl>
export type RuleDeclaration = z.infer<typeof RuleDecl>

/** Is a declared secret served to callers? A prefix and the names under it are; others when they have readers. */
export function isBrokeredDeclaration(s: SecretDeclaration): boolean {
  if (s.arn === undefined && s.username === undefined) return true
  return s.brokered ?? s.readers.length > 0
}

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

/**
 * A stage's declarations from a service file (serverless.yml by default, or the file given to Serverless
 * with --config; a .json service file is parsed as JSON, which is much faster for a large catalog).
 */
export function loadStageDeclarations(
  stage: string,
  file = join(REPO_ROOT, 'serverless.yml'),
  env: Readonly<Record<string, string | undefined>> = process.env,
): StageDeclarations {
  if (!isStage(stage)) throw new ConfigError(`Unknown stage "${stage}": expected one of ${STAGES.join(', ')}`)
  return stageDeclarationsFromText(stage, readFileSync(file, 'utf8'), basename(file), env)
}

/** The same from a service file's text (`npm run catalog -- diff` reads it from git). */
export function stageDeclarationsFromText(
  stage: string,
  text: string,
  fileName: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): StageDeclarations {
  if (!isStage(stage)) throw new ConfigError(`Unknown stage "${stage}": expected one of ${STAGES.join(', ')}`)
  let doc: { params?: Record<string, Record<string, unknown>> }
  try {
    doc = (
      fileName.endsWith('.json') ? JSON.parse(text) : parse(text, { customTags: CFN_TAGS, uniqueKeys: true })
    ) as typeof doc
  } catch (err) {
    throw new ConfigError(
      `${fileName} cannot be parsed: ${err instanceof Error ? (err.message.split('\n')[0] ?? '') : ''}`,
    )
  }
  const overridesJson = stage === 'local' ? env[LOCAL_PARAM_OVERRIDES_VAR] : undefined
  const overrides =
    overridesJson === undefined || overridesJson === ''
      ? {}
      : (JSON.parse(overridesJson) as Record<string, unknown>)
  const merged: Record<string, unknown> = {
    ...(doc.params?.['default'] ?? {}),
    ...(doc.params?.[stage] ?? {}),
    ...overrides,
  }
  // A setting whose default differs for this stage (prod's endpoint type) gets it before the schema's default.
  for (const [name, s] of Object.entries(SETTINGS) as [string, Setting][]) {
    const stageDefault = s.kind === 'enum' ? s.stageDefaults?.[stage] : undefined
    if (merged[name] === undefined && stageDefault !== undefined) merged[name] = stageDefault
  }
  const unresolved = JSON.stringify(merged).match(/\$\{[^}]*\}/)
  if (unresolved !== null) {
    throw new ConfigError(
      `params for stage ${stage} use ${unresolved[0]}: params must be plain values (they are read without Serverless)`,
    )
  }
  const parsed = StageParamsSchema.safeParse(merged)
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `params.${stage}.${i.path.join('.')}: ${i.message}`)
    throw new ConfigError(`${fileName} params for stage "${stage}" are invalid:\n- ${issues.join('\n- ')}`)
  }
  if (parsed.data.authMode === 'local-sigv4' && stage !== 'local') {
    throw new ConfigError(`params.${stage}.authMode: local-sigv4 is only allowed in the local stage`)
  }
  return { stage, params: parsed.data }
}
