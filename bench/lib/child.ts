import { fork } from 'node:child_process'

/**
 * Runs a bundled driver in a fresh `node` (no tsx, no inherited loader flags) with fd 1 on /dev/null, so
 * the log lines every target writes cost a real write but never reach the terminal; the driver's single
 * result message comes back over IPC. stderr is kept for the error report.
 */
export interface ChildRun<T> {
  readonly message: T
  /** Wall time from just before spawn to the message's arrival. */
  readonly wallMs: number
}

export function runDriver<T>(
  driver: string,
  args: readonly string[],
  env: Record<string, string>,
  opts: { execArgv?: string[]; timeoutMs?: number } = {},
): Promise<ChildRun<T>> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint()
    const child = fork(driver, args, {
      env,
      execArgv: opts.execArgv ?? [],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    })
    let stderr = ''
    let message: ChildRun<T> | undefined
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-4000)
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 300_000)
    child.on('message', (m: unknown) => {
      message ??= { message: m as T, wallMs: Number(process.hrtime.bigint() - started) / 1e6 }
    })
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      if (message !== undefined && code === 0) resolve(message)
      else
        reject(new Error(`${driver} ${args.slice(0, 2).join(' ')} exited with ${signal ?? code}:\n${stderr}`))
    })
  })
}

/** The environment every child starts from: this process's, minus anything that would change a target's behaviour. */
export function cleanEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined) continue
    if (
      k.startsWith('BROKER_') ||
      k.startsWith('POWERTOOLS_') ||
      k.startsWith('BENCH_') ||
      k.startsWith('AWS_')
    )
      continue
    if (k === 'NODE_OPTIONS') continue
    env[k] = v
  }
  return { ...env, ...extra }
}
