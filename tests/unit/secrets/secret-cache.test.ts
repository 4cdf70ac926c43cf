import {
  createSecretCache,
  UpstreamPermanentError,
  UpstreamTransientError,
  type FetchedSecret,
  type SecretSource,
} from '../../../src/lib/secrets'
import { FakeClock } from '../../support/fake-clock'

const ID = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:orders/db-AbCdEf'

/** A Secrets Manager stand-in with a current version the test controls, counting every call. */
class ScriptedSource implements SecretSource {
  version = 'v1'
  calls = { describe: 0, get: 0 }
  failure: Error | undefined
  gate: Promise<void> | undefined
  async currentVersionId(): Promise<string> {
    this.calls.describe += 1
    await this.gate
    if (this.failure) throw this.failure
    return this.version
  }
  async getCurrent(): Promise<FetchedSecret> {
    this.calls.get += 1
    await this.gate
    if (this.failure) throw this.failure
    return {
      versionId: this.version,
      createdDate: new Date(0),
      secretString: `{"password":"pw-${this.version}"}`,
      secretBinary: undefined,
    }
  }
}

function setup(overrides: Partial<Parameters<typeof createSecretCache>[0]> = {}) {
  const clock = new FakeClock()
  const source = new ScriptedSource()
  const cache = createSecretCache({
    source,
    clock,
    ttlMs: 300_000,
    maxEntries: 10,
    maxStaleMs: 900_000,
    forceRefreshMinIntervalMs: 10_000,
    maxValueAgeMs: 3_600_000,
    ...overrides,
  })
  return { clock, source, cache }
}

describe('createSecretCache', () => {
  it('fetches once on a miss, then serves hits without calling upstream', async () => {
    const { source, cache } = setup()
    expect((await cache.get(ID)).state).toBe('miss')
    expect((await cache.get(ID)).state).toBe('hit')
    expect(source.calls).toEqual({ describe: 0, get: 1 })
  })

  it('revalidates with one DescribeSecret at expiry and keeps the value when the version is unchanged', async () => {
    const { clock, source, cache } = setup()
    await cache.get(ID)
    clock.advance(299_999)
    expect((await cache.get(ID)).state).toBe('hit')
    clock.advance(1)
    const r = await cache.get(ID)
    expect(r.state).toBe('revalidated')
    expect(source.calls).toEqual({ describe: 1, get: 1 })
    clock.advance(299_999)
    expect((await cache.get(ID)).state).toBe('hit')
  })

  it('re-reads the value only when AWSCURRENT moved to a new version', async () => {
    const { clock, source, cache } = setup()
    await cache.get(ID)
    source.version = 'v2'
    clock.advance(300_000)
    const r = await cache.get(ID)
    expect(r).toMatchObject({ state: 'miss', secret: { versionId: 'v2' } })
    expect(source.calls).toEqual({ describe: 1, get: 2 })
  })

  it('makes exactly one upstream call for 100 concurrent cold requests', async () => {
    const { source, cache } = setup()
    let open!: () => void
    source.gate = new Promise((r) => (open = r))
    const all = Promise.all(Array.from({ length: 100 }, () => cache.get(ID)))
    open()
    const results = await all
    expect(source.calls.get).toBe(1)
    expect(new Set(results.map((r) => r.secret.versionId))).toEqual(new Set(['v1']))
  })

  it('forces a revalidation on request, at most once per interval per secret', async () => {
    const { clock, source, cache } = setup()
    await cache.get(ID)
    source.version = 'v2'
    const forced = await cache.get(ID, { forceRevalidate: true })
    expect(forced).toMatchObject({ state: 'miss', forceLimited: false, secret: { versionId: 'v2' } })
    source.version = 'v3'
    clock.advance(9_999)
    const limited = await cache.get(ID, { forceRevalidate: true })
    expect(limited).toMatchObject({ state: 'hit', forceLimited: true, secret: { versionId: 'v2' } })
    clock.advance(1)
    expect(await cache.get(ID, { forceRevalidate: true })).toMatchObject({
      forceLimited: false,
      secret: { versionId: 'v3' },
    })
    expect(source.calls.describe).toBe(2)
  })

  it('serves the last good value, flagged stale, on a transient failure within the staleness limit', async () => {
    const { clock, source, cache } = setup()
    await cache.get(ID)
    source.failure = new UpstreamTransientError('throttled')
    clock.advance(300_000 + 60_000)
    const r = await cache.get(ID)
    expect(r).toMatchObject({ state: 'stale', staleForMs: 60_000, secret: { versionId: 'v1' } })
  })

  it('backs off after a transient failure instead of asking upstream on every request', async () => {
    const { clock, source, cache } = setup({ failureBackoffMs: 5000 })
    await cache.get(ID)
    source.failure = new UpstreamTransientError('server-error')
    clock.advance(300_000)
    await cache.get(ID)
    await cache.get(ID)
    await cache.get(ID)
    expect(source.calls.describe).toBe(1)
    clock.advance(5000)
    await cache.get(ID)
    expect(source.calls.describe).toBe(2)
  })

  it('stops serving stale past expiry + maxStale and propagates the failure', async () => {
    const { clock, source, cache } = setup()
    await cache.get(ID)
    source.failure = new UpstreamTransientError('timeout')
    clock.advance(300_000 + 900_001)
    await expect(cache.get(ID)).rejects.toBeInstanceOf(UpstreamTransientError)
  })

  it('recovers when the fault clears, and serves no stale value after a successful revalidation', async () => {
    const { clock, source, cache } = setup({ failureBackoffMs: 1000 })
    await cache.get(ID)
    source.failure = new UpstreamTransientError('server-error')
    clock.advance(300_000)
    expect((await cache.get(ID)).state).toBe('stale')
    source.failure = undefined
    source.version = 'v2'
    clock.advance(1000)
    expect(await cache.get(ID)).toMatchObject({ state: 'miss', secret: { versionId: 'v2' } })
    expect((await cache.get(ID)).state).toBe('hit')
  })

  it('propagates a transient failure when nothing is cached', async () => {
    const { source, cache } = setup()
    source.failure = new UpstreamTransientError('throttled')
    await expect(cache.get(ID)).rejects.toBeInstanceOf(UpstreamTransientError)
  })

  it('evicts the entry on a permanent failure and never covers it with the cached value', async () => {
    const { clock, source, cache } = setup()
    await cache.get(ID)
    source.failure = new UpstreamPermanentError('access-denied')
    clock.advance(300_000)
    await expect(cache.get(ID)).rejects.toBeInstanceOf(UpstreamPermanentError)
    expect(cache.size).toBe(0)
    source.failure = undefined
    expect((await cache.get(ID)).state).toBe('miss')
  })

  it('never caches failures', async () => {
    const { source, cache } = setup()
    source.failure = new UpstreamPermanentError('not-found')
    await expect(cache.get(ID)).rejects.toBeInstanceOf(UpstreamPermanentError)
    source.failure = undefined
    expect((await cache.get(ID)).state).toBe('miss')
    expect(source.calls.get).toBe(2)
  })

  it('is bounded: the least recently used secret is evicted past maxEntries', async () => {
    const { source, cache } = setup({ maxEntries: 3 })
    for (const id of ['a', 'b', 'c', 'd']) await cache.get(id)
    expect(cache.size).toBe(3)
    await cache.get('a')
    expect(source.calls.get).toBe(5)
  })

  it('with a TTL of 0 revalidates on every request', async () => {
    const { source, cache } = setup({ ttlMs: 0 })
    await cache.get(ID)
    await cache.get(ID)
    await cache.get(ID)
    expect(source.calls).toEqual({ describe: 2, get: 1 })
  })

  it('re-reads the value in full once it is older than maxValueAge, so revoked access is noticed', async () => {
    const { clock, source, cache } = setup({ maxValueAgeMs: 900_000 })
    await cache.get(ID) // GetSecretValue at t=0
    clock.advance(300_000)
    expect((await cache.get(ID)).state).toBe('revalidated') // DescribeSecret at 300 s
    clock.advance(300_000)
    expect((await cache.get(ID)).state).toBe('revalidated') // DescribeSecret at 600 s
    expect(source.calls).toEqual({ describe: 2, get: 1 })
    clock.advance(300_000)
    // 900 s after the last full read: GetSecretValue again, reported as a revalidation (same version).
    expect((await cache.get(ID)).state).toBe('revalidated')
    expect(source.calls).toEqual({ describe: 2, get: 2 })
    clock.advance(300_000)
    expect((await cache.get(ID)).state).toBe('revalidated')
    expect(source.calls).toEqual({ describe: 3, get: 2 })
  })

  it('drops the value when the periodic full read is refused (a Deny or a revoked KMS grant)', async () => {
    const { clock, source, cache } = setup({ maxValueAgeMs: 600_000 })
    await cache.get(ID)
    clock.advance(300_000)
    await cache.get(ID)
    clock.advance(300_000)
    // DescribeSecret would still succeed; only the full read sees the refusal.
    const realGet = source.getCurrent.bind(source)
    source.getCurrent = () => {
      source.calls.get += 1
      return Promise.reject(new UpstreamPermanentError('decryption-failure'))
    }
    await expect(cache.get(ID)).rejects.toMatchObject({ kind: 'decryption-failure' })
    expect(cache.size).toBe(0)
    source.getCurrent = realGet
  })

  it('gives every refresh one deadline for both of its upstream calls, then serves stale', async () => {
    const { clock, source, cache } = setup({ refreshBudgetMs: 50 })
    await cache.get(ID)
    clock.advance(300_000)
    const seen: (AbortSignal | undefined)[] = []
    source.currentVersionId = (_id?: string, signal?: AbortSignal) => {
      seen.push(signal)
      // A Secrets Manager that never answers: only the deadline ends the call.
      return new Promise<string>((_resolve, reject) =>
        signal?.addEventListener('abort', () => reject(new UpstreamTransientError('timeout'))),
      )
    }
    const r = await cache.get(ID)
    expect(r.state).toBe('stale')
    expect(seen).toHaveLength(1)
    expect(seen[0]?.aborted).toBe(true)
  })

  it('hands DescribeSecret and the GetSecretValue after it the same signal, and each refresh a fresh one', async () => {
    const { clock, source, cache } = setup({ refreshBudgetMs: 60_000 })
    const signals: { call: string; signal: AbortSignal | undefined }[] = []
    const describe = source.currentVersionId.bind(source)
    const get = source.getCurrent.bind(source)
    source.currentVersionId = (_id?: string, signal?: AbortSignal) => {
      signals.push({ call: 'describe', signal })
      return describe()
    }
    source.getCurrent = (_id?: string, signal?: AbortSignal) => {
      signals.push({ call: 'get', signal })
      return get()
    }
    await cache.get(ID)
    source.version = 'v2'
    clock.advance(300_000)
    await cache.get(ID)
    expect(signals.map((s) => s.call)).toEqual(['get', 'describe', 'get'])
    expect(signals[1]?.signal).toBeDefined()
    expect(signals[2]?.signal).toBe(signals[1]?.signal)
    expect(signals[0]?.signal).not.toBe(signals[1]?.signal)
    expect(signals.every((s) => s.signal?.aborted === false)).toBe(true)
  })
})
