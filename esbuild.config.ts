import type { BuildOptions, Plugin } from 'esbuild'
import type { Stage } from './src/contract/settings'
import { loadCatalog } from './src/lib/secrets'

/**
 * Bundling options for every function (serverless-esbuild reads them through esbuild.config.cjs; the
 * benchmark builds with the same object). The AWS SDK v3 is bundled, pinned by the lockfile, rather than
 * taken from the Lambda runtime: the version we test is the version we run.
 */
export const esbuildOptions = (
  serverless?: ServerlessForBundling,
): BuildOptions & Record<string, unknown> => ({
  bundle: true,
  minify: true,
  sourcemap: false,
  target: 'node22',
  platform: 'node',
  format: 'cjs',
  keepNames: true,
  // Prefer packages' ES module builds (the AWS SDK, Powertools, zod ship both): esbuild can only drop unused
  // code from ES modules, and the CommonJS builds pull in everything.
  mainFields: ['module', 'main'],
  // Lambda gives functions their credentials in environment variables: bundle only that provider.
  alias: { '@aws-sdk/credential-provider-node': './src/lib/lambda-credential-provider.ts' },
  // serverless-esbuild: bundle everything and ship no node_modules. `exclude` marks a module external
  // without packaging it: pg tries `require('pg-native')` inside a try/catch, and it is never installed.
  exclude: ['pg-native'],
  // Each local stack (npm start, every integration suite) bundles into its own folder, so several can run at once.
  outputWorkFolder: process.env['SECRET_BROKER_ESBUILD_WORK_DIR'] ?? '.esbuild',
  // serverless-offline rebuilds (and so restarts every function, emptying its cache) when a watched file
  // changes. `npm start` watches the service's own sources only; test stacks watch nothing, so a file
  // edited elsewhere in the tree cannot reset a cache under a running test.
  watch: {
    pattern: process.env['SECRET_BROKER_ESBUILD_WATCH'] === 'off' ? [] : ['src/**/*.ts'],
    ignore: ['.esbuild', 'node_modules', '.tmp', '.broker', '.package'],
  },
  metafile: false,
  plugins: serverless === undefined ? [] : [compiledDocumentsPlugin(() => documentsFor(serverless))],
})

/** What esbuild.config.cjs receives from serverless-esbuild: the Serverless instance, for the stage. */
export interface ServerlessForBundling {
  readonly service: { readonly provider: { readonly stage: string } }
  readonly processedInput?: { readonly options?: { readonly config?: string } }
}

/** The compiled documents bundled into the functions, as JSON text. */
export interface CompiledDocuments {
  readonly catalogJson: string
  readonly rotationJson: string
  /** The invalidation function's scope; a build without that function may leave it out. */
  readonly invalidationJson?: string
}

function documentsFor(serverless: ServerlessForBundling): CompiledDocuments {
  // The bridge is the module Serverless loaded to build the template: its plan, and its documents.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS module shared with serverless.yml
  const bridge = require('./infra/serverless-bridge.cjs') as {
    compiledDocuments(stage: string, configFile: string | undefined): CompiledDocuments
  }
  return bridge.compiledDocuments(
    serverless.service.provider.stage,
    serverless.processedInput?.options?.config,
  )
}

/** The placeholder modules the documents replace (see their own comments). */
const PLACEHOLDERS = {
  catalog: /[\\/]src[\\/]lib[\\/]compiled-catalog\.ts$/,
  rotation: /[\\/]src[\\/]rotation[\\/]compiled-rotation\.ts$/,
  invalidation: /[\\/]src[\\/]invalidation[\\/]compiled-invalidation\.ts$/,
} as const

/**
 * The check the functions' cold start would make, made once here on the exact text that is bundled (shape,
 * whole-list checks, for the document's own account and stage), so that a bad catalog fails the build and
 * the bundle can say it was checked (COMPILED_CATALOG_CHECKED). A document that names no account or stage
 * (a hand-made one) is not vouched for: the cold start checks it against the function's own account.
 * @returns whether the document was checked. @throws ConfigError naming the problems; the build stops.
 */
export function checkBundledCatalog(catalogJson: string): boolean {
  const doc = JSON.parse(catalogJson) as { accountId?: unknown; stage?: unknown } | null
  if (typeof doc?.accountId !== 'string' || typeof doc.stage !== 'string') return false
  // The parsed text is what the cold start will parse: checking it is checking the text.
  loadCatalog(doc, doc.accountId, doc.stage as Stage)
  return true
}

/**
 * Bundles the stage's compiled catalog, rotation and invalidation documents into the functions that import them: the
 * placeholder modules are replaced by the documents' JSON text (parsed once, at cold start, where
 * `JSON.parse` is faster than a JavaScript object literal of the same size). Computed once per build
 * process, so every function of a deploy carries the same documents.
 */
export function compiledDocumentsPlugin(documents: () => CompiledDocuments): Plugin {
  let cached: CompiledDocuments | undefined
  const get = (): CompiledDocuments => (cached ??= documents())
  // Checked once per build process too, not once per function bundled.
  let checked: boolean | undefined
  const catalogChecked = (): boolean => (checked ??= checkBundledCatalog(get().catalogJson))
  return {
    name: 'secret-broker-compiled-documents',
    setup(build) {
      build.onLoad({ filter: PLACEHOLDERS.catalog }, () => {
        return {
          contents: [
            `export const COMPILED_CATALOG_JSON = ${JSON.stringify(get().catalogJson)}`,
            `export const COMPILED_CATALOG_CHECKED = ${String(catalogChecked())}`,
          ].join('\n'),
          loader: 'ts',
        }
      })
      build.onLoad({ filter: PLACEHOLDERS.rotation }, () => ({
        contents: `export const COMPILED_ROTATION_JSON = ${JSON.stringify(get().rotationJson)}`,
        loader: 'ts',
      }))
      build.onLoad({ filter: PLACEHOLDERS.invalidation }, () => ({
        contents: `export const COMPILED_INVALIDATION_JSON = ${JSON.stringify(get().invalidationJson)}`,
        loader: 'ts',
      }))
    },
  }
}
