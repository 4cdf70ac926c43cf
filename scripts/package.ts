import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { credentialRefusal, type Template } from '../infra/credential-guard'
import { directInvokeBoundary, directInvokeScp, planStack } from '../infra/stack'
import { LOCAL_PARAM_OVERRIDES_VAR, loadStageDeclarations, REPO_ROOT } from '../infra/stage-declarations'
import { findOnPath } from './lib/processes'
import { QUIET_TOOL_ENV } from './lib/tool-env'

/**
 * `npm run package -- --stage <local|dev|prod> [--package <dir>] [--deployed-template <file>]`: packages the
 * service with no AWS credentials and no network, validates the CloudFormation template with cfn-lint, and
 * writes the stage's direct-invocation policies next to it (`perimeter/`, see infra/direct-invoke.ts). With
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
  ok: boolean
  template: string
  output: string
  /** The direct-invocation SCP and boundary documents written next to the template. */
  artifacts: { scp: string; boundary: string }
}

function writePerimeterArtifacts(
  stage: string,
  outDir: string,
  localParamOverrides: Record<string, unknown> | undefined,
): PackageResult['artifacts'] {
  const plan = planStack(
    loadStageDeclarations(stage, undefined, {
      [LOCAL_PARAM_OVERRIDES_VAR]: JSON.stringify(localParamOverrides ?? {}),
    }),
  )
  const dir = join(outDir, 'perimeter')
  mkdirSync(dir, { recursive: true })
  const artifacts = {
    scp: join(dir, PERIMETER_ARTIFACTS.scp),
    boundary: join(dir, PERIMETER_ARTIFACTS.boundary),
  }
  writeFileSync(artifacts.scp, `${JSON.stringify(directInvokeScp(plan), null, 2)}\n`)
  writeFileSync(artifacts.boundary, `${JSON.stringify(directInvokeBoundary(plan), null, 2)}\n`)
  return artifacts
}

export function packageStage(
  stage: string,
  outDir = join(REPO_ROOT, '.package', stage),
  localParamOverrides?: Record<string, unknown>,
  deployedTemplate?: string,
): PackageResult {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('AWS_')) env[k] = v
  // Packaging talks to no AWS API; these placeholders only satisfy the framework's credential lookup.
  Object.assign(env, {
    AWS_ACCESS_KEY_ID: 'packaging-needs-no-credentials',
    AWS_SECRET_ACCESS_KEY: 'packaging-needs-no-credentials',
    ...QUIET_TOOL_ENV,
    SECRET_BROKER_ESBUILD_WORK_DIR: join('.esbuild', `package-${stage}`),
  })
  delete env['SECRET_BROKER_LOCAL_PARAMS']
  if (localParamOverrides !== undefined)
    env['SECRET_BROKER_LOCAL_PARAMS'] = JSON.stringify(localParamOverrides)
  const sls = spawnSync(
    process.execPath,
    [
      join(REPO_ROOT, 'node_modules/serverless/bin/serverless.js'),
      'package',
      '--stage',
      stage,
      '--package',
      outDir,
    ],
    {
      cwd: REPO_ROOT,
      env,
      encoding: 'utf8',
    },
  )
  const template = join(outDir, 'cloudformation-template-update-stack.json')
  const artifacts = { scp: join(outDir, 'perimeter', PERIMETER_ARTIFACTS.scp), boundary: '' }
  artifacts.boundary = join(outDir, 'perimeter', PERIMETER_ARTIFACTS.boundary)
  let output = `${sls.stdout}${sls.stderr}`
  if (sls.status !== 0) return { ok: false, template, output, artifacts }
  const cfnLint = findOnPath('cfn-lint')
  if (cfnLint === undefined)
    return {
      ok: false,
      template,
      output: `${output}\ncfn-lint was not found on PATH (pipx install cfn-lint, or pip install cfn-lint in a virtual environment on PATH)`,
      artifacts,
    }
  const lint = spawnSync(cfnLint, ['--', template], {
    encoding: 'utf8',
  })
  output += `${lint.stdout}${lint.stderr}`
  const written = writePerimeterArtifacts(stage, outDir, localParamOverrides)
  if (lint.status !== 0 || deployedTemplate === undefined)
    return { ok: lint.status === 0, template, output, artifacts: written }
  const refusal = credentialRefusal(
    readFileSync(deployedTemplate, 'utf8'),
    JSON.parse(readFileSync(template, 'utf8')) as Template,
  )
  return refusal === undefined
    ? { ok: true, template, output, artifacts: written }
    : { ok: false, template, output: `${output}\n${refusal}\n`, artifacts: written }
}

function main(): void {
  const { values } = parseArgs({
    options: {
      stage: { type: 'string', default: 'dev' },
      package: { type: 'string' },
      'deployed-template': { type: 'string' },
    },
    strict: true,
  })
  const stage = values.stage
  const result = packageStage(stage, values.package, undefined, values['deployed-template'])
  process.stdout.write(result.output)
  if (!result.ok) {
    process.stderr.write(`\npackaging or cfn-lint failed for stage ${stage}\n`)
    process.exit(1)
  }
  process.stdout.write(
    `\nstage ${stage}: packaged to ${result.template}, cfn-lint clean\n` +
      `direct invocation of the HTTP functions: attach ${result.artifacts.scp} as a service control policy ` +
      `(or ${result.artifacts.boundary} as a permissions boundary; docs/SECURITY.md)\n`,
  )
}

if (require.main === module) main()
