import {
  CloudFormationClient,
  CreateStackCommand,
  waitUntilStackCreateComplete,
} from '@aws-sdk/client-cloudformation'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { credentialGuardRefusal } from '../../infra/credential-guard-hook'
import type { Template } from '../../infra/credential-guard'
import { loadStageDeclarations, REPO_ROOT } from '../../infra/stage-declarations'
import { MOTO_CREDENTIALS, startMoto, type MotoServer } from '../../scripts/lib/moto'
import { packageStage } from '../../scripts/package'

/**
 * A deploy never changes a live credential, in the deploy's lifecycle: a stack is deployed (into moto's
 * CloudFormation) from the packaged local template; the guard then reads it back the way a deploy does
 * (GetTemplate) and refuses a template whose declarations change a deployed secret's fields; packaging with
 * `--deployed-template` refuses the same offline. moto implements no Secrets Manager resource in
 * CloudFormation, so the stack here holds the secrets' declarations only: what the guard compares.
 */
let moto: MotoServer
let cfn: CloudFormationClient
const dir = join(REPO_ROOT, '.tmp', 'credential-guard')
let deployedFile: string

/** The declarations of the local stage with demo/db's host moved (a change that regenerates its password). */
function movedHost(): Record<string, unknown> {
  const secrets = structuredClone(loadStageDeclarations('local').params.secrets) as unknown as Record<
    string,
    { fields: Record<string, unknown> }
  >
  ;(secrets['demo/db'] as { fields: Record<string, unknown> }).fields['host'] = 'db2.internal'
  return { secrets }
}

beforeAll(async () => {
  moto = await startMoto({ logDir: dir })
  cfn = new CloudFormationClient({
    region: 'us-east-1',
    endpoint: moto.endpoint,
    credentials: MOTO_CREDENTIALS,
  })
  const first = packageStage('local', join(dir, 'first'))
  if (!first.ok) throw new Error(`packaging failed:\n${first.output.slice(-3000)}`)
  const template = JSON.parse(readFileSync(first.template, 'utf8')) as Template
  const secretsOnly = {
    Resources: Object.fromEntries(
      Object.entries(template.Resources ?? {}).filter(([, r]) => r.Type === 'AWS::SecretsManager::Secret'),
    ),
  }
  // The KMS key the secrets name is not part of this stack; its id is a plain string here.
  for (const r of Object.values(secretsOnly.Resources))
    if (r.Properties) r.Properties['KmsKeyId'] = 'alias/aws/secretsmanager'
  deployedFile = join(dir, 'deployed.json')
  writeFileSync(deployedFile, JSON.stringify(secretsOnly))
  await cfn.send(
    new CreateStackCommand({ StackName: 'secret-broker-local', TemplateBody: JSON.stringify(secretsOnly) }),
  )
  await waitUntilStackCreateComplete({ client: cfn, maxWaitTime: 60 }, { StackName: 'secret-broker-local' })
}, 180_000)

afterAll(async () => {
  cfn.destroy()
  await moto.stop()
})

/** What the deploy plugin runs before CloudFormation is asked to change anything, against moto's stack. */
const hookFor = (next: Template, stackName = 'secret-broker-local') => ({
  check: () => credentialGuardRefusal(cfn, stackName, next),
})

describe('the credential guard against a deployed stack', () => {
  it('refuses a deploy that would regenerate a deployed password, naming the secret and the field', async () => {
    const moved = packageStage('local', join(dir, 'moved'), movedHost())
    expect(moved.ok).toBe(true)
    const next = JSON.parse(readFileSync(moved.template, 'utf8')) as Template
    await expect(hookFor(next).check()).resolves.toMatch(
      /secret-broker\/local\/demo\/db \(SecretDemoDb\): fields\.host changed[\s\S]*Nothing was changed\./,
    )
  }, 120_000)

  it('lets a deploy through that changes nothing a secret was generated from, and a first deploy', async () => {
    const same = JSON.parse(readFileSync(deployedFile, 'utf8')) as Template
    await expect(hookFor(same).check()).resolves.toBeUndefined()
    await expect(hookFor(same, 'secret-broker-never-deployed').check()).resolves.toBeUndefined()
  })

  it('refuses the same change at packaging time, given the deployed template', () => {
    const result = packageStage('local', join(dir, 'moved-checked'), movedHost(), {
      deployedTemplate: deployedFile,
    })
    expect(result.ok).toBe(false)
    expect(result.output).toContain('SecretDemoDb): fields.host changed')
    expect(result.output).toContain('declare a new secret')
  }, 120_000)
})
