import { join } from 'node:path'
import { freePort, waitFor } from './ports'
import { findOnPath, makeTempDir, startProcess, type Started } from './processes'

/**
 * moto's server on a free loopback port, for `npm start` and the integration tests. Each caller gets its
 * own server (state is in memory), so suites never share or reset each other's secrets.
 */
export interface MotoServer {
  readonly endpoint: string
  readonly port: number
  readonly process: Started
  stop(): Promise<void>
}

/**
 * Debian's and other PEP 668 ("externally managed") system Pythons refuse a plain `pip install`: pipx, or a
 * virtual environment on PATH, is what works there.
 */
export const MOTO_INSTALL_HINT =
  "moto_server was not found on PATH. The local stack and the integration tests need moto's server:\n" +
  "  pipx install 'moto[server]'                     # Debian/Ubuntu: apt-get install pipx first\n" +
  'or, in a virtual environment:\n' +
  "  python3 -m venv ~/.venvs/moto && ~/.venvs/moto/bin/pip install 'moto[server]'\n" +
  '  export PATH="$HOME/.venvs/moto/bin:$PATH"\n' +
  "or, where pip may install into the system Python: python3 -m pip install 'moto[server]'\n" +
  'then check that `moto_server --help` runs.'

export class MotoNotInstalledError extends Error {
  constructor() {
    super(MOTO_INSTALL_HINT)
    this.name = 'MotoNotInstalledError'
  }
}

/**
 * @param opts.ownerDir a directory marked by scripts/lib/leftovers.ts that records the server, so a later stack
 *   stops it if this process is killed first (by default the temp log dir, when no logDir is given)
 */
export async function startMoto(
  opts: { logDir?: string; searchPath?: string; ownerDir?: string } = {},
): Promise<MotoServer> {
  const bin = findOnPath('moto_server', [], opts.searchPath)
  if (bin === undefined) throw new MotoNotInstalledError()
  const logDir = opts.logDir ?? makeTempDir('moto')
  let lastError: unknown
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort()
    const ownerDir = opts.ownerDir ?? (opts.logDir === undefined ? logDir : undefined)
    const proc = startProcess(bin, ['-H', '127.0.0.1', '-p', String(port)], {
      logFile: join(logDir, `moto-${port}.log`),
      env: emulatorEnvironment(process.env),
      ...(ownerDir === undefined ? {} : { ownerDir, ownerCommand: 'moto_server' }),
    })
    const endpoint = `http://127.0.0.1:${port}`
    try {
      await waitFor(async () => (await fetch(`${endpoint}/moto-api/data.json`)).ok, {
        timeoutMs: 20_000,
        what: `moto_server on port ${port}`,
        abortIf: () =>
          proc.child.exitCode === null ? undefined : `moto_server exited with code ${proc.child.exitCode}`,
      })
      return { endpoint, port, process: proc, stop: () => proc.stop() }
    } catch (err) {
      lastError = err
      await proc.stop()
    }
  }
  throw new Error(`moto_server did not start: ${String(lastError)}`)
}

/**
 * moto's environment: the parent's without AWS_* variables. moto answers with boto3 inside, so a shell's
 * AWS_PROFILE naming a profile this machine lacks (or an endpoint variable) would break every request.
 */
export function emulatorEnvironment(parent: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(parent)) if (!k.startsWith('AWS_')) env[k] = v
  return env
}

/** Static credentials for the emulator; moto accepts any pair when IAM enforcement is off. */
export const MOTO_CREDENTIALS = {
  accessKeyId: 'AKIDLOCALEMULATOR000',
  secretAccessKey: 'local-emulator-credentials',
} as const
