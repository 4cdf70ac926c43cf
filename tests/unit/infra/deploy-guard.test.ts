import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { DeployPlugin } from '../../../infra/deploy-plugin'
import {
  deployRefusals,
  emulatorEndpoint,
  retainedRefusals,
  type DeployTarget,
  type RetainedResource,
} from '../../../infra/deploy-guard'
import { findPlaceholders } from '../../../infra/placeholders'
import { rotationScheduled } from '../../../infra/plan'
import { buildResources, planStack } from '../../../infra/stack'
import { loadStageDeclarations, REPO_ROOT, type StageParams } from '../../../infra/stage-declarations'

/** A stage with its placeholders replaced, as an operator would leave it before deploying. */
function realDev(): StageParams {
  const text = JSON.stringify(loadStageDeclarations('dev').params).replaceAll('111111111111', '345678901234')
  return JSON.parse(text) as StageParams
}

const target = (over: Partial<DeployTarget> = {}): DeployTarget => ({
  stage: 'dev',
  params: realDev(),
  region: 'us-east-1',
  caller: { account: '345678901234', arn: 'arn:aws:sts::345678901234:assumed-role/deployer/me' },
  emulator: undefined,
  ...over,
})

describe('the deploy guard', () => {
  it('lets a stage through whose account, region and values are its own', () => {
    expect(deployRefusals(target())).toEqual([])
  })

  it('refuses credentials of another account, naming both accounts and the fix', () => {
    const problems = deployRefusals(
      target({ caller: { account: '999999999990', arn: 'arn:aws:iam::999999999990:user/someone' } }),
    )
    expect(problems).toEqual([
      expect.stringMatching(
        /^the credentials are arn:aws:iam::999999999990:user\/someone, of account 999999999990, but params\.dev\.accountId is 345678901234: use credentials of account 345678901234/,
      ),
    ])
  })

  it('refuses another region than the stage declares', () => {
    expect(deployRefusals(target({ region: 'eu-west-1' }))).toEqual([
      expect.stringMatching(
        /^the deploy would go to region eu-west-1, but params\.dev\.region is us-east-1: drop --region/,
      ),
    ])
  })

  it('refuses the local stage unless every call goes to a loopback emulator', () => {
    const local = loadStageDeclarations('local').params
    const caller = { account: '123456789012', arn: 'arn:aws:sts::123456789012:user/moto' }
    expect(
      deployRefusals({ stage: 'local', params: local, region: 'us-east-1', caller, emulator: undefined }),
    ).toEqual([
      expect.stringMatching(
        /^the local stage is npm start's .* is never deployed to AWS: deploy --stage dev/,
      ),
    ])
    expect(
      deployRefusals({
        stage: 'local',
        params: local,
        region: 'us-east-1',
        caller,
        emulator: 'http://127.0.0.1:5000',
      }),
    ).toEqual([])
  })

  it('finds an emulator only when no AWS call could leave loopback', () => {
    expect(emulatorEndpoint({ AWS_ENDPOINT_URL: 'http://127.0.0.1:4566' })).toBe('http://127.0.0.1:4566')
    expect(emulatorEndpoint({ AWS_ENDPOINT_URL: 'http://localhost:4566' })).toBe('http://localhost:4566')
    expect(emulatorEndpoint({})).toBeUndefined()
    expect(emulatorEndpoint({ AWS_ENDPOINT_URL: 'https://sts.amazonaws.com' })).toBeUndefined()
    expect(emulatorEndpoint({ AWS_ENDPOINT_URL: 'not a url' })).toBeUndefined()
    expect(
      emulatorEndpoint({
        AWS_ENDPOINT_URL: 'http://127.0.0.1:4566',
        AWS_ENDPOINT_URL_STS: 'https://sts.us-east-1.amazonaws.com',
      }),
    ).toBeUndefined()
  })

  it.each(['dev', 'prod'])(
    'refuses every placeholder serverless.yml ships for %s, each with its fix',
    (stage) => {
      const decl = loadStageDeclarations(stage)
      const account = decl.params.accountId
      const problems = deployRefusals(
        target({ stage, params: decl.params, caller: { account, arn: `arn:aws:iam::${account}:root` } }),
      )
      // Every line serverless.yml marks "before deploying" (or "replace") names a value the guard refuses.
      const yml = readFileSync(join(REPO_ROOT, 'serverless.yml'), 'utf8')
      const section = yml.slice(
        yml.indexOf(`\n  ${stage}:\n`),
        yml.indexOf(stage === 'dev' ? '\n  prod:\n' : '\nplugins:'),
      )
      const marked = section
        .split('\n')
        .filter((l) => /before deploying|replace with/.test(l) && /:\s*\S/.test(l.split('#')[0] ?? ''))
        .map((l) => (l.split('#')[0] ?? '').trim().split(':')[0] ?? '')
      expect(marked.length).toBeGreaterThan(0)
      for (const key of marked) expect(problems.join('\n')).toContain(`params.${stage}.${key} is `)
      expect(problems[0]).toMatch(
        new RegExp(`^params\\.${stage}\\.accountId is ${account}, a placeholder account id: replace it with`),
      )
      if (stage === 'prod') {
        expect(problems).toContain(
          "params.prod.alarmEmail is secret-broker-oncall@example.com, an address at a reserved example domain: replace it with the team's on-call address, or remove alarmEmail and subscribe to the topic yourself",
        )
        expect(problems.join('\n')).toMatch(
          /params\.prod\.vpcEndpointIds\[0\] is vpce-22222222222222222, a placeholder VPC endpoint id/,
        )
        expect(problems.join('\n')).toMatch(
          /params\.prod\.breakGlassRoleArn is arn:aws:iam::222222222222:role\/secret-broker-break-glass, which holds a placeholder account id/,
        )
      }
    },
  )

  it('does not take real values for placeholders', () => {
    expect(findPlaceholders('dev', realDev())).toEqual([])
    expect(
      findPlaceholders('x', {
        a: 'oncall@corp.example.net.au',
        b: 'vpce-0a1b2c3d4e5f60718',
        c: '1234567890123',
      }),
    ).toEqual([])
    expect(findPlaceholders('x', { a: ['ops@test'] })).toEqual([
      expect.objectContaining({ path: 'params.x.a[0]', kind: 'an address at a reserved example domain' }),
    ])
  })

  it('refuses a deploy over secrets retained outside the stack, and one scheduled for deletion', () => {
    const retained: RetainedResource[] = [
      {
        type: 'AWS::SecretsManager::Secret',
        logicalId: 'SecretOrdersDb',
        name: 'secret-broker/dev/orders/db',
        arn: 'arn:aws:secretsmanager:us-east-1:345678901234:secret:secret-broker/dev/orders/db-AbCdEf',
        deletionScheduled: true,
      },
      {
        type: 'AWS::KMS::Key',
        logicalId: 'BrokerKey',
        name: '1234abcd-12ab-34cd-56ef-1234567890ab',
        arn: 'arn:aws:kms:us-east-1:345678901234:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      },
    ]
    const problems = retainedRefusals('dev', retained)
    expect(problems[0]).toMatch(
      /these secrets already exist, .*: secret-broker\/dev\/orders\/db\. .*npm run adopt -- --stage dev/,
    )
    expect(problems[1]).toMatch(
      /secret-broker\/dev\/orders\/db is scheduled for deletion: restore it first \(aws secretsmanager restore-secret/,
    )
    expect(retainedRefusals('dev', retained.slice(1))).toEqual([])
  })
})

describe('the deploy plugin', () => {
  const plugin = (commands: string[], stage: string, sent: string[]): DeployPlugin =>
    new DeployPlugin(
      {
        getProvider: () => ({
          getStage: () => stage,
          getRegion: () => 'us-east-1',
          getAwsSdkV3Config: () => {
            sent.push('config')
            return Promise.resolve({ region: 'us-east-1' })
          },
          naming: { getStackName: () => `secret-broker-${stage}` },
        }),
        processedInput: { commands },
        service: { provider: { compiledCloudFormationTemplate: { Resources: {} } } },
        classes: { Error },
      },
      {},
    )

  it('does nothing for commands that change nothing', async () => {
    const sent: string[] = []
    await plugin(['package'], 'dev', sent).guard()
    await plugin(['info'], 'local', sent).guard()
    expect(sent).toEqual([])
  })

  it('refuses sls remove of the local stage outside an emulator before asking AWS anything', async () => {
    const saved = process.env['AWS_ENDPOINT_URL']
    delete process.env['AWS_ENDPOINT_URL']
    const sent: string[] = []
    try {
      await expect(plugin(['remove'], 'local', sent).guard()).rejects.toThrow(
        /^Refusing to remove stage local:\n- the local stage is npm start's[\s\S]*Nothing was changed\.$/,
      )
    } finally {
      if (saved !== undefined) process.env['AWS_ENDPOINT_URL'] = saved
    }
    expect(sent).toEqual([])
  })
})

describe('rotation schedules and day 1', () => {
  it('schedules random rotation at once, and database rotation only once enabled (after onboarding)', () => {
    const plan = planStack(loadStageDeclarations('dev'))
    const byName = new Map(plan.managed.map((m) => [m.logicalName, m]))
    expect(rotationScheduled(byName.get('payments/api-key')!)).toBe(true)
    expect(rotationScheduled(byName.get('orders/db')!)).toBe(false)
    expect(rotationScheduled(byName.get('orders/db-master')!)).toBe(false)
    const resources = buildResources(plan).Resources as Record<string, unknown>
    expect(Object.keys(resources).filter((k) => k.endsWith('RotationSchedule'))).toEqual([
      'SecretPaymentsApiKeyRotationSchedule',
    ])

    const enabled = planStack(
      loadStageDeclarations('local', undefined, {
        SECRET_BROKER_LOCAL_PARAMS: JSON.stringify({
          secrets: {
            ...loadStageDeclarations('local').params.secrets,
            'demo/reporting-db': {
              ...loadStageDeclarations('local').params.secrets['demo/reporting-db'],
              rotation: {
                strategy: 'postgres-alternating-users',
                masterSecret: 'demo/db-master',
                enabled: true,
              },
            },
          },
        }),
      }),
    )
    const after = buildResources(enabled).Resources as Record<string, unknown>
    expect(after['SecretDemoReportingDbRotationSchedule']).toBeDefined()
    expect(after['SecretDemoDbRotationSchedule']).toBeUndefined()
  })

  it('waits for onboarding on every database engine, not for an access key the first rotation creates', () => {
    const local = planStack(loadStageDeclarations('local'))
    const strategyOf = new Map(local.managed.map((m) => [m.rotation?.strategy, m]))
    for (const strategy of [
      'postgres-single-user',
      'mysql-alternating-users',
      'redis-acl-single-user',
    ] as const)
      expect([strategy, rotationScheduled(strategyOf.get(strategy)!)]).toEqual([strategy, false])
    for (const strategy of ['random', 'iam-access-key'] as const)
      expect([strategy, rotationScheduled(strategyOf.get(strategy)!)]).toEqual([strategy, true])
  })
})
