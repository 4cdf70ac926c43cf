import { parseArgs } from 'node:util'
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda'
import { STSClient } from '@aws-sdk/client-sts'
import { targetProblems } from '../infra/deploy-checks'
import { describeDeployRefusal, emulatorEndpoint } from '../infra/deploy-guard'
import { compiledDocuments, planStack, rotationEnvironment, secretAwsName } from '../infra/stack'
import { needsOnboarding } from '../infra/plan'
import { loadStageDeclarations, SERVICE_NAME } from '../infra/stage-declarations'
import { createLogger } from '../src/lib/logger'
import {
  createRotationDeps,
  ONBOARDED_STRATEGIES,
  loadRotationConfig,
  onboardSecret,
  type OnboardReport,
  type OnboardRequest,
} from '../src/rotation'
import { quietToolEnv } from './lib/tool-env'

/**
 * `npm run onboard -- --stage <stage> --secret <logical name> [--master <logical name>]`: day 1 of a rotated
 * PostgreSQL secret (docs/ROTATION.md, "Day 1"). After the first deploy (rotation.enabled still false), the
 * database user gets the secret's generated password through the master, and logs in with it; then the
 * operator sets `rotation.enabled: true` and deploys again, which creates the RotationSchedule (whose first,
 * immediate rotation now succeeds).
 *
 * It runs where the secret may be read: in AWS, by invoking the stage's rotation function (its role alone may
 * read a rotated secret, and it reaches the database from its VPC); against a local emulator
 * (AWS_ENDPOINT_URL on loopback), with the same composition in this process. The deploy guard's checks come
 * first (account, region, placeholders). Prints the user and what was done, never a value.
 */
const USAGE = 'usage: npm run onboard -- --stage <stage> --secret <logical name> [--master <logical name>]'

export interface OnboardResult {
  readonly ok: boolean
  readonly lines: readonly string[]
}

export interface OnboardOptions {
  readonly stage: string
  readonly secret: string
  readonly master?: string
  readonly env?: NodeJS.ProcessEnv
}

/** The request, or the problem with the command line (unknown secret, not a database rotation, …). */
function requestFor(opts: OnboardOptions): OnboardRequest | string {
  const decl = loadStageDeclarations(opts.stage)
  const plan = planStack(decl)
  const m = plan.managed.find((x) => x.logicalName === opts.secret)
  if (m === undefined)
    return `unknown secret ${opts.secret}; stage ${opts.stage} declares: ${plan.managed.map((x) => x.logicalName).join(', ')}`
  if (m.rotation === undefined || !needsOnboarding(m.rotation.strategy))
    return `${opts.secret} ${m.rotation === undefined ? 'is not rotated' : `rotates with ${m.rotation.strategy}`}: it needs no onboarding`
  if (!ONBOARDED_STRATEGIES.includes(m.rotation.strategy))
    return (
      `${opts.secret} rotates with ${m.rotation.strategy}: npm run onboard sets PostgreSQL users only; set the ` +
      `user's password to the secret's AWSCURRENT value through the master yourself, then deploy with ` +
      `rotation.enabled: true (docs/ROTATION.md, "Day 1")`
    )
  if (opts.master !== undefined && !plan.managed.some((x) => x.logicalName === opts.master))
    return `unknown master secret ${opts.master}; stage ${opts.stage} declares: ${plan.managed.map((x) => x.logicalName).join(', ')}`
  return {
    secretId: m.awsName,
    ...(opts.master === undefined ? {} : { masterSecretId: secretAwsName(opts.stage, opts.master) }),
  }
}

/** Against the emulator: the rotation function's composition, in this process. */
async function onboardLocally(stage: string, req: OnboardRequest, endpoint: string): Promise<OnboardReport> {
  const decl = loadStageDeclarations(stage)
  const plan = planStack(decl)
  const env = rotationEnvironment(plan)
  // The rotation document the stage's bundled function carries, compiled from the same plan.
  const config = loadRotationConfig(
    { BROKER_STAGE: String(env['BROKER_STAGE']), BROKER_LOG_LEVEL: 'ERROR', AWS_REGION: decl.params.region },
    compiledDocuments(plan).rotationJson,
  )
  const deps = createRotationDeps(config, {
    endpoint,
    log: createLogger({ level: 'ERROR', serviceName: 'secret-broker-onboard' }),
    metrics: null,
  })
  try {
    return await onboardSecret(req, { ...deps, targets: config.targets })
  } finally {
    deps.sm.destroy()
  }
}

/** In AWS: the stage's rotation function does it (an `{ onboard }` event; src/handlers/rotate-secret.ts). */
async function onboardThroughFunction(
  stage: string,
  req: OnboardRequest,
  region: string,
): Promise<OnboardReport> {
  const lambda = new LambdaClient({ region })
  try {
    const out = await lambda.send(
      new InvokeCommand({
        FunctionName: `${SERVICE_NAME}-${stage}-rotateSecret`,
        Payload: Buffer.from(JSON.stringify({ onboard: req })),
      }),
    )
    const body = out.Payload === undefined ? '' : Buffer.from(out.Payload).toString('utf8')
    if (out.FunctionError !== undefined) {
      // The function's error message names the secret, the role and the database, never a value.
      const err = JSON.parse(body || '{}') as { errorType?: string; errorMessage?: string }
      throw new Error(`${err.errorType ?? out.FunctionError}: ${err.errorMessage ?? '(no message)'}`)
    }
    return JSON.parse(body) as OnboardReport
  } finally {
    lambda.destroy()
  }
}

/** The command; resolves with what to print and whether it succeeded. */
export async function onboardStage(opts: OnboardOptions): Promise<OnboardResult> {
  const env = opts.env ?? process.env
  const req = requestFor(opts)
  if (typeof req === 'string') return { ok: false, lines: [`onboard: ${req}`] }
  const decl = loadStageDeclarations(opts.stage)
  const region = decl.params.region
  const emulator = emulatorEndpoint(env)
  const sts = new STSClient({ region, ...(emulator === undefined ? {} : { endpoint: emulator }) })
  let refused: string[]
  try {
    refused = await targetProblems({ decl, region, env, clients: { sts } })
  } finally {
    sts.destroy()
  }
  if (refused.length > 0)
    return { ok: false, lines: [describeDeployRefusal('onboard a secret of', opts.stage, refused)] }
  let report: OnboardReport
  try {
    report =
      emulator === undefined
        ? await onboardThroughFunction(opts.stage, req, region)
        : await onboardLocally(opts.stage, req, emulator)
  } catch (err) {
    const e = err as { name?: unknown; message?: unknown }
    return { ok: false, lines: [`onboard failed, nothing enabled: ${String(e.name)}: ${String(e.message)}`] }
  }
  return {
    ok: true,
    lines: [
      `${opts.secret}: role ${report.username} ${report.action === 'created' ? 'created' : 'password set'} ${report.where} ` +
        `through ${report.masterSecretId}, and it logs in with the secret's value`,
      `next: set rotation.enabled: true for ${opts.secret} in params.${opts.stage}, then ` +
        `npx serverless deploy --stage ${opts.stage} (the RotationSchedule's first rotation runs at once)`,
    ],
  }
}

async function main(): Promise<void> {
  quietToolEnv()
  const { values } = parseArgs({
    options: { stage: { type: 'string' }, secret: { type: 'string' }, master: { type: 'string' } },
    strict: true,
  })
  if (values.stage === undefined || values.secret === undefined) {
    process.stderr.write(`${USAGE}\n`)
    process.exit(2)
  }
  const result = await onboardStage({
    stage: values.stage,
    secret: values.secret,
    ...(values.master === undefined ? {} : { master: values.master }),
  })
  ;(result.ok ? process.stdout : process.stderr).write(`${result.lines.join('\n')}\n`)
  if (!result.ok) process.exit(1)
}

if (require.main === module) {
  main().catch((err: unknown) => {
    const e = err as { name?: unknown }
    process.stderr.write(`onboard failed: ${String(e.name)}\n`)
    process.exit(1)
  })
}
