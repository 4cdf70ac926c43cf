import { parseArgs } from 'node:util'
import { CloudFormationClient } from '@aws-sdk/client-cloudformation'
import { readStackResources, stackNameOf, stageView } from '../infra/deployed-stack'
import { planStack, rotationScheduled } from '../infra/plan'
import { loadStageDeclarations } from '../infra/stage-declarations'
import { quietToolEnv } from './lib/tool-env'

/**
 * `npm run info -- --stage <stage>`: where to look at a deployed stage — its API endpoint, its CloudWatch
 * dashboard and its alarm topic — read from the stack's resources (not its outputs, which the emulator
 * drops), and which rotated secrets have their rotation turned on. Reads only; the usual AWS credential chain.
 */
const USAGE = 'usage: npm run info -- --stage <stage>'

export async function stageInfo(
  stage: string,
  cfn: CloudFormationClient = new CloudFormationClient({
    region: loadStageDeclarations(stage).params.region,
  }),
): Promise<{ ok: boolean; lines: string[] }> {
  const decl = loadStageDeclarations(stage)
  const { region } = decl.params
  const resources = await readStackResources(cfn, stackNameOf(stage))
  if (resources === undefined)
    return {
      ok: false,
      lines: [`${stackNameOf(stage)} is not deployed in ${region} (npx serverless deploy --stage ${stage})`],
    }
  const view = stageView(resources, stage, region)
  const rotated = planStack(decl).managed.filter((m) => m.rotation !== undefined)
  return {
    ok: true,
    lines: [
      `stack        ${stackNameOf(stage)} (${region})`,
      `endpoint     ${view.apiEndpoint ?? '(no API in the stack)'}`,
      `dashboard    ${view.dashboardUrl ?? '(no dashboard in the stack)'}`,
      `alarm topic  ${view.alarmTopicArn ?? '(no alarm topic in the stack)'}`,
      ...rotated.map(
        (m, i) =>
          `${i === 0 ? 'rotation    ' : '            '} ${m.logicalName}: ${m.rotation?.strategy ?? ''}, ${
            rotationScheduled(m)
              ? 'scheduled'
              : `not scheduled yet (npm run onboard -- --stage ${stage} --secret ${m.logicalName}, then rotation.enabled: true)`
          }`,
      ),
    ],
  }
}

async function main(): Promise<void> {
  quietToolEnv()
  const { values } = parseArgs({ options: { stage: { type: 'string' } }, strict: true })
  if (values.stage === undefined) {
    process.stderr.write(`${USAGE}\n`)
    process.exit(2)
  }
  const result = await stageInfo(values.stage)
  ;(result.ok ? process.stdout : process.stderr).write(`${result.lines.join('\n')}\n`)
  if (!result.ok) process.exit(1)
}

if (require.main === module) {
  main().catch((err: unknown) => {
    const e = err as { name?: unknown; message?: unknown }
    process.stderr.write(`info failed: ${String(e.name)}: ${String(e.message)}\n`)
    process.exit(1)
  })
}
