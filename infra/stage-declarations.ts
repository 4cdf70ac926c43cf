import { readFileSync } from 'node:fs'
import { join } from 'node:path'
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
  /** postgres-alternating-users: the logical name of the secret holding the master (superuser) credentials. */
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
})

/** A stage's params: every scalar setting of contract/settings.ts (defaults applied) and the structured ones. */
export type StageParams = SettingValues & {
  readonly vpcEndpointIds?: string[] | undefined
  readonly directInvokePrincipals?: string[] | undefined
  readonly rotationVpc?: { readonly subnetIds: string[]; readonly securityGroupIds: string[] } | undefined
  readonly localConsumers?: z.infer<typeof LocalConsumer>[] | undefined
  readonly secrets: Record<string, SecretDeclaration>
}
export const StageParamsSchema = StructuredParams as unknown as z.ZodType<StageParams>
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
    throw new ConfigError(`serverless.yml params for stage "${stage}" are invalid:\n- ${issues.join('\n- ')}`)
  }
  if (parsed.data.authMode === 'local-sigv4' && stage !== 'local') {
    throw new ConfigError(`params.${stage}.authMode: local-sigv4 is only allowed in the local stage`)
  }
  return { stage, params: parsed.data }
}
