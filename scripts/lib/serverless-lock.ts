import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { REPO_ROOT } from '../../infra/stage-declarations'

/**
 * Serverless builds every deployment artifact in `.serverless/` of the service folder, whatever `--package`
 * says, and empties that folder first: two `sls package`/`sls deploy` runs of one checkout at the same time
 * delete each other's zips (the test suites run two at a time). Every command of ours that packages holds
 * this lock, a directory created atomically, for the length of the Serverless run. A lock left by a process
 * that died is taken over; a waiter gives up after `LOCK_WAIT_MS` with a message naming the holder.
 */
export const LOCK_DIR = join(REPO_ROOT, '.tmp', 'serverless-package.lock')
export const LOCK_WAIT_MS = 15 * 60_000
const POLL_MS = 200
/** How long a lock directory without its owner file is taken to be mid-creation rather than abandoned. */
const CREATING_GRACE_MS = 10_000

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Where the lock lives and how long to wait for it (tests use their own). */
export interface LockOptions {
  readonly dir?: string
  readonly waitMs?: number
}

/** Take the lock if free (or abandoned); the holder's pid when it is held. */
function tryTake(lockDir: string): { taken: true } | { taken: false; holder: string } {
  const ownerFile = join(lockDir, 'pid')
  try {
    mkdirSync(dirname(lockDir), { recursive: true })
    mkdirSync(lockDir)
    writeFileSync(ownerFile, String(process.pid))
    return { taken: true }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
  }
  let holder: string
  try {
    holder = readFileSync(ownerFile, 'utf8').trim()
  } catch {
    // Being created right now, or left half-made by a process that died between the two calls above.
    let age = 0
    try {
      age = Date.now() - statSync(lockDir).mtimeMs
    } catch {
      return tryTake(lockDir) // released meanwhile
    }
    if (age < CREATING_GRACE_MS) return { taken: false, holder: 'a process creating it' }
    rmSync(lockDir, { recursive: true, force: true })
    return tryTake(lockDir)
  }
  const pid = Number(holder)
  if (Number.isInteger(pid) && pid > 0 && !alive(pid)) {
    rmSync(lockDir, { recursive: true, force: true })
    return tryTake(lockDir)
  }
  return { taken: false, holder: `pid ${holder}` }
}

function release(lockDir: string): void {
  const ownerFile = join(lockDir, 'pid')
  try {
    if (readFileSync(ownerFile, 'utf8').trim() === String(process.pid))
      rmSync(lockDir, { recursive: true, force: true })
  } catch {
    // Already gone.
  }
}

const timedOut = (dir: string, waitMs: number, holder: string): Error =>
  new Error(
    `waited ${waitMs / 1000} s for another Serverless packaging of this checkout (${holder}); ` +
      `remove ${dir} if no such process runs`,
  )

/** Run a synchronous Serverless command (spawnSync) while holding the lock. */
export function withServerlessLockSync<T>(fn: () => T, opts: LockOptions = {}): T {
  const { dir = LOCK_DIR, waitMs = LOCK_WAIT_MS } = opts
  const deadline = Date.now() + waitMs
  const pause = new Int32Array(new SharedArrayBuffer(4))
  for (;;) {
    const got = tryTake(dir)
    if (got.taken) break
    if (Date.now() > deadline) throw timedOut(dir, waitMs, got.holder)
    Atomics.wait(pause, 0, 0, POLL_MS) // a synchronous sleep: the caller is synchronous
  }
  try {
    return fn()
  } finally {
    release(dir)
  }
}

/** Run an asynchronous Serverless command while holding the lock. */
export async function withServerlessLock<T>(fn: () => Promise<T>, opts: LockOptions = {}): Promise<T> {
  const { dir = LOCK_DIR, waitMs = LOCK_WAIT_MS } = opts
  const deadline = Date.now() + waitMs
  for (;;) {
    const got = tryTake(dir)
    if (got.taken) break
    if (Date.now() > deadline) throw timedOut(dir, waitMs, got.holder)
    await new Promise((r) => setTimeout(r, POLL_MS))
  }
  try {
    return await fn()
  } finally {
    release(dir)
  }
}
