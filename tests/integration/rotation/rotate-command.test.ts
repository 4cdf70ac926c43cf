import { execFile } from 'node:child_process'
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager'
import { secretAwsName } from '../../../infra/stack'
import { REPO_ROOT } from '../../../infra/stage-declarations'
import { makeTempDir } from '../../../scripts/lib/processes'
import {
  createPgSecret,
  holderOf,
  stagesOf,
  startRotationEnv,
  valueAt,
  type RotationEnv,
} from '../../../scripts/lib/rotation-env'

jest.setTimeout(90_000)

/**
 * `npm run rotate` (scripts/rotate-local.ts) run as a process against a moto and a PostgreSQL this test
 * starts, standing in for the local stack: its report shows the labels as they are after the run and what
 * to do next, and its output carries no JSON log or metric line (those go to rotation.log next to the
 * stack's local.json).
 */
describe('npm run rotate: an honest report', () => {
  let env: RotationEnv
  let stateDir: string
  let stateFile: string
  const reporting = secretAwsName('local', 'demo/reporting-db')
  const masterName = secretAwsName('local', 'demo/db-master')
  let masterValue: string

  beforeAll(async () => {
    env = await startRotationEnv()
    // The local stage's demo/reporting-db (demo_reporter, alternating users) and its master's role; the
    // master *secret* is not created yet: the first rotation must fail at setSecret.
    const admin = await createPgSecret(env, {
      username: 'demo_admin',
      createRole: true,
      name: 'secret-broker/test/demo-admin-credentials',
    })
    masterValue = JSON.stringify(admin.value)
    await createPgSecret(env, { username: 'demo_reporter', name: reporting })
    await env.pg.query('GRANT demo_reporter TO demo_admin WITH ADMIN OPTION')
    stateDir = makeTempDir('rotate-command')
    stateFile = join(stateDir, 'local.json')
    writeFileSync(stateFile, JSON.stringify({ motoEndpoint: env.moto.endpoint, region: 'us-east-1' }))
  })
  afterAll(async () => {
    rmSync(stateDir, { recursive: true, force: true })
    await env?.stop()
  })

  function runScript(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      execFile(
        join(REPO_ROOT, 'node_modules', '.bin', 'tsx'),
        ['scripts/rotate-local.ts', ...args],
        { cwd: REPO_ROOT, timeout: 60_000 },
        (err, stdout, stderr) => {
          const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1
          resolve({ code, stdout, stderr })
        },
      )
    })
  }

  const noMachineLines = (text: string): void => {
    for (const line of text.split('\n')) expect(line.trimStart().startsWith('{')).toBe(false)
    expect(text).not.toContain('"_aws"') // EMF
    expect(text).not.toContain(env.canary)
  }

  it('on a failed rotation shows the labels as they are, the cause, and how to resume; logs go to rotation.log', async () => {
    // Arrange
    const before = holderOf(await stagesOf(env, reporting), 'AWSCURRENT')[0]
    // Act
    const run = await runScript(['demo/reporting-db', '--state', stateFile])
    // Assert
    expect(run.code).toBe(1)
    const token = /token\s+([0-9a-f-]{36})/.exec(run.stdout)?.[1] ?? '(none)'
    expect(run.stdout).toContain(
      `setSecret: reading the master secret ${masterName} (AWSCURRENT) failed (ResourceNotFoundException`,
    )
    expect(run.stdout).toMatch(
      new RegExp(`labels now\\s+${before}  AWSCURRENT\\n\\s+${token}  AWSPENDING\\n`),
    )
    expect(run.stdout).not.toContain('AWSPREVIOUS')
    expect(run.stdout).toContain(
      `AWSCURRENT is still version ${before} (nothing moved; clients keep working). Fix the cause above, then resume this rotation with: npm run rotate -- demo/reporting-db --resume ${token}`,
    )
    expect(run.stdout).toContain(`${join(stateDir, 'rotation.log')} (this run's JSON log lines and metrics)`)
    noMachineLines(run.stdout)
    noMachineLines(run.stderr)
    // the labels really are as reported
    const stages = await stagesOf(env, reporting)
    expect(holderOf(stages, 'AWSCURRENT')).toEqual([before])
    expect(holderOf(stages, 'AWSPENDING')).toEqual([token])
    // and the machine lines are in the log file
    const logFile = join(stateDir, 'rotation.log')
    expect(existsSync(logFile)).toBe(true)
    const records = readFileSync(logFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(records).toContainEqual(
      expect.objectContaining({ level: 'ERROR', step: 'setSecret', outcome: 'failed' }),
    )
    expect(records).toContainEqual(
      expect.objectContaining({ level: 'METRICS', dimensions: { step: 'setSecret' } }),
    )
    expect(readFileSync(logFile, 'utf8')).not.toContain(env.canary)
  })

  it('after the cause is fixed, resumes the same rotation and shows the new labels', async () => {
    // Arrange: the failed rotation from the previous test is still pending; the master secret now exists
    const stages = await stagesOf(env, reporting)
    const old = holderOf(stages, 'AWSCURRENT')[0]
    const token = holderOf(stages, 'AWSPENDING')[0] ?? '(none)'
    await env.sm.send(new CreateSecretCommand({ Name: masterName, SecretString: masterValue }))
    // Act
    const run = await runScript(['demo/reporting-db', '--resume', token, '--state', stateFile])
    // Assert
    expect(run.code).toBe(0)
    expect(run.stdout).toMatch(new RegExp(`labels now\\s+${token}  AWSCURRENT\\n\\s+${old}  AWSPREVIOUS\\n`))
    expect(run.stdout).toContain('result        rotated')
    noMachineLines(run.stdout)
    expect((await valueAt(env, reporting, 'AWSCURRENT'))?.username).toBe('demo_reporter_clone')
  })
})
