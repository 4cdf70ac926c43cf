import type { RegisterItem } from '../../../src/contract/register'
import { RegisterFailure } from '../../../src/lib/register'
import {
  createRegisterWatch,
  createSecretCache,
  decideInvalidations,
  type FetchedSecret,
  type RegisterSource,
  type SecretSource,
} from '../../../src/lib/secrets'
import { FakeClock } from '../../support/fake-clock'

/**
 * The serving cache with the invalidation register: a move the register records reaches the next request
 * after the poll interval (no timers), a named version is read without DescribeSecret, a register that fails
 * makes the cache fall back to the shorter TTL, and a caller that shows a newer version makes it revalidate.
 */
const ID = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:orders/db-AbCdEf'
const NAME = 'orders/db'
const keyOf = (id: string) => (id === ID ? NAME : id)

class ScriptedSource implements SecretSource {
  version = 'v1'
  calls = { describe: 0, get: 0 }
  gate: Promise<void> | undefined
  async currentVersionId(): Promise<string> {
    this.calls.describe += 1
    const version = this.version
    await this.gate
    return version
  }
  async getCurrent(): Promise<FetchedSecret> {
    this.calls.get += 1
    const version = this.version
    await this.gate
    return {
      versionId: version,
      createdDate: undefined,
      secretString: `{"v":"${version}"}`,
      secretBinary: undefined,
    }
  }
}

/** The register as the HTTP functions see it: a generation and items, with call counts and failures. */
class FakeRegister implements RegisterSource {
  generation = 0
  items = new Map<string, RegisterItem>()
  calls = { generation: 0, items: 0 }
  failure: RegisterFailure | undefined
  async readGeneration(): Promise<number> {
    this.calls.generation += 1
    await Promise.resolve()
    if (this.failure) throw this.failure
    return this.generation
  }
  async readItems(names: readonly string[]): Promise<ReadonlyMap<string, RegisterItem>> {
    this.calls.items += 1
    await Promise.resolve()
    if (this.failure) throw this.failure
    return new Map([...this.items].filter(([k]) => names.includes(k)))
  }
  /** What the invalidation function does for one event. */
  record(name: string, event: RegisterItem['lastEvent'], versionId?: string): void {
    const prev = this.items.get(name)
    this.items.set(name, {
      rev: (prev?.rev ?? 0) + 1,
      versionId: versionId ?? prev?.versionId,
      movedAt: versionId === undefined ? prev?.movedAt : 1,
      lastEvent: event,
      changedAt: 1,
    })
    this.generation += 1
  }
}

function setup(opts: { ttlMs?: number; fallbackTtlMs?: number; pollMs?: number } = {}) {
  const clock = new FakeClock()
  const source = new ScriptedSource()
  const register = new FakeRegister()
  const watch = createRegisterWatch({
    source: register,
    pollMs: opts.pollMs ?? 2000,
    keyOf,
    budgetMs: 1000,
    failureBackoffMs: 5000,
    random: () => 1,
  })
  const cache = createSecretCache({
    source,
    clock,
    ttlMs: opts.ttlMs ?? 900_000,
    maxEntries: 10,
    maxStaleMs: 900_000,
    forceRefreshMinIntervalMs: 10_000,
    maxValueAgeMs: 3_600_000,
    register: watch,
    fallbackTtlMs: opts.fallbackTtlMs ?? 300_000,
  })
  return { clock, source, register, cache, watch }
}

describe('decideInvalidations', () => {
  const held = [{ secretId: ID, versionId: 'v1', checkedRev: 3 }]
  const item = (over: Partial<RegisterItem>): Map<string, RegisterItem> =>
    new Map([
      [
        NAME,
        { rev: 4, versionId: 'v2', movedAt: 1, lastEvent: 'Secret Label Updated', changedAt: 1, ...over },
      ],
    ])

  it('revalidates a secret whose AWSCURRENT moved to another version, with that version as a hint', () => {
    expect(decideInvalidations(held, item({}), keyOf)).toEqual([
      { secretId: ID, rev: 4, revalidate: true, hint: 'v2' },
    ])
  })
  it('only records the revision when the register names the version held', () => {
    expect(decideInvalidations(held, item({ versionId: 'v1' }), keyOf)).toEqual([
      { secretId: ID, rev: 4, revalidate: false, hint: 'v1' },
    ])
  })
  it('revalidates without a hint after a RotationSucceeded (it names no version)', () => {
    expect(
      decideInvalidations(held, item({ lastEvent: 'RotationSucceeded', versionId: 'v1' }), keyOf),
    ).toEqual([{ secretId: ID, rev: 4, revalidate: true, hint: undefined }])
  })
  it('skips items already acted on, and secrets the register knows nothing of', () => {
    expect(decideInvalidations(held, item({ rev: 3 }), keyOf)).toEqual([])
    expect(decideInvalidations(held, new Map(), keyOf)).toEqual([])
  })
})

describe('createSecretCache with the invalidation register', () => {
  it('does not make a cold read wait for the register (one round trip), and compares it at the next sync', async () => {
    const { clock, source, register, cache } = setup()
    let open!: () => void
    source.gate = new Promise((r) => (open = r))
    const cold = cache.get(ID)
    // Secrets Manager has been asked before the register answered.
    while (source.calls.get < 1) await Promise.resolve()
    expect(register.calls.generation).toBe(1)
    // AWSCURRENT moves while that read is under way, after Secrets Manager answered v1.
    source.version = 'v2'
    register.record(NAME, 'Secret Label Updated', 'v2')
    open()
    expect((await cold).secret.versionId).toBe('v1')
    source.gate = undefined
    clock.advance(2000)
    expect(await cache.get(ID)).toMatchObject({ invalidated: true, secret: { versionId: 'v2' } })
  })

  it('reads only the generation while nothing moves, at most once per poll interval', async () => {
    const { clock, register, cache } = setup()
    await cache.get(ID)
    for (let i = 0; i < 10; i++) {
      clock.advance(500)
      expect((await cache.get(ID)).state).toBe('hit')
    }
    // 5 s of requests every 500 ms: a read at 0, 2, 4 s. The first read of the value ran beside the first
    // register read, so the next sync compares its item once (a value read while the register was read).
    expect(register.calls).toEqual({ generation: 3, items: 1 })
  })

  it('serves the moved-to version at the first request after the poll interval, reading it without DescribeSecret', async () => {
    const { clock, source, register, cache } = setup()
    await cache.get(ID)
    source.version = 'v2'
    register.record(NAME, 'Secret Label Updated', 'v2')
    clock.advance(1999)
    expect((await cache.get(ID)).secret.versionId).toBe('v1')
    clock.advance(1)
    const moved = await cache.get(ID)
    expect(moved).toMatchObject({ state: 'miss', invalidated: true, secret: { versionId: 'v2' } })
    expect(moved.upstream.map((c) => c.operation)).toEqual(['GetSecretValue'])
    expect(moved.register).toMatchObject({
      state: 'moved',
      calls: [{ operation: 'GetItem' }, { operation: 'BatchGetItem' }],
    })
    expect(source.calls).toEqual({ describe: 0, get: 2 })
    expect((await cache.get(ID)).state).toBe('hit')
  })

  it('revalidates with DescribeSecret after a RotationSucceeded, which names no version', async () => {
    const { clock, source, register, cache } = setup()
    await cache.get(ID)
    source.version = 'v2'
    register.record(NAME, 'RotationSucceeded')
    clock.advance(2000)
    const moved = await cache.get(ID)
    expect(moved.upstream.map((c) => c.operation)).toEqual(['DescribeSecret', 'GetSecretValue'])
    expect(moved.secret.versionId).toBe('v2')
  })

  it('calls nothing upstream when the register names the version held (it read it first)', async () => {
    const { clock, source, register, cache } = setup()
    source.version = 'v2'
    await cache.get(ID)
    register.record(NAME, 'Secret Label Updated', 'v2')
    clock.advance(2000)
    expect((await cache.get(ID)).state).toBe('hit')
    expect(source.calls).toEqual({ describe: 0, get: 1 })
    // Another secret moving later does not make it act on this item again.
    register.record('billing/key', 'Secret Label Updated', 'x')
    clock.advance(2000)
    expect((await cache.get(ID)).state).toBe('hit')
    expect(source.calls).toEqual({ describe: 0, get: 1 })
  })

  it('lets concurrent requests share one sync; only the request that made the calls reports them', async () => {
    const { clock, register, cache } = setup()
    await cache.get(ID)
    register.record(NAME, 'Secret Label Updated', 'v1')
    clock.advance(2000)
    const results = await Promise.all([cache.get(ID), cache.get(ID), cache.get(ID)])
    expect(register.calls).toEqual({ generation: 2, items: 1 })
    expect(results.filter((r) => r.register !== undefined)).toHaveLength(1)
  })

  it('falls back to the shorter TTL while the register fails, says so, and backs off before asking it again', async () => {
    const { clock, source, register, cache } = setup({ fallbackTtlMs: 300_000 })
    await cache.get(ID)
    clock.advance(2000)
    await cache.get(ID)
    register.failure = new RegisterFailure('throttled')
    clock.advance(297_000)
    const failed = await cache.get(ID)
    expect(failed).toMatchObject({
      state: 'hit',
      register: { state: 'throttled', calls: [{ failure: 'throttled' }] },
    })
    // Backing off: no register call for the next 5 s.
    clock.advance(1000)
    const expired = await cache.get(ID)
    expect(expired).toMatchObject({ state: 'revalidated', register: undefined })
    // Reads at 0 s, 2 s (both answered) and 299 s (throttled); none during the back-off.
    expect(register.calls.generation).toBe(3)
    expect(source.calls).toEqual({ describe: 1, get: 1 })
    // The register answers again: the long TTL is back (no revalidation at the next 300 s).
    register.failure = undefined
    clock.advance(5000)
    expect((await cache.get(ID)).register?.state).toBe('unchanged')
    clock.advance(300_000)
    expect((await cache.get(ID)).state).toBe('hit')
    expect(source.calls).toEqual({ describe: 1, get: 1 })
  })

  it('counts an unreachable register apart from a throttled one', async () => {
    const { register, cache } = setup()
    register.failure = new RegisterFailure('unavailable')
    expect((await cache.get(ID)).register).toMatchObject({ state: 'unavailable' })
    register.failure = undefined
  })

  it('without the register (or on the long TTL while it is healthy) keeps a value for the whole TTL', async () => {
    const { clock, source, cache } = setup({ ttlMs: 900_000 })
    await cache.get(ID)
    clock.advance(899_000)
    expect((await cache.get(ID)).state).toBe('hit')
    clock.advance(1000)
    expect((await cache.get(ID)).state).toBe('revalidated')
    expect(source.calls).toEqual({ describe: 1, get: 1 })
  })

  it('has the next sync compare every held item again when a value was read while the register moved', async () => {
    const { clock, source, register, cache } = setup()
    const BILLING = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:billing/key-GhIjKl'
    await cache.get(BILLING)
    // A read of ID under way (ID is not held yet): Secrets Manager answered v1 just before AWSCURRENT moved.
    let open!: () => void
    source.gate = new Promise((r) => (open = r))
    const pending = cache.get(ID)
    while (source.calls.get < 2) await Promise.resolve()
    source.version = 'v2'
    register.record(NAME, 'Secret Label Updated', 'v2')
    // Another request syncs meanwhile: the generation moved, but ID was not held, so nothing compared it.
    clock.advance(2000)
    const other = cache.get(BILLING)
    await Promise.resolve()
    open()
    expect((await pending).secret.versionId).toBe('v1')
    await other
    source.gate = undefined
    clock.advance(2000)
    const next = await cache.get(ID)
    expect(next).toMatchObject({ invalidated: true, secret: { versionId: 'v2' } })
  })
})

describe('a value read while the register moved (the sync could not compare it)', () => {
  it('is compared at the next sync when the read ends after the sync was applied', async () => {
    const { clock, source, register, cache } = setup()
    const BILLING = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:billing/key-GhIjKl'
    await cache.get(BILLING)
    let open!: () => void
    source.gate = new Promise((r) => (open = r))
    const pending = cache.get(ID)
    while (source.calls.get < 2) await Promise.resolve()
    source.version = 'v2'
    register.record(NAME, 'Secret Label Updated', 'v2')
    clock.advance(2000)
    // The other request's sync completes (and is applied) while ID's read is still under way.
    source.gate = undefined
    await cache.get(BILLING)
    open()
    expect((await pending).secret.versionId).toBe('v1')
    clock.advance(2000)
    expect(await cache.get(ID)).toMatchObject({ invalidated: true, secret: { versionId: 'v2' } })
  })
})

describe('never backwards (If-None-Match names a version the container does not hold)', () => {
  it('revalidates first, so the caller is answered with the version it already has', async () => {
    const { source, cache } = setup()
    await cache.get(ID)
    source.version = 'v2'
    const r = await cache.get(ID, { clientVersions: ['v2'] })
    expect(r).toMatchObject({ behind: true, revalidation: 'done', secret: { versionId: 'v2' } })
    expect(source.calls).toEqual({ describe: 1, get: 2 })
  })

  it('does not revalidate for the version held, nor for one this container superseded', async () => {
    const { source, cache } = setup()
    await cache.get(ID, { forceRevalidate: true })
    source.version = 'v2'
    await cache.get(ID, { clientVersions: ['v2'] })
    const calls = { ...source.calls }
    expect((await cache.get(ID, { clientVersions: ['v2'] })).behind).toBe(false)
    expect((await cache.get(ID, { clientVersions: ['v1'] })).behind).toBe(false)
    expect(source.calls).toEqual(calls)
  })

  it('is bounded by the forced-refresh rate limit', async () => {
    const { clock, source, cache } = setup()
    await cache.get(ID)
    expect((await cache.get(ID, { clientVersions: ['x1'] })).revalidation).toBe('done')
    clock.advance(9_999)
    const limited = await cache.get(ID, { clientVersions: ['x2'] })
    expect(limited).toMatchObject({ behind: true, revalidation: 'rate-limited', state: 'hit' })
    expect(source.calls).toEqual({ describe: 1, get: 1 })
    clock.advance(1)
    expect((await cache.get(ID, { clientVersions: ['x2'] })).revalidation).toBe('done')
  })
})

describe('never backwards, for a caller that is behind rather than ahead', () => {
  it('costs one revalidation for a version older than the container ever held, then none', async () => {
    const { clock, source, cache } = setup()
    source.version = 'v2'
    await cache.get(ID)
    // A client still holding v1 (from before this container started) revalidates with If-None-Match: "v1".
    expect((await cache.get(ID, { clientVersions: ['v1'] })).revalidation).toBe('done')
    clock.advance(20_000)
    expect((await cache.get(ID, { clientVersions: ['v1'] })).behind).toBe(false)
    expect(source.calls).toEqual({ describe: 1, get: 1 })
  })
})

describe('a revalidation under way when the register says the secret moved', () => {
  it('does not lose the move when DescribeSecret answered before it', async () => {
    const { clock, source, register, cache } = setup({ ttlMs: 10_000 })
    await cache.get(ID)
    clock.advance(2000)
    await cache.get(ID) // the cold read's item compare
    // The entry expires; its DescribeSecret is asked, and answers v1, just before AWSCURRENT moves.
    clock.advance(10_000)
    let open!: () => void
    source.gate = new Promise((r) => (open = r))
    const revalidating = cache.get(ID)
    while (source.calls.describe < 1) await Promise.resolve()
    source.version = 'v2'
    register.record(NAME, 'Secret Label Updated', 'v2')
    // Another request's sync learns of the move and expires the entry being revalidated, before that
    // revalidation's answer (v1) arrives.
    const itemsRead = register.calls.items
    clock.advance(2000)
    const other = cache.get('arn:aws:secretsmanager:us-east-1:123456789012:secret:billing/key-GhIjKl')
    for (let i = 0; i < 1000 && register.calls.items === itemsRead; i++) await Promise.resolve()
    expect(register.calls.items).toBe(itemsRead + 1)
    for (let i = 0; i < 10; i++) await Promise.resolve()
    open()
    expect((await revalidating).state).toBe('revalidated')
    await other
    source.gate = undefined
    clock.advance(2000)
    expect(await cache.get(ID)).toMatchObject({ invalidated: true, secret: { versionId: 'v2' } })
  })
})
