import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { planStack, rotationEnvironment, secretAwsName } from '../infra/stack'
import { loadStageDeclarations, REPO_ROOT } from '../infra/stage-declarations'
import { createRotationDeps, createRotationFunction } from '../src/rotation'
import { loadRotationConfig } from '../src/rotation/rotation-config'
import { DescribeSecretCommand } from '@aws-sdk/client-secrets-manager'
import { createSecretsManagerClient } from '../src/lib/aws-clients'
import { MOTO_CREDENTIALS } from './lib/moto'
import {
  rotateLikeSecretsManager,
  RotationInProgressError,
  type LocalRotationReport,
} from './lib/local-rotation'

/**
 * `npm run rotate -- <logical name> [--resume <token>]`: rotate one secret of the running local stack the
 * way Secrets Manager does (new token, the four steps in order, one retry per step) with the real handler
 * code, against the stack's moto. Prints a report (never a value) and exits non-zero on failure.
 */
const USAGE = 'usage: npm run rotate -- <logical name> [--resume <token>] [--state <local.json>]'

function fail(message: string): never {
  process.stderr.write(`rotate: ${message}\n`)
  process.exit(1)
}

function readLocalState(file: string): { motoEndpoint: string; region: string } {
  if (!existsSync(file))
    fail(`the local stack is not running (${file} is missing): start it with \`npm start\``)
  let state: unknown
  try {
    state = JSON.parse(readFileSync(file, 'utf8'))
  } catch {
    fail(`${file} is not valid JSON; restart the local stack with \`npm start\``)
  }
  const s = state as { motoEndpoint?: unknown; region?: unknown }
  if (typeof s.motoEndpoint !== 'string')
    fail(`${file} has no motoEndpoint; restart the local stack with \`npm start\``)
  return { motoEndpoint: s.motoEndpoint, region: typeof s.region === 'string' ? s.region : 'us-east-1' }
}

function printReport(name: string, report: LocalRotationReport): void {
  const lines = [
    `rotation of ${name} (${report.secretId})`,
    `  token        ${report.token}`,
    ...report.attempts.map(
      (a) =>
        `  ${a.step.padEnd(13)}${a.outcome === 'ok' ? 'ok    ' : 'FAILED'} attempt ${a.attempt}  ${String(a.durationMs).padStart(5)} ms  ${a.detail ?? a.error ?? ''}`,
    ),
    `  old version  ${report.oldVersionId ?? '(none)'}  → AWSPREVIOUS`,
    `  new version  ${report.newVersionId ?? '(none)'}${report.ok ? '  → AWSCURRENT' : ''}`,
    `  result       ${report.ok ? 'rotated' : `FAILED${report.failedStep === undefined ? '' : ` at ${report.failedStep}`}`} in ${report.durationMs} ms`,
  ]
  if (!report.ok) {
    lines.push(
      `  AWSCURRENT is unchanged. Fix the cause, then resume with: npm run rotate -- ${name} --resume ${report.token}`,
    )
  }
  process.stdout.write(`${lines.join('\n')}\n`)
}

function parseArgs(argv: string[]): { name: string; resumeToken: string | undefined; stateFile: string } {
  const [name, ...rest] = argv
  if (name === undefined || name.startsWith('-')) fail(USAGE)
  const flags = new Map<string, string>()
  for (let i = 0; i < rest.length; i += 2) {
    const flag = rest[i]
    const value = rest[i + 1]
    if ((flag !== '--resume' && flag !== '--state') || value === undefined || flags.has(flag)) fail(USAGE)
    flags.set(flag, value)
  }
  return {
    name,
    resumeToken: flags.get('--resume'),
    stateFile: flags.get('--state') ?? join(REPO_ROOT, '.broker', 'local.json'),
  }
}

async function main(argv: string[]): Promise<void> {
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true'
  const { name, resumeToken, stateFile } = parseArgs(argv)
  const plan = planStack(loadStageDeclarations('local'))
  const managed = plan.managed.find((m) => m.logicalName === name)
  if (managed === undefined)
    fail(
      `unknown secret "${name}"; the local stage declares: ${plan.managed.map((m) => m.logicalName).join(', ')}`,
    )
  if (managed.rotation === undefined) {
    const rotated = plan.managed.filter((m) => m.rotation !== undefined).map((m) => m.logicalName)
    fail(`"${name}" is not rotated in the local stage; rotated secrets: ${rotated.join(', ')}`)
  }
  const { motoEndpoint, region } = readLocalState(stateFile)
  const awsName = secretAwsName('local', name)
  const probe = createSecretsManagerClient({
    region,
    requestTimeoutMs: 3000,
    maxAttempts: 1,
    endpoint: motoEndpoint,
    credentials: { ...MOTO_CREDENTIALS },
  })
  try {
    await probe.send(new DescribeSecretCommand({ SecretId: awsName }))
  } catch (err) {
    if (err instanceof Error && err.name === 'ResourceNotFoundException')
      fail(`${awsName} does not exist in the running stack; restart it with \`npm start\``)
    fail(`moto does not answer at ${motoEndpoint}: is \`npm start\` still running?`)
  } finally {
    probe.destroy()
  }

  const env = rotationEnvironment(plan)
  const config = loadRotationConfig({
    BROKER_STAGE: String(env['BROKER_STAGE']),
    BROKER_ROTATION_JSON: String(env['BROKER_ROTATION_JSON']),
    BROKER_LOG_LEVEL: String(env['BROKER_LOG_LEVEL']),
    AWS_REGION: region,
  })
  const deps = createRotationDeps(config, { endpoint: motoEndpoint, credentials: { ...MOTO_CREDENTIALS } })
  const rotate = createRotationFunction(deps)
  try {
    const report = await rotateLikeSecretsManager({
      endpoint: motoEndpoint,
      region,
      secretId: awsName,
      runStep: rotate,
      ...(resumeToken === undefined ? {} : { token: resumeToken }),
    })
    printReport(name, report)
    if (!report.ok) process.exitCode = 1
  } catch (err) {
    if (err instanceof RotationInProgressError)
      fail(`${err.message}: npm run rotate -- ${name} --resume ${err.pendingVersionId}`)
    fail(`could not rotate ${name}: ${err instanceof Error ? err.name : 'error'}`)
  } finally {
    deps.sm.destroy()
  }
}

void main(process.argv.slice(2))
