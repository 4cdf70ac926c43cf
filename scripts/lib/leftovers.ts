import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * What a local stack leaves behind when it is killed before it can clean up (SIGKILL, a crash, a closed
 * terminal): its temp directories (a PostgreSQL cluster is ~40 MB) and the servers it started, which outlive
 * it. Every directory the tools create carries an owner file naming the process that made it and the servers
 * it started there; a later stack removes directories whose owner is gone, and stops those servers — only
 * when the process at that pid is still the command that was recorded (never a process that reused the pid).
 * Nothing else is touched: no process is ever found by name or port.
 */
export const OWNER_FILE = '.secret-broker-owner.json'

interface OwnerRecord {
  readonly owner: number
  readonly children: { readonly pid: number; readonly command: string }[]
}

/** Marks `dir` as made by this process. */
export function markOwned(dir: string): void {
  writeFileSync(
    join(dir, OWNER_FILE),
    JSON.stringify({ owner: process.pid, children: [] } satisfies OwnerRecord),
  )
}

/** Records a server started for `dir`'s owner, so a later stack can stop it if the owner dies first. */
export function recordChild(dir: string, pid: number | undefined, command: string): void {
  const file = join(dir, OWNER_FILE)
  if (pid === undefined || !existsSync(file)) return
  const record = JSON.parse(readFileSync(file, 'utf8')) as OwnerRecord
  writeFileSync(file, JSON.stringify({ ...record, children: [...record.children, { pid, command }] }))
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: it exists but belongs to someone else (a server running as its package's user).
    return (err as { code?: string }).code === 'EPERM'
  }
}

/** The command line of a live process, from /proc (Linux); undefined when it cannot be read. */
function commandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ')
  } catch {
    return undefined
  }
}

export interface LeftoverReport {
  readonly removedDirs: readonly string[]
  readonly stoppedPids: readonly number[]
}

/** Directories of the tools' own kinds: temp dirs of the test servers, and the local stacks' work dirs. */
export function candidateDirs(repoRoot: string): string[] {
  const under = (root: string, prefixes: readonly string[]): string[] => {
    try {
      return readdirSync(root)
        .filter((d) => prefixes.some((p) => d.startsWith(p)))
        .map((d) => join(root, d))
    } catch {
      return []
    }
  }
  return [
    ...under(tmpdir(), ['broker-pg-', 'broker-mariadb-', 'broker-redis-', 'moto-']),
    ...under(join(repoRoot, '.esbuild'), ['stack-']),
    ...under(join(repoRoot, '.tmp'), ['stack-']),
  ]
}

/** Removes what killed stacks left: owner gone → its recorded servers stopped, its directory removed. */
export function cleanLeftovers(dirs: readonly string[]): LeftoverReport {
  const removedDirs: string[] = []
  const stoppedPids: number[] = []
  for (const dir of dirs) {
    let record: OwnerRecord
    try {
      record = JSON.parse(readFileSync(join(dir, OWNER_FILE), 'utf8')) as OwnerRecord
    } catch {
      continue // not ours (or not marked): never touched
    }
    if (record.owner === process.pid || alive(record.owner)) continue
    for (const child of record.children) {
      if (!alive(child.pid) || commandLine(child.pid)?.includes(child.command) !== true) continue
      try {
        process.kill(child.pid, 'SIGKILL')
        stoppedPids.push(child.pid)
      } catch {
        // gone in the meantime, or not ours to signal
      }
    }
    rmSync(dir, { recursive: true, force: true })
    removedDirs.push(dir)
  }
  return { removedDirs, stoppedPids }
}
