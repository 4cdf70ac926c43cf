import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'
import { accessSync, constants, createWriteStream, mkdirSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, delimiter, dirname, join } from 'node:path'
import { markOwned, recordChild } from './leftovers'

/**
 * Child processes this run started, and only those: every helper that starts a server records its PID here
 * and stops it by that PID. Nothing is ever killed by name or port.
 */
const started = new Set<ChildProcess>()

process.on('exit', () => {
  for (const child of started) if (child.exitCode === null && child.pid !== undefined) child.kill('SIGKILL')
})

export function findOnPath(
  command: string,
  extraDirs: string[] = [],
  searchPath = process.env['PATH'] ?? '',
): string | undefined {
  const dirs = [...extraDirs, ...searchPath.split(delimiter)]
  for (const dir of dirs) {
    if (dir === '') continue
    const candidate = join(dir, command)
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {
      // not here
    }
  }
  return undefined
}

/** A fresh temp dir, marked as this process's (scripts/lib/leftovers.ts cleans it up if this process is killed). */
export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`))
  markOwned(dir)
  return dir
}

export interface Started {
  readonly child: ChildProcess
  readonly logFile: string
  stop(): Promise<void>
}

/** Start `command` with its output in `logFile`; `stop()` sends SIGTERM, then SIGKILL after `graceMs`. */
export function startProcess(
  command: string,
  args: string[],
  opts: SpawnOptions & { logFile: string; graceMs?: number; ownerDir?: string; ownerCommand?: string },
): Started {
  const { ownerDir, ownerCommand, ...spawnOptions } = opts
  // A log directory that does not exist yet (a fresh clone's .tmp/…) is created, not an unhandled stream error.
  mkdirSync(dirname(opts.logFile), { recursive: true })
  const log = createWriteStream(opts.logFile, { flags: 'a' })
  const child = spawn(command, args, { ...spawnOptions, stdio: ['ignore', 'pipe', 'pipe'] })
  // Recorded in the owner's marker: a later stack stops this server if its owner dies first.
  if (ownerDir !== undefined) recordChild(ownerDir, child.pid, ownerCommand ?? basename(command))
  child.stdout?.pipe(log)
  child.stderr?.pipe(log)
  started.add(child)
  child.on('exit', () => started.delete(child))
  return {
    child,
    logFile: opts.logFile,
    stop: () => stopChild(child, opts.graceMs ?? 3000),
  }
}

export async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
  await exited
  clearTimeout(timer)
}
