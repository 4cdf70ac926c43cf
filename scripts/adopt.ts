import { createRequire } from 'node:module'
import { parseArgs } from 'node:util'
import {
  CloudFormationClient,
  CreateChangeSetCommand,
  ExecuteChangeSetCommand,
  UpdateStackCommand,
  waitUntilChangeSetCreateComplete,
  waitUntilStackImportComplete,
  waitUntilStackUpdateComplete,
} from '@aws-sdk/client-cloudformation'
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import { STSClient } from '@aws-sdk/client-sts'
import { planAdoption, type AdoptionPlan, type TemplateLike } from '../infra/adoption'
import { targetProblems, type GuardClients } from '../infra/deploy-checks'
import { describeDeployRefusal } from '../infra/deploy-guard'
import { findRetained, readDeployedTemplate, stackNameOf } from '../infra/deployed-stack'
import { buildResources, planStack } from '../infra/stack'
import { loadStageDeclarations, type StageDeclarations } from '../infra/stage-declarations'
import { quietToolEnv } from './lib/tool-env'

/**
 * `npm run adopt -- --stage <dev|prod>`: after `sls remove`, the stage's secrets and KMS key are retained
 * (with their values and resource policies) and the next deploy would fail creating them. This imports them
 * back into the stage's stack with CloudFormation's resource import (infra/adoption.ts), as the stage's
 * deployment role, after the deploy guard's checks (account, region, placeholders). Then
 * `npx serverless deploy --stage <stage>` deploys everything else. Prints what it imports (names, ARNs and
 * the key id; never a value). Credentials and region come from the usual AWS chain (AWS_PROFILE, …).
 */
const USAGE = 'usage: npm run adopt -- --stage <stage>'

export interface AdoptResult {
  readonly ok: boolean
  readonly lines: readonly string[]
}

/** Serverless's own first template (its deployment bucket), which every stack it deploys starts with. */
function serverlessCoreTemplate(): TemplateLike {
  const require = createRequire(__filename)
  return require('serverless/lib/plugins/aws/package/lib/core-cloudformation-template.json') as TemplateLike
}

async function runImport(
  cfn: CloudFormationClient,
  decl: StageDeclarations,
  plan: AdoptionPlan,
  say: (line: string) => void,
): Promise<void> {
  const StackName = stackNameOf(decl.stage)
  const RoleARN = decl.params.deploymentRoleArn
  const ChangeSetName = `adopt-${Date.now()}`
  await cfn.send(
    new CreateChangeSetCommand({
      StackName,
      ChangeSetName,
      ChangeSetType: 'IMPORT',
      TemplateBody: JSON.stringify(plan.importTemplate),
      ResourcesToImport: [...plan.resourcesToImport],
      RoleARN,
    }),
  )
  const wait = { client: cfn, maxWaitTime: 900, minDelay: 2, maxDelay: 10 }
  await waitUntilChangeSetCreateComplete(wait, { StackName, ChangeSetName })
  await cfn.send(new ExecuteChangeSetCommand({ StackName, ChangeSetName }))
  await waitUntilStackImportComplete(wait, { StackName })
  say(`imported into ${StackName} (${plan.kind === 'new-stack' ? 'a new stack' : 'the existing stack'})`)
  if (plan.followUpTemplate !== undefined) {
    await cfn.send(
      new UpdateStackCommand({ StackName, TemplateBody: JSON.stringify(plan.followUpTemplate), RoleARN }),
    )
    await waitUntilStackUpdateComplete(wait, { StackName })
    say(`added Serverless's deployment bucket to ${StackName}`)
  }
}

/** Adopt the stage's retained secrets (and key); `clients` default to the AWS credential chain. */
export async function adoptStage(
  stage: string,
  opts: { readonly env?: NodeJS.ProcessEnv; readonly clients?: GuardClients } = {},
): Promise<AdoptResult> {
  const lines: string[] = []
  const say = (line: string): void => void lines.push(line)
  const env = opts.env ?? process.env
  const decl = loadStageDeclarations(stage)
  const region = decl.params.region
  const clients = opts.clients ?? {
    sts: new STSClient({ region }),
    cfn: new CloudFormationClient({ region }),
    sm: new SecretsManagerClient({ region }),
  }
  const refused = await targetProblems({ decl, region, env, clients })
  if (refused.length > 0) return { ok: false, lines: [describeDeployRefusal('adopt into', stage, refused)] }

  const stackPlan = planStack(decl)
  const deployedBody = await readDeployedTemplate(clients.cfn, stackNameOf(stage))
  const deployed = deployedBody === undefined ? undefined : (JSON.parse(deployedBody) as TemplateLike)
  const retained = await findRetained(
    clients,
    stackPlan,
    deployed === undefined ? undefined : new Set(Object.keys(deployed.Resources ?? {})),
  )
  const plan = planAdoption(retained, buildResources(stackPlan).Resources, deployed, serverlessCoreTemplate())
  if ('problems' in plan)
    return { ok: false, lines: [describeDeployRefusal('adopt into', stage, plan.problems)] }
  say(`adopting into ${stackNameOf(stage)}, as ${decl.params.deploymentRoleArn}:`)
  for (const r of plan.resourcesToImport)
    say(`  ${r.ResourceType} ${r.LogicalResourceId} ${Object.values(r.ResourceIdentifier).join('')}`)
  await runImport(clients.cfn, decl, plan, say)
  say(`next: npx serverless deploy --stage ${stage}   (resource policies, rotation, functions, API, alarms)`)
  return { ok: true, lines }
}

async function main(): Promise<void> {
  quietToolEnv()
  const { values } = parseArgs({ options: { stage: { type: 'string' } }, strict: true })
  if (values.stage === undefined) {
    process.stderr.write(`${USAGE}\n`)
    process.exit(2)
  }
  const result = await adoptStage(values.stage)
  const text = `${result.lines.join('\n')}\n`
  if (result.ok) process.stdout.write(text)
  else {
    process.stderr.write(text)
    process.exit(1)
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    const e = err as { name?: unknown; message?: unknown }
    // SDK and CloudFormation errors name the stack, the resource and the reason, never a secret value.
    process.stderr.write(`adopt failed: ${String(e.name)}: ${String(e.message)}\n`)
    process.exit(1)
  })
}
