import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { REPO_ROOT } from '../../../infra/stage-declarations'
import { candidateDirs, OWNER_FILE } from '../../../scripts/lib/leftovers'
import { freePort } from '../../../scripts/lib/ports'
import { signedFetch } from '../../../scripts/lib/signed-fetch'

/**
 * `npm start` as a new user meets it, driven as a real process (what `npm start` runs, in its own process
 * group as a terminal would): one stack per state directory, a double Ctrl-C that still cleans up, leftovers
 * of a killed stack cleaned by the next one, ports, and a shell whose AWS_* variables point elsewhere.
 */
jest.setTimeout(180_000)

interface Run {
  readonly child: ChildProcess
  output(): string
  exited: Promise<number | null>
}

const runs: Run[] = []

function startLocal(args: string[], env: Record<string, string | undefined> = {}): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start-local.ts', ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    detached: true, // its own process group, like a terminal's foreground job
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const run = { child, output: () => out, exited }
  runs.push(run)
  return run
}

async function until(check: () => boolean, what: string, timeoutMs = 150_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

/** Waits until the run says it serves; a run that exits first fails at once, with the end of its output. */
async function untilServing(run: Run, what: string): Promise<void> {
  const exited = (): boolean => run.child.exitCode !== null || run.child.signalCode !== null
  try {
    await until(() => serving(run) || exited(), what)
  } catch (err) {
    throw new Error(`${String(err)}; its output so far:\n${run.output().slice(-2000)}`)
  }
  if (!serving(run))
    throw new Error(
      `${what}: it exited (${String(run.child.exitCode ?? run.child.signalCode)}):\n${run.output().slice(-2000)}`,
    )
}

const serving = (run: Run): boolean => run.output().includes('is serving http://')

/** Signal the whole process group, as Ctrl-C in a terminal does. */
function interrupt(run: Run): void {
  if (run.child.pid !== undefined) process.kill(-run.child.pid, 'SIGINT')
}

/** Ctrl-C for a stack a failed assertion left running, so it cannot spill into the next test. */
async function stopIfRunning(run: Run | undefined): Promise<void> {
  if (run === undefined || run.child.exitCode !== null) return
  interrupt(run)
  await run.exited
}

/** The temp and run directories a process owns (their owner files name it). */
function dirsOwnedBy(pid: number | undefined): string[] {
  return candidateDirs(REPO_ROOT).filter((dir) => {
    try {
      return (JSON.parse(readFileSync(join(dir, OWNER_FILE), 'utf8')) as { owner: number }).owner === pid
    } catch {
      return false
    }
  })
}

/** Listens on `port` of 127.0.0.1 as soon as whoever holds it lets go; fails after timeoutMs. */
async function holdPort(port: number, timeoutMs: number): Promise<Server> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const server = createServer()
    const bound = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false))
      server.listen(port, '127.0.0.1', () => resolve(true))
    })
    if (bound) return server
    if (Date.now() > deadline) throw new Error(`port ${port} stayed taken for ${timeoutMs / 1000} s`)
    await new Promise((r) => setTimeout(r, 250))
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as { code?: string }).code === 'EPERM'
  }
}

let stateDir: string
beforeAll(() => {
  stateDir = mkdtempSync(join(tmpdir(), 'broker-start-test-'))
})

afterAll(async () => {
  for (const run of runs) {
    if (run.child.exitCode === null && run.child.signalCode === null && run.child.pid !== undefined) {
      try {
        process.kill(-run.child.pid, 'SIGINT')
      } catch {
        // already gone
      }
      await Promise.race([run.exited, new Promise((r) => setTimeout(r, 30_000))])
    }
  }
  rmSync(stateDir, { recursive: true, force: true })
})

describe('npm start', () => {
  it('refuses a second stack for the same state directory, naming the running one, and never lies about serving', async () => {
    // Act: two at the same moment.
    const first = startLocal(['--state-dir', stateDir])
    const second = startLocal(['--state-dir', stateDir])
    const exits = await Promise.race([
      second.exited.then((code) => ({ who: 'second', code })),
      first.exited.then((code) => ({ who: 'first', code })),
    ])
    // Assert: one of them refused at once, naming the other's pid; it never claimed to serve.
    const [loser, winner] = exits.who === 'second' ? [second, first] : [first, second]
    expect(exits.code).toBe(1)
    expect(loser.output()).toContain(`A local stack is already running for ${stateDir}`)
    expect(loser.output()).toContain(`pid ${String(winner.child.pid)}`)
    expect(loser.output()).not.toContain('is serving')
    await untilServing(winner, 'the first stack to serve')
    const local = JSON.parse(readFileSync(join(stateDir, 'local.json'), 'utf8')) as { endpoint: string }
    expect(winner.output()).toContain(`is serving ${local.endpoint}`)
    // A third, started while the first serves, names its endpoint.
    const third = startLocal(['--state-dir', stateDir])
    expect(await third.exited).toBe(1)
    expect(third.output()).toContain(`serving ${local.endpoint}`)
  })

  it('cleans up everything it started even when Ctrl-C arrives twice, 100 ms apart', async () => {
    // Arrange: the stack of the previous test, and what it owns.
    const run = runs.find((r) => serving(r) && r.child.exitCode === null)
    if (run === undefined) throw new Error('no serving stack from the previous test')
    const owned = dirsOwnedBy(run.child.pid)
    expect(owned.length).toBeGreaterThanOrEqual(2) // its run dir and the PostgreSQL cluster
    // Act
    interrupt(run)
    await new Promise((r) => setTimeout(r, 100))
    interrupt(run)
    const code = await run.exited
    // Assert
    expect(code).toBe(0)
    expect(run.output()).toContain('Stopped.')
    for (const dir of owned) expect([dir, existsSync(dir)]).toEqual([dir, false])
    expect(existsSync(join(stateDir, 'stack.lock'))).toBe(false)
  })

  it('cleans up after a stack that was killed, says when port 3000 was busy, and ignores the shell’s AWS_* variables', async () => {
    // Arrange: port 3000 held by this test from before the stack to be killed starts. Held by this test
    // itself, never assumed busy: another suite's `npm start` (the README's) may hold it for a while and
    // then free it; and a stack that took it and was killed leaves its API server on it, which the next
    // stack's clean-up frees just before it looks for a port.
    const blocker = await holdPort(3000, 180_000)
    let next: Run | undefined
    try {
      // A stack killed outright leaves its folders and servers behind.
      const killed = startLocal(['--state-dir', stateDir])
      await untilServing(killed, 'the stack to be killed to serve')
      const owned = dirsOwnedBy(killed.child.pid)
      const children = owned.flatMap((dir) =>
        (
          JSON.parse(readFileSync(join(dir, OWNER_FILE), 'utf8')) as { children: { pid: number }[] }
        ).children.map((c) => c.pid),
      )
      killed.child.kill('SIGKILL')
      await killed.exited
      expect(owned.every((dir) => existsSync(dir))).toBe(true)
      // Act: the next stack, from a shell that points the SDK at another emulator.
      next = startLocal(['--state-dir', stateDir], {
        AWS_ENDPOINT_URL_SECRETS_MANAGER: 'http://127.0.0.1:9',
        AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
        AWS_PROFILE: 'no-such-profile',
      })
      await untilServing(next, 'the next stack to serve')
      // Assert: leftovers gone, servers stopped.
      expect(next.output()).toMatch(
        /Cleaned up after a local stack that was killed: \d+ folder\(s\), \d+ server\(s\)/,
      )
      for (const dir of owned) expect([dir, existsSync(dir)]).toEqual([dir, false])
      for (const pid of children) expect([pid, pidAlive(pid)]).toEqual([pid, false])
      expect(next.output()).toContain('port 3000 was busy')
      // The functions read the stack's own emulator whatever the shell says.
      const local = JSON.parse(readFileSync(join(stateDir, 'local.json'), 'utf8')) as {
        endpoint: string
        consumers: { accessKeyId: string; secretAccessKey: string }[]
      }
      const res = await signedFetch(`${local.endpoint}/secrets/demo/db`, { credentials: local.consumers[0]! })
      expect(res.status).toBe(200)
      interrupt(next)
      expect(await next.exited).toBe(0)
    } finally {
      await stopIfRunning(next)
      blocker.close()
    }
  }, 300_000)

  it('serves on a free port, and says so, when port 3000 is taken after it was found free', async () => {
    // Arrange: 3000 free when npm start looks (it says "Starting…" after looking), then taken before the API
    // binds it, as when two `npm start` run at once.
    const free = await holdPort(3000, 180_000)
    await new Promise<void>((resolve) => free.close(() => resolve()))
    const run = startLocal(['--state-dir', stateDir])
    let taker: Server | undefined
    try {
      await until(() => run.output().includes('Starting the local stack'), 'npm start to pick its port')
      taker = await holdPort(3000, 180_000)
      // Act
      await untilServing(run, 'the stack to serve on another port')
      // Assert: a free port, named, and the consumers' keys sign for it.
      const local = JSON.parse(readFileSync(join(stateDir, 'local.json'), 'utf8')) as {
        endpoint: string
        consumers: { accessKeyId: string; secretAccessKey: string }[]
      }
      const port = Number(new URL(local.endpoint).port)
      expect(port).not.toBe(3000)
      expect(run.output()).toContain(`port 3000 was busy, so port ${port} was chosen`)
      const res = await signedFetch(`${local.endpoint}/secrets/demo/db`, { credentials: local.consumers[0]! })
      expect(res.status).toBe(200)
      interrupt(run)
      expect(await run.exited).toBe(0)
    } finally {
      await stopIfRunning(run)
      taker?.close()
    }
  }, 300_000)

  it('says EADDRINUSE and the port when --port is taken', async () => {
    const port = await freePort()
    const holder = await holdPort(port, 10_000)
    try {
      const run = startLocal(['--state-dir', stateDir, '--port', String(port)])
      expect(await run.exited).toBe(1)
      expect(run.output()).toContain(`--port ${port}: the port is already in use (EADDRINUSE)`)
    } finally {
      holder.close()
    }
  })
})
