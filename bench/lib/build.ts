import { readFileSync, rmSync } from 'node:fs'
import { join, relative } from 'node:path'
import { gzipSync } from 'node:zlib'
import { build, type BuildOptions, type Metafile } from 'esbuild'
import { compiledDocumentsPlugin, esbuildOptions, type CompiledDocuments } from '../../esbuild.config'
import { benchCatalogJson, BENCH_SECRET_NAME } from './events'

/**
 * Builds what the benchmark runs, with the options serverless-esbuild uses for the deployed functions
 * (esbuild.config.ts), through esbuild's JS API: the broker's HTTP functions, the peer handlers, and the
 * child-process drivers. Everything lands in .esbuild/bench (git- and lint-ignored).
 */
export const BENCH_DIR = join(import.meta.dirname, '..')
export const REPO_ROOT = join(BENCH_DIR, '..')
/** Under .esbuild/ (git-ignored and lint-ignored, like serverless-esbuild's own work folders). */
export const BUILD_DIR = join(REPO_ROOT, '.esbuild', 'bench')

export const HTTP_FUNCTIONS = ['health', 'whoami', 'list-secrets', 'get-secret', 'batch-get-secrets'] as const
export type HttpFunction = (typeof HTTP_FUNCTIONS)[number]
export const PEERS = ['floor', 'powertools', 'middy-secrets-manager', 'no-cache'] as const
export type Peer = (typeof PEERS)[number]
export const DRIVERS = [
  'latency',
  'cold-start',
  'upstream-calls',
  'consumer-import',
  'consumer-cache-hit',
  'http-floor',
] as const
export type Driver = (typeof DRIVERS)[number]

/** serverless-esbuild's own keys, which esbuild's API would reject. `exclude` becomes `external`. */
const SERVERLESS_ESBUILD_KEYS = [
  'exclude',
  'outputWorkFolder',
  'outputBuildFolder',
  'packager',
  'packagerOptions',
  'installExtraArgs',
  'watch',
  'nativeZip',
  'zipConcurrency',
  'concurrency',
  'disableIncremental',
  'keepOutputDirectory',
  'outputFileExtension',
  'skipBuild',
  'skipRebuild',
  'skipBuildExcludeFns',
  'stripEntryResolveExtensions',
  'node',
]

/** The documents the benchmark's broker bundles carry: one secret (by name, as a deploy names its own), one reader. */
export const BENCH_DOCUMENTS: CompiledDocuments = {
  catalogJson: benchCatalogJson(BENCH_SECRET_NAME),
  rotationJson: JSON.stringify({ pgSslMode: 'disable', targets: [] }),
}

/**
 * The deployed functions' build options, with `documents` bundled as serverless-esbuild bundles a stage's
 * compiled catalog and rotation targets.
 */
export function deployedBuildOptions(documents: CompiledDocuments = BENCH_DOCUMENTS): BuildOptions {
  const raw: Record<string, unknown> = {
    ...esbuildOptions(),
    plugins: [compiledDocumentsPlugin(() => documents)],
  }
  const exclude = Array.isArray(raw['exclude']) ? (raw['exclude'] as string[]) : []
  for (const key of SERVERLESS_ESBUILD_KEYS) Reflect.deleteProperty(raw, key)
  const options = raw as BuildOptions
  return {
    ...options,
    external: [...(options.external ?? []), ...exclude],
    metafile: true,
    logLevel: 'error',
  }
}

export interface BundleInfo {
  readonly name: string
  /** Absolute path of the bundle. */
  readonly path: string
  /** The same, relative to the repository. */
  readonly file: string
  readonly bytes: number
  readonly gzipBytes: number
  /** The largest contributors, by package (or source folder), in bytes of minified output. */
  readonly topInputs: readonly { readonly module: string; readonly bytes: number }[]
}

function packageOf(path: string): string {
  const nm = path.lastIndexOf('node_modules/')
  if (nm === -1) return path.split('/').slice(0, 2).join('/')
  const rest = path.slice(nm + 'node_modules/'.length).split('/')
  return rest[0]?.startsWith('@') === true ? `${rest[0]}/${rest[1] ?? ''}` : (rest[0] ?? path)
}

function topInputs(meta: Metafile, outFile: string): BundleInfo['topInputs'] {
  const key = relative(process.cwd(), outFile)
  const output = meta.outputs[key] ?? Object.values(meta.outputs)[0]
  const byPackage = new Map<string, number>()
  for (const [path, input] of Object.entries(output?.inputs ?? {})) {
    byPackage.set(packageOf(path), (byPackage.get(packageOf(path)) ?? 0) + input.bytesInOutput)
  }
  return [...byPackage.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 6)
    .map(([module, bytes]) => ({ module, bytes }))
}

async function bundle(
  name: string,
  entry: string,
  outFile: string,
  options: BuildOptions,
): Promise<BundleInfo> {
  const result = await build({
    ...options,
    entryPoints: [entry],
    outfile: outFile,
    absWorkingDir: process.cwd(),
  })
  const contents = readFileSync(outFile)
  return {
    name,
    path: outFile,
    file: relative(REPO_ROOT, outFile),
    bytes: contents.length,
    gzipBytes: gzipSync(contents, { level: 9 }).length,
    topInputs: result.metafile === undefined ? [] : topInputs(result.metafile, outFile),
  }
}

export interface BuildOutput {
  readonly functions: Readonly<Record<HttpFunction, BundleInfo>>
  readonly peers: Readonly<Record<Peer, BundleInfo>>
  readonly drivers: Readonly<Record<Driver, string>>
}

export async function buildAll(): Promise<BuildOutput> {
  rmSync(BUILD_DIR, { recursive: true, force: true })
  const options = deployedBuildOptions()
  const functions = await Promise.all(
    HTTP_FUNCTIONS.map((f) =>
      bundle(
        f,
        join(REPO_ROOT, 'src', 'handlers', `${f}.ts`),
        join(BUILD_DIR, 'functions', `${f}.js`),
        options,
      ),
    ),
  )
  const peers = await Promise.all(
    PEERS.map((p) =>
      bundle(p, join(BENCH_DIR, 'peers', `${p}.ts`), join(BUILD_DIR, 'peers', `${p}.js`), options),
    ),
  )
  // The drivers are harnesses, not measured code: same platform and format, readable output.
  const driverOptions: BuildOptions = { ...options, minify: false, metafile: false }
  const drivers = await Promise.all(
    DRIVERS.map(async (d) => {
      const out = join(BUILD_DIR, 'drivers', `${d}.js`)
      await build({
        ...driverOptions,
        entryPoints: [join(BENCH_DIR, 'drivers', `${d}.ts`)],
        outfile: out,
        absWorkingDir: process.cwd(),
      })
      return [d, out] as const
    }),
  )
  return {
    functions: Object.fromEntries(functions.map((b) => [b.name, b])) as Record<HttpFunction, BundleInfo>,
    peers: Object.fromEntries(peers.map((b) => [b.name, b])) as Record<Peer, BundleInfo>,
    drivers: Object.fromEntries(drivers) as Record<Driver, string>,
  }
}
