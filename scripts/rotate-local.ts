import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs'
import { dirname, isAbsolute, join, relative } from 'node:path'
import { DescribeSecretCommand } from '@aws-sdk/client-secrets-manager'
import { compiledDocuments, planStack, rotationEnvironment, secretAwsName } from '../infra/stack'
import { loadStageDeclarations } from '../infra/stage-declarations'
import { createSecretsManagerClient } from '../src/lib/aws-clients'
import { redact, type Log, type LogFields } from '../src/lib/logger'
import type { MetricsSink } from '../src/lib/metrics'
import { createRotationDeps, createRotationFunction, loadRotationConfig } from '../src/rotation'
import { MOTO_CREDENTIALS } from './lib/moto'
import {
  rotateLikeSecretsManager,
  RotationInProgressError,
  type LocalRotationReport,
} from './lib/local-rotation'
import { defaultStateDir } from './lib/local-state'
import { quietToolEnv } from './lib/tool-env'

/**
 * `npm run rotate -- <logical name> [--resume <token>] [--state <local.json>]`: rotate one secret of the
 * running local stack the way Secrets Manager does (new token, the four steps in order, one retry per
 * step) with the real rotation composition, against the stack's moto. The terminal gets a report (never a
 * value): the steps, the labels as they are after the run (read back), and what to do next. The rotation's
 * JSON log lines and metrics go to `rotation.log` in the stack's state directory (next to local.json).
 * Exits non-zero on failure.
 */
const USAGE = 'usage: npm run rotate -- <logical name> [--resume <token>] [--state <local.json>]'
export const ROTATION_LOG_FILE = 'rotation.log'

export interface CommandIo {
  readonly out: (text: string) => void
  readonly err: (text: string) => void
}

class CommandFailure extends Error {}

function fail(message: string): never {
  throw new CommandFailure(message)
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

/** JSON lines appended to `file`: the rotation's log records (redacted as every logger redacts) and metrics. */
function appendJsonLine(file: string, record: Record<string, unknown>): void {
  appendFileSync(file, `${JSON.stringify({ timestamp: new Date().toISOString(), ...record })}\n`)
}

function createFileLog(file: string, persistent: LogFields = {}): Log {
  const emit =
    (level: string) =>
    (message: string, fields?: LogFields): void =>
      appendJsonLine(file, { level, message, ...(redact({ ...persistent, ...fields }) as LogFields) })
  return {
    debug: emit('DEBUG'),
    info: emit('INFO'),
    warn: emit('WARN'),
    error: emit('ERROR'),
    child: (fields) => createFileLog(file, { ...persistent, ...fields }),
  }
}

function createFileMetrics(file: string): MetricsSink {
  let pending: Record<string, number[]> = {}
  const add = (name: string, value: number): void => {
    ;(pending[name] ??= []).push(value)
  }
  return {
    count: (name, value = 1) => add(name, value),
    timing: (name, ms) => add(name, ms),
    flush(dimensions) {
      if (Object.keys(pending).length === 0) return
      appendJsonLine(file, { level: 'METRICS', metrics: pending, dimensions: dimensions ?? {} })
      pending = {}
    },
  }
}

const LABEL_ORDER = ['AWSCURRENT', 'AWSPENDING', 'AWSPREVIOUS']

/** The labelled versions, AWSCURRENT first, one line each. */
function labelLines(labels: LocalRotationReport['labelsAfter']): string[] {
  const rank = (stages: readonly string[]): number =>
    Math.min(...stages.map((s) => (LABEL_ORDER.includes(s) ? LABEL_ORDER.indexOf(s) : LABEL_ORDER.length)))
  const labelled = Object.entries(labels).filter(([, stages]) => stages.length > 0)
  labelled.sort(([, a], [, b]) => rank(a) - rank(b))
  return labelled.map(([version, stages]) => `${version}  ${[...stages].sort().join(', ')}`)
}

function holderOf(labels: LocalRotationReport['labelsAfter'], label: string): string | undefined {
  return Object.entries(labels).find(([, stages]) => stages.includes(label))?.[0]
}

/** What the operator should do now, from the labels as they are (not as they were hoped to be). */
function nextStep(name: string, report: LocalRotationReport): string {
  if (report.ok)
    return 'nothing: the broker serves the new version within its cache TTL, at once to a `Cache-Control: no-cache` request'
  const current = holderOf(report.labelsAfter, 'AWSCURRENT')
  const pending = holderOf(report.labelsAfter, 'AWSPENDING')
  const resume = `npm run rotate -- ${name} --resume ${report.token}`
  if (pending !== report.token)
    return `this rotation's token no longer holds AWSPENDING (another rotation displaced it); start a new one: npm run rotate -- ${name}`
  if (current === report.token)
    return `AWSCURRENT already moved to the new version, but AWSPENDING is still on it; finish with: ${resume}`
  return `AWSCURRENT is still version ${current ?? '(none)'} (nothing moved; clients keep working). Fix the cause above, then resume this rotation with: ${resume}`
}

function formatReport(name: string, report: LocalRotationReport, logFile: string): string {
  const pad = (label: string): string => `  ${label.padEnd(14)}`
  const [firstLabel = '(no labelled versions)', ...moreLabels] = labelLines(report.labelsAfter)
  const shownLog = relative(process.cwd(), logFile)
  const lines = [
    `rotation of ${name} (${report.secretId})`,
    `${pad('token')}${report.token}`,
    ...report.attempts.map(
      (a) =>
        `${pad(a.step)}${a.outcome === 'ok' ? 'ok    ' : 'FAILED'} attempt ${a.attempt}  ${String(a.durationMs).padStart(5)} ms  ${a.detail ?? a.error ?? ''}`,
    ),
    `${pad('result')}${report.ok ? 'rotated' : `FAILED${report.failedStep === undefined ? '' : ` at ${report.failedStep}`}`} in ${report.durationMs} ms`,
    `${pad('labels now')}${firstLabel}`,
    ...moreLabels.map((l) => `${pad('')}${l}`),
    `${pad('next')}${nextStep(name, report)}`,
    `${pad('log')}${shownLog.startsWith('..') || isAbsolute(shownLog) ? logFile : shownLog} (this run's JSON log lines and metrics)`,
  ]
  return `${lines.join('\n')}\n`
}

function parseArgs(argv: readonly string[]): {
  name: string
  resumeToken: string | undefined
  stateFile: string
} {
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
    stateFile: flags.get('--state') ?? join(defaultStateDir(), 'local.json'),
  }
}

async function checkSecretExists(awsName: string, motoEndpoint: string, region: string): Promise<void> {
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
}

/** The IAM client the composition built for iam-access-key (it keeps sockets open otherwise). */
function destroyIam(engines: { readonly iam?: { destroy(): void } } | undefined): void {
  engines?.iam?.destroy()
}

async function rotateCommand(argv: readonly string[], io: CommandIo): Promise<number> {
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
  await checkSecretExists(awsName, motoEndpoint, region)

  const env = rotationEnvironment(plan)
  // The rotation document the local stage's bundled function carries, compiled from the same plan.
  const config = loadRotationConfig(
    {
      BROKER_STAGE: String(env['BROKER_STAGE']),
      BROKER_LOG_LEVEL: String(env['BROKER_LOG_LEVEL']),
      AWS_REGION: region,
    },
    compiledDocuments(plan).rotationJson,
  )
  const logFile = join(dirname(stateFile), ROTATION_LOG_FILE)
  mkdirSync(dirname(logFile), { recursive: true })
  const deps = createRotationDeps(config, {
    endpoint: motoEndpoint,
    credentials: { ...MOTO_CREDENTIALS },
    log: createFileLog(logFile, { tool: 'npm run rotate' }),
    metrics: createFileMetrics(logFile),
  })
  try {
    const report = await rotateLikeSecretsManager({
      endpoint: motoEndpoint,
      region,
      secretId: awsName,
      runStep: createRotationFunction(deps),
      ...(resumeToken === undefined ? {} : { token: resumeToken }),
    })
    io.out(formatReport(name, report, logFile))
    return report.ok ? 0 : 1
  } catch (err) {
    if (err instanceof RotationInProgressError)
      fail(`${err.message}: npm run rotate -- ${name} --resume ${err.pendingVersionId}`)
    fail(`could not rotate ${name}: ${err instanceof Error ? err.name : 'error'}`)
  } finally {
    deps.sm.destroy()
    destroyIam(deps.engines)
  }
}

/**
 * The command, with its output passed in: resolves with the exit code. A usage or environment problem is
 * one line on `err`; the report of a rotation that ran (failed or not) is on `out`.
 */
export async function runRotateCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  quietToolEnv()
  try {
    return await rotateCommand(argv, io)
  } catch (err) {
    if (!(err instanceof CommandFailure)) throw err
    io.err(`rotate: ${err.message}\n`)
    return 1
  }
}

if (require.main === module) {
  void runRotateCommand(process.argv.slice(2), {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
  }).then((code) => {
    process.exitCode = code
  })
}
