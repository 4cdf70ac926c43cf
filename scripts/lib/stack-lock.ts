import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'

/**
 * One local stack per state directory. A second `npm start` in the same checkout would overwrite
 * `.broker/local.json` under the first one's users (the CLI and `npm run rotate` would switch stacks
 * mid-session) and share its logs, so it refuses, naming the running one. A lock left by a stack that was
 * killed is taken over. To run a second stack on purpose, give it its own `--state-dir`.
 */
export const LOCK_FILE = 'stack.lock'

export class StackRunningError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'StackRunningError'
  }
}

interface LockRecord {
  readonly pid: number
  readonly startedAt: string
}

function isOurStack(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (err) {
    if ((err as { code?: string }).code !== 'EPERM') return false
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('start-local')
  } catch {
    return true // alive, and we cannot tell what it is: assume a stack rather than break it
  }
}

function endpointOf(stateDir: string): string {
  try {
    const local = JSON.parse(readFileSync(join(stateDir, 'local.json'), 'utf8')) as { endpoint?: unknown }
    return typeof local.endpoint === 'string' ? `serving ${local.endpoint}` : 'still starting'
  } catch {
    return 'still starting'
  }
}

export function acquireStackLock(stateDir: string): { release(): void } {
  const file = join(stateDir, LOCK_FILE)
  const record: LockRecord = { pid: process.pid, startedAt: new Date().toISOString() }
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx')
      writeSync(fd, JSON.stringify(record))
      closeSync(fd)
      let released = false
      return {
        release() {
          if (released) return
          released = true
          rmSync(file, { force: true })
        },
      }
    } catch (err) {
      if ((err as { code?: string }).code !== 'EEXIST') throw err
    }
    let holder: LockRecord | undefined
    try {
      holder = JSON.parse(readFileSync(file, 'utf8')) as LockRecord
    } catch {
      holder = undefined // half-written by a stack killed at that instant: stale
    }
    if (holder !== undefined && holder.pid !== process.pid && isOurStack(holder.pid)) {
      throw new StackRunningError(
        `A local stack is already running for ${stateDir} (pid ${holder.pid}, started ${holder.startedAt}, ${endpointOf(stateDir)}).\n` +
          'Use it (its keys and endpoint are in local.json), stop it with Ctrl-C in its terminal, or start another with its own --state-dir.',
      )
    }
    rmSync(file, { force: true }) // left by a stack that was killed: take over
  }
  throw new StackRunningError(`Could not take the lock ${file}: another stack started at the same moment.`)
}
