import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager'
import { rotateLikeSecretsManager, type LocalRotationReport } from '../../scripts/lib/local-rotation'
import {
  aTarget,
  createPgSecret,
  makeHandler,
  startRotationEnv,
  type RotationEnv,
} from '../../scripts/lib/rotation-env'
import type { RotationTarget } from '../../src/rotation'
import { median } from './stats'

/**
 * Part 5: wall time of a full rotation (RotateSecret, then createSecret → setSecret → testSecret →
 * finishSecret through the real rotation handler) per strategy, against moto and a private PostgreSQL
 * cluster, using the rotation environment the integration suites use (scripts/lib/rotation-env.ts). Each secret is rotated ROTATIONS times in a row
 * (the alternating-users strategy creates its clone on the first rotation and alternates after that).
 */
export const ROTATIONS = 3

export interface RotationRun {
  readonly strategy: string
  readonly rotations: number
  readonly ok: boolean
  readonly wallMs: readonly number[]
  readonly medianWallMs: number
  /** Median per step over the rotations, summed over retries. */
  readonly stepsMedianMs: readonly { readonly step: string; readonly ms: number }[]
}

export type RotationResult =
  { readonly runs: readonly RotationRun[]; readonly setupMs: number } | { readonly notMeasured: string }

async function rotationsOf(env: RotationEnv, strategy: string, target: RotationTarget): Promise<RotationRun> {
  const run = makeHandler(env, [target])
  const reports: LocalRotationReport[] = []
  for (let i = 0; i < ROTATIONS; i++) {
    reports.push(
      await rotateLikeSecretsManager({
        endpoint: env.moto.endpoint,
        secretId: target.secretId,
        runStep: run,
      }),
    )
  }
  const steps = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'].map((step) => ({
    step,
    ms: median(
      reports.map((r) => r.attempts.filter((a) => a.step === step).reduce((sum, a) => sum + a.durationMs, 0)),
    ),
  }))
  const wallMs = reports.map((r) => r.durationMs)
  return {
    strategy,
    rotations: reports.length,
    ok: reports.every((r) => r.ok),
    wallMs,
    medianWallMs: median(wallMs),
    stepsMedianMs: steps,
  }
}

export async function measureRotation(log: (line: string) => void): Promise<RotationResult> {
  const t0 = Date.now()
  let env: RotationEnv
  try {
    env = await startRotationEnv()
  } catch (err) {
    const reason = `the rotation environment (moto + PostgreSQL) did not start: ${err instanceof Error ? (err.message.split('\n')[0] ?? err.name) : String(err)}`
    log(`  not measured: ${reason}`)
    return { notMeasured: reason }
  }
  try {
    const setupMs = Date.now() - t0
    const runs: RotationRun[] = []

    const apiKey = await env.sm.send(
      new CreateSecretCommand({
        Name: 'secret-broker/bench/api-key',
        SecretString: JSON.stringify({ username: 'billing_api', password: 'initial-value-0000000000000000' }),
      }),
    )
    runs.push(
      await rotationsOf(
        env,
        'random',
        aTarget(apiKey.ARN ?? 'secret-broker/bench/api-key', { strategy: 'random' }),
      ),
    )

    const single = await createPgSecret(env)
    runs.push(await rotationsOf(env, 'postgres-single-user', aTarget(single.name)))

    const master = await createPgSecret(env, { username: 'bench_rotation_admin', createRole: true })
    const reporting = await createPgSecret(env)
    await env.pg.query(`GRANT "${reporting.value.username}" TO bench_rotation_admin WITH ADMIN OPTION`)
    runs.push(
      await rotationsOf(
        env,
        'postgres-alternating-users',
        aTarget(reporting.name, { strategy: 'postgres-alternating-users', masterSecretId: master.name }),
      ),
    )

    for (const r of runs) {
      log(
        `  ${r.strategy.padEnd(28)} ${r.ok ? 'rotated' : 'FAILED '} ×${r.rotations}  median ${r.medianWallMs.toFixed(0)} ms  (${r.stepsMedianMs.map((s) => `${s.step} ${s.ms.toFixed(0)}`).join(', ')})`,
      )
    }
    return { runs, setupMs }
  } catch (err) {
    const reason = `a rotation failed to run: ${err instanceof Error ? (err.message.split('\n')[0] ?? err.name) : String(err)}`
    log(`  not measured: ${reason}`)
    return { notMeasured: reason }
  } finally {
    await env.stop()
  }
}
