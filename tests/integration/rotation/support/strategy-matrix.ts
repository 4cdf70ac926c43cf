/* eslint-disable jest/no-export -- a shared suite: describeStrategyMatrix declares its tests in the file that calls it */
import { freePort } from '../../../../scripts/lib/ports'
import type { LogHit } from '../../../../scripts/lib/log-scan'
import { rotateLikeSecretsManager, RotationInProgressError } from '../../../../scripts/lib/local-rotation'
import {
  allValues,
  currentOrPendingWorks,
  EXCLUDE,
  holderOf,
  makeHandler,
  stagesOf,
  valueAt,
  type RotationBase,
} from '../../../../scripts/lib/rotation-env'
import type { RotationStrategyKind } from '../../../../src/contract/rotation-strategies'
import {
  ROTATION_STEPS,
  type EngineClients,
  type RotationEvent,
  type RotationFunction,
  type RotationTarget,
} from '../../../../src/rotation'

/**
 * The test matrix every strategy with an external system passes (PostgreSQL's, in
 * single-user.test.ts and alternating-users.test.ts, made generic): a rotation end to end; every step run
 * twice with the same token; a crash after each step, then the retry, with AWSCURRENT or AWSPENDING working
 * after every step; a second rotation refused while one is pending; a wrong master; the server down during
 * setSecret with AWSCURRENT still working; a password with every character the exclusion list allows.
 * After every test, the server's records are scanned for every secret of every version the test made, and
 * the rotation's own log for the suite's canary. A new strategy copies this file's use in its test.
 */
export type SecretValueOf = object

export interface StrategyKit<V extends SecretValueOf> {
  readonly strategy: RotationStrategyKind
  env(): RotationBase
  /** A fresh secret whose account, user or key really exists. */
  newSecret(): Promise<{ name: string; arn: string; value: V }>
  target(secretName: string, over?: Partial<RotationTarget>): RotationTarget
  /** The rotation's engines; `closedPort`/`down`: logins go to a port nobody listens on. */
  engines(faults?: { down: boolean; closedPort: number }): Partial<EngineClients>
  /** Are these credentials accepted by the server now? */
  works(value: V): Promise<boolean>
  /** The secrets a value holds (a password, a secret access key), to scan for. */
  secretsOf(value: V): string[]
  /** Where `secret` shows in the server's records; empty when nowhere. */
  scan(secret: string): Promise<LogHit[]>
  /**
   * A target whose master (or IAM credentials) cannot do the change, and how the step must fail; absent
   * for a strategy with no master (single users log in as themselves).
   */
  wrongMaster?(secretName: string): Promise<{
    target: RotationTarget
    engines?: Partial<EngineClients>
    step: 'createSecret' | 'setSecret'
    error: string | RegExp
  }>
  /** How the failure with the server down reads (the operation and the socket code). */
  downError: (value: V) => string | RegExp
  /** The step that talks to the server first, where "down" is felt (setSecret; createSecret for IAM). */
  readonly downStep: 'createSecret' | 'setSecret'
  /** False when the server generates the secret (IAM): the character test does not apply. */
  readonly generatesPasswords: boolean
}

/** Every printable ASCII character GetRandomPassword could return with this exclusion list. */
export function allowedCharacters(exclude: string): string {
  let out = ''
  for (let c = 33; c <= 126; c++) if (!exclude.includes(String.fromCharCode(c))) out += String.fromCharCode(c)
  return out
}

export function describeStrategyMatrix<V extends SecretValueOf>(kit: StrategyKit<V>): void {
  describe(`${kit.strategy}: the rotation test matrix`, () => {
    const made: string[] = []
    const secret = async (): Promise<{ name: string; arn: string; value: V }> => {
      const s = await kit.newSecret()
      made.push(s.arn)
      return s
    }
    const handler = (target: RotationTarget, engines = kit.engines()): RotationFunction =>
      makeHandler(kit.env(), [target], { engines })
    const rotate = (name: string, runStep: (e: RotationEvent) => Promise<unknown>, extra = {}) =>
      rotateLikeSecretsManager({ endpoint: kit.env().moto.endpoint, secretId: name, runStep, ...extra })
    const value = async (arn: string, stage: string): Promise<V> =>
      (await valueAt(kit.env(), arn, stage)) as unknown as V
    const invariant = (arn: string): Promise<boolean> =>
      currentOrPendingWorks<V>(kit.env(), arn, (v) => kit.works(v))

    /**
     * Run after every test's own assertions: every secret of every version this test made, in whatever the
     * server recorded: nowhere. The canary too: every generated password starts with it, and it survives
     * the escaping a statement would give a password with quotes or backslashes (which a search for the
     * whole password would miss).
     */
    async function expectNoLeaks(): Promise<void> {
      expect(await kit.scan(kit.env().canary)).toEqual([])
      for (const arn of made.splice(0))
        for (const v of await allValues(kit.env(), arn))
          for (const s of kit.secretsOf(v as V)) expect(await kit.scan(s)).toEqual([])
      expect(JSON.stringify(kit.env().log.lines)).not.toContain(kit.env().canary)
    }

    it('rotates: AWSCURRENT moves to the new version, which works; AWSPREVIOUS holds the old one', async () => {
      const s = await secret()
      const report = await rotate(s.name, handler(kit.target(s.name)))
      expect(report).toMatchObject({ ok: true, newVersionId: report.token })
      const stages = await stagesOf(kit.env(), s.arn)
      expect(holderOf(stages, 'AWSPREVIOUS')).toEqual([report.oldVersionId])
      expect(holderOf(stages, 'AWSPENDING')).toEqual([])
      expect(await kit.works(await value(s.arn, 'AWSCURRENT'))).toBe(true)
      await expectNoLeaks()
    })

    it('reaches the same end state when every step runs twice with the same token', async () => {
      const s = await secret()
      const run = handler(kit.target(s.name))
      const details: string[] = []
      const twice = async (e: RotationEvent): Promise<unknown> => {
        await run(e)
        const again = await run(e)
        details.push(`${e.Step}: ${again.outcome}`)
        return again
      }
      const report = await rotate(s.name, twice)
      expect(report.ok).toBe(true)
      expect(details).toEqual([
        'createSecret: unchanged',
        'setSecret: unchanged',
        'testSecret: unchanged',
        'finishSecret: skipped',
      ])
      const stages = await stagesOf(kit.env(), s.arn)
      expect(Object.keys(stages)).toHaveLength(2)
      expect(holderOf(stages, 'AWSPENDING')).toEqual([])
      expect(await kit.works(await value(s.arn, 'AWSCURRENT'))).toBe(true)
      await expectNoLeaks()
    })

    it.each([1, 2, 3])(
      'completes after a crash after step %i and a retry, with AWSCURRENT or AWSPENDING working after every step',
      async (failAfter) => {
        const s = await secret()
        await rotate(s.name, handler(kit.target(s.name))) // rotated once: the steady state
        const run = handler(kit.target(s.name))
        const checks: boolean[] = []
        let calls = 0
        const failing = async (e: RotationEvent): Promise<unknown> => {
          if (++calls > failAfter) throw new Error('injected: the invocation died')
          const out = await run(e)
          checks.push(await invariant(s.arn))
          return out
        }
        const first = await rotate(s.name, failing, { maxAttemptsPerStep: 1 })
        checks.push(await invariant(s.arn))
        const checked = async (e: RotationEvent): Promise<unknown> => {
          const out = await run(e)
          checks.push(await invariant(s.arn))
          return out
        }
        const retry = await rotate(s.name, checked, { token: first.token })
        expect(first).toMatchObject({ ok: false, failedStep: ROTATION_STEPS[failAfter] })
        expect(retry).toMatchObject({ ok: true, newVersionId: first.token })
        expect(checks).toHaveLength(failAfter + 1 + 4)
        expect(checks).not.toContain(false)
        await expectNoLeaks()
      },
    )

    it('refuses a second rotation while one is pending, and resumes the first', async () => {
      const s = await secret()
      const run = handler(kit.target(s.name))
      let calls = 0
      const stopsAfterSet = async (e: RotationEvent): Promise<unknown> => {
        if (++calls > 2) throw new Error('injected')
        return run(e)
      }
      const first = await rotate(s.name, stopsAfterSet, { maxAttemptsPerStep: 1 })
      await expect(rotate(s.name, run)).rejects.toBeInstanceOf(RotationInProgressError)
      expect(holderOf(await stagesOf(kit.env(), s.arn), 'AWSPENDING')).toEqual([first.token])
      expect(await invariant(s.arn)).toBe(true)
      const resumed = await rotate(s.name, run, { token: first.token })
      expect(resumed.ok).toBe(true)
      expect(await kit.works(await value(s.arn, 'AWSCURRENT'))).toBe(true)
      await expectNoLeaks()
    })

    const wrongMaster = kit.wrongMaster
    if (wrongMaster !== undefined)
      it('fails, naming the cause, with a master that cannot make the change; AWSCURRENT keeps working', async () => {
        const s = await secret()
        const wrong = await wrongMaster(s.name)
        const report = await rotate(s.name, handler(wrong.target, wrong.engines ?? kit.engines()))
        expect(report).toMatchObject({ ok: false, failedStep: wrong.step })
        const error = report.attempts.at(-1)?.error ?? ''
        if (typeof wrong.error === 'string') expect(error).toBe(wrong.error)
        else expect(error).toMatch(wrong.error)
        expect(holderOf(await stagesOf(kit.env(), s.arn), 'AWSCURRENT')).toEqual([report.oldVersionId])
        expect(await kit.works(s.value)).toBe(true)
        await expectNoLeaks()
      })

    it('keeps AWSCURRENT working when the server is down, and the retry completes once it is back', async () => {
      const s = await secret()
      const faults = { down: true, closedPort: await freePort() }
      const run = handler(kit.target(s.name), kit.engines(faults))
      const failed = await rotate(s.name, run)
      expect(failed).toMatchObject({ ok: false, failedStep: kit.downStep })
      const error = failed.attempts.at(-1)?.error ?? ''
      const expected = kit.downError(s.value)
      if (typeof expected === 'string') expect(error).toBe(expected)
      else expect(error).toMatch(expected)
      expect(holderOf(await stagesOf(kit.env(), s.arn), 'AWSCURRENT')).toEqual([failed.oldVersionId])
      expect(await kit.works(await value(s.arn, 'AWSCURRENT'))).toBe(true)
      faults.down = false
      const retry = await rotate(s.name, run, { token: failed.token })
      expect(retry.ok).toBe(true)
      expect(await kit.works(await value(s.arn, 'AWSCURRENT'))).toBe(true)
      await expectNoLeaks()
    })

    if (kit.generatesPasswords)
      it.each([
        ['the default exclusion list', EXCLUDE],
        ['an empty exclusion list', ''],
      ])('sets a password with every character %s allows', async (_what, exclude) => {
        const s = await secret()
        const password = `${kit.env().canary}${allowedCharacters(exclude)}`
        const run = makeHandler(kit.env(), [kit.target(s.name, { excludeCharacters: exclude })], {
          engines: kit.engines(),
          passwords: { generate: () => Promise.resolve(password) },
        })
        const report = await rotate(s.name, run)
        expect(report.ok).toBe(true)
        const current = await value(s.arn, 'AWSCURRENT')
        expect((current as Record<string, unknown>)['password']).toBe(password)
        expect(await kit.works(current)).toBe(true)
        await expectNoLeaks()
      })
  })
}
