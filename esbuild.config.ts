import type { BuildOptions } from 'esbuild'

/**
 * Bundling options for every function (serverless-esbuild reads them through esbuild.config.cjs; the
 * benchmark builds with the same object). The AWS SDK v3 is bundled, pinned by the lockfile, rather than
 * taken from the Lambda runtime: the version we test is the version we run.
 */
export const esbuildOptions = (): BuildOptions & Record<string, unknown> => ({
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
})
