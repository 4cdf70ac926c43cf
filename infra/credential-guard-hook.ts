import type { CloudFormationClient } from '@aws-sdk/client-cloudformation'
import { checkDeployedCredentials, type Template } from './credential-guard'
import { readDeployedTemplate } from './deployed-stack'

/**
 * The deploy-time half of infra/credential-guard.ts, run by infra/deploy-plugin.ts before CloudFormation is
 * asked to create or update anything: it reads the stack's deployed template (GetTemplate, as submitted) and
 * returns the refusal for a template that would make CloudFormation generate a new password for a deployed
 * secret. A stack that does not exist yet passes (the first deploy generates the passwords); a template that
 * cannot be read is a refusal too, since the check could not be made.
 */
export async function credentialGuardRefusal(
  cfn: Pick<CloudFormationClient, 'send'>,
  stackName: string,
  next: Template,
): Promise<string | undefined> {
  try {
    return await checkDeployedCredentials(
      () => readDeployedTemplate(cfn as CloudFormationClient, stackName),
      next,
    )
  } catch (err) {
    if (err instanceof Error && err.message.startsWith('Refusing to deploy')) return err.message
    const name = (err as { name?: unknown }).name
    return (
      `Refusing to deploy: could not read the deployed template of ${stackName} to check that no secret's ` +
      `password would be regenerated (${typeof name === 'string' ? name : 'error'}). Nothing was changed.`
    )
  }
}
