import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager'
import { planStack } from '../../../infra/stack'
import { loadStageDeclarations, REPO_ROOT } from '../../../infra/stage-declarations'
import {
  demoEngineFields,
  provisionDemoEngines,
  provisionDemoIamUsers,
  startDemoEngines,
  type DemoEngines,
} from '../../../scripts/lib/local-demo-engines'
import { enableRotation } from '../../../scripts/lib/local-rotation'
import { makeTempDir } from '../../../scripts/lib/processes'
import { startRotationBase, valueAt, type RotationBase } from '../../../scripts/lib/rotation-env'

jest.setTimeout(90_000)

/**
 * The local stage's demo secrets of the MySQL/MariaDB, Redis ACL and IAM access key strategies, set up as
 * `npm start` sets them up (scripts/lib/local-demo-engines.ts: a private MariaDB and Redis whose accounts
 * have the secrets' passwords, the IAM user with a first key in the emulator), then rotated by
 * `npm run rotate` run as a process, as a user would.
 */
const plan = planStack(loadStageDeclarations('local'))
const DEMO = ['demo/mysql-db', 'demo/mysql-master', 'demo/cache', 'demo/cache-master', 'demo/deployer-key']
let base: RotationBase
let engines: DemoEngines
let stateDir: string

beforeAll(async () => {
  base = await startRotationBase()
  engines = await startDemoEngines(plan)
  const iamFields = await provisionDemoIamUsers(plan, base.moto.endpoint, 'us-east-1')
  const passwords = new Map<string, string>()
  for (const m of plan.managed.filter((x) => DEMO.includes(x.logicalName))) {
    const password = `${base.canary}-${randomBytes(12).toString('base64url')}`
    passwords.set(m.logicalName, password)
    const value = {
      username: m.username,
      password,
      ...m.fields,
      ...demoEngineFields(engines, plan, m),
      ...(iamFields.get(m.logicalName) ?? {}),
    }
    await base.sm.send(new CreateSecretCommand({ Name: m.awsName, SecretString: JSON.stringify(value) }))
    if (m.rotation !== undefined) await enableRotation(base.moto.endpoint, m.awsName)
  }
  await provisionDemoEngines(engines, plan, passwords)
  stateDir = makeTempDir('demo-engines')
  writeFileSync(
    join(stateDir, 'local.json'),
    JSON.stringify({ motoEndpoint: base.moto.endpoint, region: 'us-east-1' }),
  )
}, 90_000)

afterAll(async () => {
  rmSync(stateDir, { recursive: true, force: true })
  await engines?.stop()
  await base?.stop()
})

function rotate(name: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      join(REPO_ROOT, 'node_modules', '.bin', 'tsx'),
      ['scripts/rotate-local.ts', name, '--state', join(stateDir, 'local.json')],
      { cwd: REPO_ROOT, timeout: 60_000 },
      (err, stdout, stderr) =>
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr }),
    )
  })
}

describe('npm start demo secrets of the MySQL, Redis ACL and IAM access key strategies', () => {
  it('starts MariaDB and Redis here (both installed by .ci/run) and points the demo secrets at them', async () => {
    expect(engines.skipped).toEqual([])
    const mysql = await valueAt(base, 'secret-broker/local/demo/mysql-db', 'AWSCURRENT')
    const cache = await valueAt(base, 'secret-broker/local/demo/cache', 'AWSCURRENT')
    expect([mysql?.port, cache?.port]).toEqual([engines.mariadb?.port, engines.redis?.port])
  })

  it.each([
    ['demo/mysql-db', 'username', 'demo_shop_clone'],
    ['demo/cache', 'username', 'demo-cache'],
    ['demo/deployer-key', 'userName', 'demo-deployer'],
  ])(
    'npm run rotate -- %s rotates it, with a report and no value on the terminal',
    async (name, field, who) => {
      // Act
      const run = await rotate(name)
      // Assert
      expect(run.stderr).toBe('')
      expect(run.stdout).toContain('result        rotated')
      expect(run.code).toBe(0)
      expect(run.stdout).not.toContain(base.canary)
      const current = (await valueAt(base, `secret-broker/local/${name}`, 'AWSCURRENT')) as unknown as Record<
        string,
        string
      >
      expect(current[field]).toBe(who)
    },
  )
})
