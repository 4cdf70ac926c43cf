import { CloudFormationClient } from '@aws-sdk/client-cloudformation'
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import { STSClient, type GetCallerIdentityCommand } from '@aws-sdk/client-sts'
import { credentialGuardRefusal } from './credential-guard-hook'
import type { Template } from './credential-guard'
import { retainedProblems, targetProblems } from './deploy-checks'
import { describeDeployRefusal } from './deploy-guard'
import {
  describeLeftBehind,
  readDeployedTemplate,
  readStackResources,
  retainedByTemplate,
  stageView,
  type LeftBehind,
} from './deployed-stack'
import { loadStageDeclarations } from './stage-declarations'

/**
 * The Serverless plugin that guards a stage's lifecycle (loaded through infra/stage-lifecycle-plugin.cjs):
 *
 * - before `deploy`, `deploy function`, `remove` and `rollback` do anything (the `initialize` hook, before
 *   packaging): the deploy guard (infra/deploy-guard.ts) — the caller's account and region against the
 *   stage's, no `local` outside an emulator, no placeholders — and, for a deploy, no secret of the stage
 *   already existing outside its stack (retained by an earlier `sls remove`; `npm run adopt` brings it back);
 * - before CloudFormation is asked to create or update the stack: the credential guard (a deploy never
 *   changes a live credential; infra/credential-guard.ts);
 * - `sls remove` says what it leaves behind and how to deploy the stage again;
 * - `sls info` (and the summary after a deploy) names the stage's dashboard and alarm topic.
 */
interface AwsProvider {
  getStage(): string
  getRegion(): string
  getAwsSdkV3Config(): Promise<Record<string, unknown>>
  naming: { getStackName(): string }
}

export interface ServerlessLike {
  getProvider(name: 'aws'): AwsProvider
  processedInput: { commands: string[] }
  service: { provider: { compiledCloudFormationTemplate: Template } }
  serviceOutputs?: Map<string, unknown>
  classes: { Error: new (message: string) => Error }
}

interface PluginUtils {
  readonly writeText?: (text: string) => void
}

/** The commands that change a stage, and how a refusal names them. */
export const GUARDED_COMMANDS: Readonly<Record<string, string>> = {
  deploy: 'deploy',
  'deploy function': 'deploy a function of',
  remove: 'remove',
  rollback: 'roll back',
  'rollback function': 'roll back a function of',
}

export class DeployPlugin {
  readonly hooks: Record<string, () => Promise<void>>
  private leftBehind: LeftBehind[] = []

  constructor(
    private readonly serverless: ServerlessLike,
    _options: unknown,
    private readonly utils: PluginUtils = {},
  ) {
    this.hooks = {
      initialize: () => this.guard(),
      'before:aws:deploy:deploy:createStack': () => this.checkCredentials(),
      'before:remove:remove': () => this.noteWhatRemoveKeeps(),
      'after:remove:remove': () => this.sayWhatRemoveKept(),
      'after:info:info': () => this.addStageView(),
    }
  }

  private get provider(): AwsProvider {
    return this.serverless.getProvider('aws')
  }

  private async client<T>(Client: new (config: Record<string, unknown>) => T): Promise<T> {
    return new Client(await this.provider.getAwsSdkV3Config())
  }

  private refuse(message: string): never {
    throw new this.serverless.classes.Error(message)
  }

  private write(text: string): void {
    if (this.utils.writeText !== undefined) this.utils.writeText(text)
    else process.stdout.write(`${text}\n`)
  }

  /** The deploy guard, before anything of a guarded command runs (packaging included). */
  async guard(): Promise<void> {
    const command = this.serverless.processedInput.commands.join(' ')
    const verb = GUARDED_COMMANDS[command]
    if (verb === undefined) return
    const decl = loadStageDeclarations(this.provider.getStage())
    const sts = { send: async (c: GetCallerIdentityCommand) => (await this.client(STSClient)).send(c) }
    const problems = await targetProblems({
      decl,
      region: this.provider.getRegion(),
      env: process.env,
      clients: { sts },
    })
    if (command === 'deploy' && problems.length === 0)
      problems.push(
        ...(await retainedProblems(decl, {
          sts,
          cfn: await this.client(CloudFormationClient),
          sm: await this.client(SecretsManagerClient),
        })),
      )
    if (problems.length > 0) this.refuse(describeDeployRefusal(verb, decl.stage, problems))
  }

  /** A deploy never changes a live credential: checked against the deployed template, before any change. */
  async checkCredentials(): Promise<void> {
    const refusal = await credentialGuardRefusal(
      await this.client(CloudFormationClient),
      this.provider.naming.getStackName(),
      this.serverless.service.provider.compiledCloudFormationTemplate,
    )
    if (refusal !== undefined) this.refuse(refusal)
  }

  async noteWhatRemoveKeeps(): Promise<void> {
    const cfn = await this.client(CloudFormationClient)
    const stackName = this.provider.naming.getStackName()
    const body = await readDeployedTemplate(cfn, stackName)
    if (body === undefined) return
    this.leftBehind = retainedByTemplate(body, await readStackResources(cfn, stackName))
  }

  async sayWhatRemoveKept(): Promise<void> {
    const lines = describeLeftBehind(this.provider.getStage(), this.leftBehind)
    if (lines.length > 0) this.write(lines.join('\n'))
    return Promise.resolve()
  }

  async addStageView(): Promise<void> {
    const cfn = await this.client(CloudFormationClient)
    const resources = await readStackResources(cfn, this.provider.naming.getStackName())
    if (resources === undefined) return
    const view = stageView(resources, this.provider.getStage(), this.provider.getRegion())
    const outputs = this.serverless.serviceOutputs
    if (outputs === undefined) return
    // Serverless takes the endpoint from the stack's outputs; where those are missing (moto drops them), the
    // API's id gives it.
    if (!outputs.has('endpoint') && !outputs.has('endpoints') && view.apiEndpoint !== undefined)
      outputs.set('endpoint', view.apiEndpoint)
    if (view.dashboardUrl !== undefined) outputs.set('dashboard', view.dashboardUrl)
    if (view.alarmTopicArn !== undefined) outputs.set('alarm topic', view.alarmTopicArn)
  }
}
