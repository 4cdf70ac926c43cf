import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { withServerlessLock, withServerlessLockSync } from '../../../scripts/lib/serverless-lock'

/**
 * One Serverless packaging of a checkout at a time (the suites run two at a time, and Serverless empties
 * `.serverless/` before it builds): the lock is exclusive, waits for a live holder, takes over a dead one's,
 * and is released whatever the command does. Each test uses a lock directory of its own.
 */
let root: string
let dir: string
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'sls-lock-'))
  dir = join(root, 'serverless-package.lock')
})
afterEach(() => rmSync(root, { recursive: true, force: true }))

const holdFor = (pid: number): void => {
  mkdirSync(dir)
  writeFileSync(join(dir, 'pid'), String(pid))
}

it('runs the command holding the lock, and releases it after a success and after a throw', async () => {
  expect(withServerlessLockSync(() => existsSync(join(dir, 'pid')), { dir })).toBe(true)
  expect(existsSync(dir)).toBe(false)
  expect(() =>
    withServerlessLockSync(
      () => {
        throw new Error('packaging failed')
      },
      { dir },
    ),
  ).toThrow('packaging failed')
  expect(existsSync(dir)).toBe(false)
  await expect(withServerlessLock(() => Promise.reject(new Error('deploy failed')), { dir })).rejects.toThrow(
    'deploy failed',
  )
  expect(existsSync(dir)).toBe(false)
})

it('waits for a live holder, then gives up naming it, without running the command', async () => {
  holdFor(process.ppid) // the jest parent: alive for the whole test
  let ran = false
  expect(() => withServerlessLockSync(() => (ran = true), { dir, waitMs: 300 })).toThrow(
    new RegExp(`waited 0.3 s for another Serverless packaging of this checkout \\(pid ${process.ppid}\\)`),
  )
  await expect(withServerlessLock(() => Promise.resolve((ran = true)), { dir, waitMs: 300 })).rejects.toThrow(
    `pid ${process.ppid}`,
  )
  expect(ran).toBe(false)
  expect(existsSync(join(dir, 'pid'))).toBe(true) // someone else's lock is left alone
})

it('takes over the lock of a process that died', () => {
  const dead = spawnSync(process.execPath, ['-e', 'process.exit(0)']).pid
  holdFor(dead)
  expect(withServerlessLockSync(() => 'packaged', { dir, waitMs: 300 })).toBe('packaged')
  expect(existsSync(dir)).toBe(false)
})

it('lets the second of two concurrent commands start only after the first has finished', async () => {
  const events: string[] = []
  const step = (name: string, ms: number) =>
    withServerlessLock(
      async () => {
        events.push(`${name} start`)
        await new Promise((r) => setTimeout(r, ms))
        events.push(`${name} end`)
      },
      { dir },
    )
  // The same process twice stands in for two: the lock is held by pid, so the second waits for release.
  const first = step('first', 150)
  await new Promise((r) => setTimeout(r, 20))
  await Promise.all([first, step('second', 10)])
  expect(events).toEqual(['first start', 'first end', 'second start', 'second end'])
})
