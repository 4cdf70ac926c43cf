import { defineConfig } from 'tsup'

/**
 * The package's build (tsup: esbuild, the bundler the broker's functions use, plus rollup-plugin-dts for
 * one self-contained declaration file per format). What is not a dependency in package.json is bundled:
 * the wire contract and name grammar from the broker's src/contract (so both sides share one declaration),
 * zod/mini that validates answers against it, and jsonc-parser that reads values losslessly. Dependencies
 * (the SigV4 signer, the credential chain) stay imports. Not minified: consumers' bundlers minify, and a
 * stack trace into an installed package should be readable.
 */
const shared = {
  platform: 'node',
  target: 'node20',
  sourcemap: false,
  tsconfig: 'tsconfig.build.json',
  // Prefer ES module builds where a package ships both (jsonc-parser's main is UMD), so unused code drops out.
  esbuildOptions(options: { mainFields?: string[] }) {
    options.mainFields = ['module', 'main']
  },
} as const

export default defineConfig([
  {
    ...shared,
    entry: { index: 'src/index.ts' },
    format: ['esm', 'cjs'],
    dts: true,
    clean: true,
  },
  {
    ...shared,
    entry: { cli: 'src/cli.ts' },
    format: ['cjs'],
    dts: false,
  },
])
