import type { CloudFormationClient } from '@aws-sdk/client-cloudformation'
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import { GetCallerIdentityCommand, type STSClient } from '@aws-sdk/client-sts'
import { deployRefusals, emulatorEndpoint, retainedRefusals } from './deploy-guard'
import { deployedLogicalIds, findRetained, stackNameOf } from './deployed-stack'
import { planStack } from './plan'
import type { StageDeclarations } from './stage-declarations'

/**
 * The deploy guard as the deploy plugin and the operator commands (`npm run adopt`, `npm run onboard`) run
 * it: what STS says the credentials are, checked against the stage (infra/deploy-guard.ts), and for a
 * deploy the stage's secrets that exist outside its stack. Clients are passed in (Serverless's provider
 * builds them for the plugin, the default credential chain for the commands).
 */
export interface GuardClients {
  readonly sts: Pick<STSClient, 'send'>
  readonly cfn: CloudFormationClient
  readonly sm: SecretsManagerClient
}

export async function targetProblems(opts: {
  readonly decl: StageDeclarations
  readonly region: string
  readonly env: Readonly<Record<string, string | undefined>>
  readonly clients: Pick<GuardClients, 'sts'>
}): Promise<string[]> {
  const { decl, region } = opts
  const base = { stage: decl.stage, params: decl.params, region, emulator: emulatorEndpoint(opts.env) }
  // Nothing of the local stage is ever asked of AWS: refused before any call.
  if (decl.stage === 'local' && base.emulator === undefined)
    return deployRefusals({ ...base, caller: { account: '', arn: '' } })
  let caller: { account: string; arn: string }
  try {
    const out = await opts.clients.sts.send(new GetCallerIdentityCommand({}))
    caller = { account: out.Account ?? '', arn: out.Arn ?? '' }
  } catch (err) {
    const name = (err as { name?: unknown }).name
    return [
      `could not ask STS whose credentials these are (${typeof name === 'string' ? name : 'error'}), so the ` +
        `stage's account ${decl.params.accountId} could not be checked: configure credentials of that account`,
    ]
  }
  return deployRefusals({ ...base, caller })
}

/** For a deploy: the stage's secrets that exist outside its stack, which it would fail creating. */
export async function retainedProblems(decl: StageDeclarations, clients: GuardClients): Promise<string[]> {
  const inStack = await deployedLogicalIds(clients.cfn, stackNameOf(decl.stage))
  return retainedRefusals(decl.stage, await findRetained(clients, planStack(decl), inStack))
}
