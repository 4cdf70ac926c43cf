import { checkDeployedCredentials, type Template } from './credential-guard'

/**
 * The deploy-time half of infra/credential-guard.ts, as a Serverless plugin (loaded through
 * credential-guard-plugin.cjs): before CloudFormation is asked to create or update anything, it reads the
 * stack's deployed template and refuses a deploy that would make CloudFormation generate a new password for
 * a deployed secret. A stack that does not exist yet passes (the first deploy generates the passwords); a
 * template that cannot be read fails the deploy, since the check could not be made.
 */
interface AwsProvider {
  request(service: string, method: string, params: Record<string, unknown>): Promise<unknown>
  naming: { getStackName(): string }
}

export interface ServerlessLike {
  getProvider(name: 'aws'): AwsProvider
  service: { provider: { compiledCloudFormationTemplate: Template } }
  classes: { Error: new (message: string) => Error }
}

function isMissingStack(err: unknown): boolean {
  const e = err as { message?: unknown; providerError?: { message?: unknown } }
  return [e.message, e.providerError?.message].some((m) => typeof m === 'string' && /does not exist/.test(m))
}

export class CredentialGuardPlugin {
  readonly hooks: Record<string, () => Promise<void>>

  constructor(private readonly serverless: ServerlessLike) {
    this.hooks = { 'before:aws:deploy:deploy:createStack': () => this.check() }
  }

  async check(): Promise<void> {
    const provider = this.serverless.getProvider('aws')
    const stackName = provider.naming.getStackName()
    const deployedBody = async (): Promise<string | undefined> => {
      try {
        const res = (await provider.request('CloudFormation', 'getTemplate', {
          StackName: stackName,
          TemplateStage: 'Original',
        })) as { TemplateBody?: unknown }
        return typeof res.TemplateBody === 'string' ? res.TemplateBody : JSON.stringify(res.TemplateBody)
      } catch (err) {
        if (isMissingStack(err)) return undefined
        const code = (err as { code?: unknown; name?: unknown }).code ?? (err as { name?: unknown }).name
        throw new this.serverless.classes.Error(
          `Refusing to deploy: could not read the deployed template of ${stackName} to check that no secret's ` +
            `password would be regenerated (${String(code)}).`,
        )
      }
    }
    const refusal = await checkDeployedCredentials(
      deployedBody,
      this.serverless.service.provider.compiledCloudFormationTemplate,
    )
    if (refusal !== undefined) throw new this.serverless.classes.Error(refusal)
  }
}
