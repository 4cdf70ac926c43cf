import { chownSync, readFileSync } from 'node:fs'

/**
 * Database servers refuse to run as root (mariadbd) or should not (redis-server). As root, the test harness
 * gives the child process the package's own system user (`mysql`, `redis`) through spawn's uid/gid, which
 * is what `runuser -u <user> --` does minus the wrapper process: the PID the harness tracks is then the
 * server itself, so stopping it signals exactly the process it started.
 */
export const runningAsRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0

export interface SystemUserIds {
  readonly uid: number
  readonly gid: number
}

/** The uid/gid of a system user from /etc/passwd, or a clear error naming the package that creates it. */
export function systemUserIds(name: string, packageName: string, passwd = '/etc/passwd'): SystemUserIds {
  const line = readFileSync(passwd, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}:`))
  const parts = line?.split(':')
  if (parts?.[2] === undefined || parts[3] === undefined) {
    throw new Error(
      `running as root needs the \`${name}\` system user (it comes with the ${packageName} package)`,
    )
  }
  return { uid: Number(parts[2]), gid: Number(parts[3]) }
}

/** Spawn options that run a server as `user` when we are root, with a minimal environment either way. */
export function serverSpawnOptions(
  cwd: string,
  user: SystemUserIds | undefined,
  userName: string,
): { uid?: number; gid?: number; cwd: string; env: NodeJS.ProcessEnv } {
  const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', LANG: 'C', LC_ALL: 'C' }
  if (user === undefined) return { cwd, env }
  return { uid: user.uid, gid: user.gid, cwd, env: { ...env, HOME: cwd, USER: userName } }
}

/** Hand the paths to the server's user (no-op when not root). */
export function chownAll(paths: readonly string[], user: SystemUserIds | undefined): void {
  if (user === undefined) return
  for (const p of paths) chownSync(p, user.uid, user.gid)
}
