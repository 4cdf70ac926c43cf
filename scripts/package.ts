import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { credentialRefusal, type Template } from '../infra/credential-guard'
import {
  directInvokeBoundary,
  directInvokeScp,
  planStack,
  templateLimitProblems,
  type StackPlan,
} from '../infra/stack'
import { LOCAL_PARAM_OVERRIDES_VAR, loadStageDeclarations, REPO_ROOT } from '../infra/stage-declarations'
import { findOnPath } from './lib/processes'
import { withServerlessLockSync } from './lib/serverless-lock'
import { QUIET_TOOL_ENV } from './lib/tool-env'

/**
 * `npm run package -- --stage <local|dev|prod> [--package <dir>] [--config <service file>]
 * [--deployed-template <file>]`: plans the stage once (a broken declaration is reported here, one line per
 * problem, and nothing else runs; warnings are printed once), packages the service with no AWS credentials and
 * no network (the compiled catalog, rotation and invalidation documents are bundled into the functions),
 * checks the template against CloudFormation's and IAM's size limits, validates it with cfn-lint, and writes
 * the stage's direct-invocation policies next to it (`perimeter/`, see infra/direct-invoke.ts). With
 * `--deployed-template` (the body `aws cloudformation get-template` returns for the stage's stack), it also
 * refuses a template that would regenerate a deployed secret's password — the check a deploy makes itself.
 * cfn-lint runs with no rule ignored: moto's template validation (a deploy into the emulator) fails on any
 * warning, and so does this. The redundant DependsOn entries Serverless writes (W3005) are dropped when the
 * template is finished (infra/api-stage-plugin.cjs).
 */

/** The per-stage policies packaging writes for the operator to attach outside the stack. */
export const PERIMETER_ARTIFACTS = {
  scp: 'direct-invoke-scp.json',
  boundary: 'direct-invoke-boundary.json',
} as const

export interface PackageResult {
  readonly ok: boolean
  readonly template: string
  readonly output: string
  /** Seconds spent planning, in Serverless (bundling included), and in the limit checks plus cfn-lint. */
  readonly timings: { readonly planS: number; readonly serverlessS: number; readonly checksS: number }
  /** Where the direct-invocation SCP and boundary documents are written (once cfn-lint has run). */
  readonly artifacts: { readonly scp: string; readonly boundary: string }
}

/** Where packaging reads the declarations from, and the deployed template to check the new one against. */
export interface PackageOptions {
  /** A service file other than serverless.yml (relative to the repository). */
  readonly configFile?: string
  /** The deployed stack's template: refuse a new one that would regenerate a live password. */
  readonly deployedTemplate?: string
}

const seconds = (since: number): number => Math.round((performance.now() - since) / 10) / 100

const artifactPaths = (outDir: string): PackageResult['artifacts'] => ({
  scp: join(outDir, 'perimeter', PERIMETER_ARTIFACTS.scp),
  boundary: join(outDir, 'perimeter', PERIMETER_ARTIFACTS.boundary),
})

function writePerimeterArtifacts(plan: StackPlan, outDir: string): PackageResult['artifacts'] {
  const artifacts = artifactPaths(outDir)
  mkdirSync(join(outDir, 'perimeter'), { recursive: true })
  writeFileSync(artifacts.scp, `${JSON.stringify(directInvokeScp(plan), null, 2)}\n`)
  writeFileSync(artifacts.boundary, `${JSON.stringify(directInvokeBoundary(plan), null, 2)}\n`)
  return artifacts
}

export function packageStage(
  stage: string,
  outDir = join(REPO_ROOT, '.package', stage),
  localParamOverrides?: Record<string, unknown>,
  { configFile, deployedTemplate }: PackageOptions = {},
): PackageResult {
  const timings = { planS: 0, serverlessS: 0, checksS: 0 }
  const template = join(outDir, 'cloudformation-template-update-stack.json')
  let started = performance.now()
  let plan: StackPlan
  try {
    const overrides =
      localParamOverrides === undefined
        ? {}
        : { [LOCAL_PARAM_OVERRIDES_VAR]: JSON.stringify(localParamOverrides) }
    plan = planStack(loadStageDeclarations(stage, join(REPO_ROOT, configFile ?? 'serverless.yml'), overrides))
  } catch (err) {
    const output = `${err instanceof Error ? err.message : String(err)}\n`
    return { ok: false, template, output, timings, artifacts: artifactPaths(outDir) }
  }
  timings.planS = seconds(started)
  let output = plan.warnings.map((w) => `warning: ${w}\n`).join('')

  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && !k.startsWith('AWS_') && k !== LOCAL_PARAM_OVERRIDES_VAR) env[k] = v
  // Packaging talks to no AWS API; these placeholders only satisfy the framework's credential lookup.
  Object.assign(env, {
    AWS_ACCESS_KEY_ID: 'packaging-needs-no-credentials',
    AWS_SECRET_ACCESS_KEY: 'packaging-needs-no-credentials',
    ...QUIET_TOOL_ENV,
    // One bundling work folder per output folder: packagings of the same stage into different folders
    // (the test suites run in parallel) never share serverless-esbuild's intermediate files.
    SECRET_BROKER_ESBUILD_WORK_DIR: join(
      '.esbuild',
      `package-${stage}-${createHash('sha256')
        .update(resolve(outDir))
        .update(configFile ?? '')
        .digest('hex')
        .slice(0, 12)}`,
    ),
    // Printed above already; Serverless plans the same declarations again in its own process.
    SECRET_BROKER_WARNINGS_SHOWN: '1',
  })
  if (localParamOverrides !== undefined) env[LOCAL_PARAM_OVERRIDES_VAR] = JSON.stringify(localParamOverrides)
  started = performance.now()
  // Serverless builds in .serverless/ whatever --package says: one packaging of this checkout at a time.
  const sls = withServerlessLockSync(() =>
    spawnSync(
      process.execPath,
      [
        join(REPO_ROOT, 'node_modules/serverless/bin/serverless.js'),
        'package',
        '--stage',
        stage,
        '--package',
        outDir,
        ...(configFile === undefined ? [] : ['--config', configFile]),
      ],
      { cwd: REPO_ROOT, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    ),
  )
  timings.serverlessS = seconds(started)
  output += `${sls.stdout}${sls.stderr}`
  if (sls.status !== 0) return { ok: false, template, output, timings, artifacts: artifactPaths(outDir) }

  started = performance.now()
  const limits = templateLimitProblems(readFileSync(template, 'utf8'), {
    region: plan.decl.params.region,
    accountId: plan.decl.params.accountId,
    secretNames: new Map(plan.managed.map((m) => [m.logicalId, m.awsName])),
  })
  if (limits.length > 0) {
    timings.checksS = seconds(started)
    return {
      ok: false,
      template,
      output: `${output}\nthe template does not fit one stack:\n- ${limits.join('\n- ')}\n`,
      timings,
      artifacts: artifactPaths(outDir),
    }
  }
  const cfnLint = findOnPath('cfn-lint')
  if (cfnLint === undefined)
    return {
      ok: false,
      template,
      output: `${output}\ncfn-lint was not found on PATH (pipx install cfn-lint, or pip install cfn-lint in a virtual environment on PATH)`,
      timings,
      artifacts: artifactPaths(outDir),
    }
  const lint = spawnSync(cfnLint, ['--', template], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  })
  timings.checksS = seconds(started)
  output += `${lint.stdout}${lint.stderr}`
  const artifacts = writePerimeterArtifacts(plan, outDir)
  if (lint.status !== 0 || deployedTemplate === undefined)
    return { ok: lint.status === 0, template, output, timings, artifacts }
  const refusal = credentialRefusal(
    readFileSync(deployedTemplate, 'utf8'),
    JSON.parse(readFileSync(template, 'utf8')) as Template,
  )
  return refusal === undefined
    ? { ok: true, template, output, timings, artifacts }
    : { ok: false, template, output: `${output}\n${refusal}\n`, timings, artifacts }
}

function main(): void {
  const { values } = parseArgs({
    options: {
      stage: { type: 'string', default: 'dev' },
      package: { type: 'string' },
      'deployed-template': { type: 'string' },
      config: { type: 'string' },
    },
    strict: true,
  })
  const stage = values.stage
  const result = packageStage(stage, values.package, undefined, {
    ...(values.config === undefined ? {} : { configFile: values.config }),
    ...(values['deployed-template'] === undefined ? {} : { deployedTemplate: values['deployed-template'] }),
  })
  process.stdout.write(result.output)
  if (!result.ok) {
    process.stderr.write(`\npackaging or cfn-lint failed for stage ${stage}\n`)
    process.exit(1)
  }
  const t = result.timings
  process.stdout.write(
    `\nstage ${stage}: packaged to ${result.template}, within CloudFormation's limits, cfn-lint clean; plan ${t.planS} s, serverless ${t.serverlessS} s, checks ${t.checksS} s\n` +
      `direct invocation of the HTTP functions: attach ${result.artifacts.scp} as a service control policy ` +
      `(or ${result.artifacts.boundary} as a permissions boundary; docs/SECURITY.md)\n`,
  )
}

if (require.main === module) main()
