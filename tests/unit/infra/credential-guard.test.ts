import { CloudFormationClient, GetTemplateCommand } from '@aws-sdk/client-cloudformation'
import { mockClient } from 'aws-sdk-client-mock'
import { credentialGuardRefusal } from '../../../infra/credential-guard-hook'
import { credentialRefusal, generationChanges, type Template } from '../../../infra/credential-guard'
import { buildResources, planStack, rotationDocument } from '../../../infra/stack'
import { loadStageDeclarations } from '../../../infra/stage-declarations'

/**
 * A deploy never changes a live credential (issue 19 §4, issue 17 §3): the template a deploy would submit is
 * compared with the deployed one, and a change of any managed secret's generation inputs is refused with the
 * safe way to make it. Templates here are built from serverless.yml's local declarations with overrides.
 */
type Secrets = Record<string, Record<string, unknown>>
const base = loadStageDeclarations('local').params.secrets as unknown as Secrets

function templateWith(change: (secrets: Secrets) => void = () => undefined, extra: object = {}): Template {
  const secrets = structuredClone(base)
  change(secrets)
  const plan = planStack(
    loadStageDeclarations('local', undefined, {
      SECRET_BROKER_LOCAL_PARAMS: JSON.stringify({ secrets, ...extra }),
    }),
  )
  return buildResources(plan) as unknown as Template
}

const deployed = templateWith()
const demoDb = (s: Secrets) => s['demo/db'] as Record<string, unknown> & { fields: Record<string, unknown> }

describe('generationChanges', () => {
  it.each([
    ['a field', (s: Secrets) => (demoDb(s).fields['host'] = 'db2.internal'), ['fields.host']],
    ['a new field', (s: Secrets) => (demoDb(s).fields['sslmode'] = 'verify-full'), ['fields.sslmode']],
    ['the username', (s: Secrets) => (demoDb(s)['username'] = 'demo_app2'), ['username']],
    ['the password length', (s: Secrets) => (demoDb(s)['passwordLength'] = 40), ['passwordLength']],
    [
      'the excluded characters',
      (s: Secrets) => (demoDb(s)['excludeCharacters'] = '"@/'),
      ['excludeCharacters'],
    ],
  ])('finds a change of %s of a deployed secret', (_what, change, expected) => {
    const changes = generationChanges(deployed, templateWith(change))
    expect(changes).toEqual([
      expect.objectContaining({
        logicalId: 'SecretDemoDb',
        secretName: 'secret-broker/local/demo/db',
        changes: expected,
      }),
    ])
  })

  it('finds every deployed secret a stage-wide password setting reaches, and none that pins its own', () => {
    const changes = generationChanges(
      deployed,
      templateWith((s) => (demoDb(s)['passwordLength'] = 32), { passwordLength: 40 }),
    )
    expect(changes.map((c) => c.logicalId).sort()).toEqual([
      'SecretDemoApiKey',
      'SecretDemoCache',
      'SecretDemoCacheMaster',
      'SecretDemoDbMaster',
      'SecretDemoDeployerKey',
      'SecretDemoMysqlDb',
      'SecretDemoMysqlMaster',
      'SecretDemoReportingDb',
    ])
    expect(
      changes.every((c) => c.changes.join() === 'passwordLength' && c.deployed.passwordLength === 32),
    ).toBe(true)
  })

  it('lets rotations use new password settings (rotation.passwordLength) without touching the deployed value', () => {
    const next = templateWith((s) => {
      demoDb(s)['rotation'] = {
        ...(demoDb(s)['rotation'] as object),
        passwordLength: 48,
        excludeCharacters: '"',
      }
    })
    expect(generationChanges(deployed, next)).toEqual([])
    const secrets = structuredClone(base)
    demoDb(secrets)['rotation'] = { ...(demoDb(secrets)['rotation'] as object), passwordLength: 48 }
    const plan = planStack(
      loadStageDeclarations('local', undefined, { SECRET_BROKER_LOCAL_PARAMS: JSON.stringify({ secrets }) }),
    )
    const target = rotationDocument(plan, (m) => m.awsName).targets.find((t) =>
      t.secretId.endsWith('/demo/db'),
    )
    expect(target?.passwordLength).toBe(48)
  })

  it('ignores new secrets, removed secrets, and every other change of the template', () => {
    const next = templateWith(
      (s) => {
        delete s['demo/api-key']
        s['demo/new'] = { username: 'fresh', readers: ['arn:aws:iam::123456789012:user/demo-orders'] }
        demoDb(s)['readers'] = []
      },
      { logRetentionDays: 7, endpointType: 'EDGE' },
    )
    expect(generationChanges(deployed, next)).toEqual([])
  })
})

describe('credentialRefusal', () => {
  it('names each secret and input and the safe ways, and says nothing was changed', () => {
    const refusal = credentialRefusal(
      JSON.stringify(deployed),
      templateWith((s) => {
        demoDb(s).fields['host'] = 'db2.internal'
        demoDb(s)['passwordLength'] = 40
      }),
    )
    expect(refusal).toContain(
      '- secret-broker/local/demo/db (SecretDemoDb): fields.host, passwordLength changed',
    )
    expect(refusal).toContain('deployed passwordLength: 32')
    expect(refusal).toContain('rotation.passwordLength')
    expect(refusal).toContain('declare a new secret')
    expect(refusal).toContain('Nothing was changed.')
    expect(refusal).not.toContain('db2.internal')
  })

  it('passes an unchanged template, and fails closed on a deployed template it cannot read', () => {
    expect(credentialRefusal(JSON.stringify(deployed), templateWith())).toBeUndefined()
    expect(() => credentialRefusal('Resources:\n  A: {}', templateWith())).toThrow(/not JSON/)
  })
})

describe('credentialGuardRefusal (the deploy hook)', () => {
  const cfn = mockClient(CloudFormationClient)
  beforeEach(() => cfn.reset())
  const client = new CloudFormationClient({ region: 'us-east-1' })

  it("reads the stack's original template and refuses a regenerating deploy", async () => {
    cfn
      .on(GetTemplateCommand, { StackName: 'secret-broker-local', TemplateStage: 'Original' })
      .resolves({ TemplateBody: JSON.stringify(deployed) })
    const refusal = await credentialGuardRefusal(
      client,
      'secret-broker-local',
      templateWith((s) => (demoDb(s)['username'] = 'someone_else')),
    )
    expect(refusal).toMatch(/SecretDemoDb\): username changed/)
    expect(cfn).toHaveReceivedCommandWith(GetTemplateCommand, {
      StackName: 'secret-broker-local',
      TemplateStage: 'Original',
    })
  })

  it('lets the first deploy (no stack yet) and an unchanged one through', async () => {
    cfn.on(GetTemplateCommand, { StackName: 'secret-broker-local' }).rejects(
      Object.assign(new Error('Stack with id secret-broker-local does not exist'), {
        name: 'ValidationError',
      }),
    )
    await expect(credentialGuardRefusal(client, 'secret-broker-local', deployed)).resolves.toBeUndefined()
    cfn
      .on(GetTemplateCommand, { StackName: 'secret-broker-dev' })
      .resolves({ TemplateBody: JSON.stringify(deployed) })
    await expect(credentialGuardRefusal(client, 'secret-broker-dev', deployed)).resolves.toBeUndefined()
  })

  it('fails closed when the deployed template cannot be read', async () => {
    cfn.on(GetTemplateCommand).rejects(Object.assign(new Error('not authorized'), { name: 'AccessDenied' }))
    await expect(credentialGuardRefusal(client, 'secret-broker-local', deployed)).resolves.toMatch(
      /could not read the deployed template of secret-broker-local .*\(AccessDenied\)[\s\S]*Nothing was changed/,
    )
  })
})
