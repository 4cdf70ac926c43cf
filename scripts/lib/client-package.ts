import { execFile } from 'node:child_process'
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { REPO_ROOT } from '../../infra/stage-declarations'
import { makeTempDir } from './processes'

/**
 * The consumer package as a service gets it: `npm pack` of packages/client (its prepack builds it), then
 * `npm install <tarball>` into a fresh project in the OS temp folder, outside this repository, so nothing
 * of the repository (its node_modules, tsx, the TypeScript sources) can leak in. The install prefers npm's
 * cache and reaches the registry only for what the cache lacks (package metadata on a fresh machine).
 * Used by the package's integration test and by the benchmark.
 */
export const CLIENT_PACKAGE_DIR = join(REPO_ROOT, 'packages', 'client')
export const CLIENT_PACKAGE_NAME = '@secret-broker/client'

const run = promisify(execFile)

export interface InstalledClient {
  /** The throw-away project with the package in node_modules. */
  readonly projectDir: string
  readonly tarball: string
  /** node_modules/@secret-broker/client inside projectDir. */
  readonly packageDir: string
  /** The launcher npm linked as node_modules/.bin/secret-broker. */
  readonly bin: string
  /** Deletes the project and the tarball. */
  remove(): void
}

/** The environment for npm run from a test or a script: without the npm_* variables of an outer `npm test`. */
export function npmEnv(extra: Record<string, string> = {}): Record<string, string> {
  const keep = new Set(['npm_config_cache', 'npm_config_registry', 'npm_config_userconfig'])
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && (!k.toLowerCase().startsWith('npm_') || keep.has(k.toLowerCase()))) env[k] = v
  return { ...env, npm_config_update_notifier: 'false', npm_config_fund: 'false', ...extra }
}

export async function installPackedClient(): Promise<InstalledClient> {
  const root = makeTempDir('secret-broker-consumer')
  const remove = (): void => rmSync(root, { recursive: true, force: true })
  try {
    const packDir = join(root, 'pack')
    mkdirSync(packDir)
    // The tarball is found by listing packDir, which is new and empty, never by reading npm's stdout: the
    // prepack build (tsup) writes its log there too, coloured when CI or FORCE_COLOR is set, so the JSON
    // report cannot be told apart from the build's lines reliably.
    await run('npm', ['pack', '--workspace', 'packages/client', '--pack-destination', packDir, '--silent'], {
      cwd: REPO_ROOT,
      env: npmEnv(),
      timeout: 180_000,
      maxBuffer: 16 * 1024 * 1024,
    })
    const tarballs = readdirSync(packDir).filter((name) => name.endsWith('.tgz'))
    const [packedName] = tarballs
    if (packedName === undefined || tarballs.length !== 1)
      throw new Error(`npm pack should leave exactly one tarball in ${packDir}, found ${tarballs.length}`)
    const tarball = join(packDir, packedName)
    const projectDir = join(root, 'service')
    mkdirSync(projectDir)
    writeFileSync(
      join(projectDir, 'package.json'),
      `${JSON.stringify({ name: 'consumer-service', version: '1.0.0', private: true }, null, 2)}\n`,
    )
    await run(
      'npm',
      ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', tarball],
      { cwd: projectDir, env: npmEnv(), timeout: 180_000 },
    )
    const packageDir = join(projectDir, 'node_modules', ...CLIENT_PACKAGE_NAME.split('/'))
    const manifest = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as {
      bin: Record<string, string>
    }
    return {
      projectDir,
      tarball,
      packageDir,
      bin: join(packageDir, manifest.bin['secret-broker'] ?? 'bin/secret-broker.cjs'),
      remove,
    }
  } catch (err) {
    remove()
    throw err
  }
}
