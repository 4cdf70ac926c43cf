import { createRequire } from 'node:module'
import { performance } from 'node:perf_hooks'
import { pathToFileURL } from 'node:url'

/**
 * Child process, one per sample: a fresh `node` that loads one module file, as a consumer's process does on
 * its first `import` (ESM) or `require` (CommonJS). Reports the time the load took and when it ended, in
 * ms since the process started. argv: <module file> <esm|cjs>
 */
export interface ImportMessage {
  readonly kind: 'import'
  readonly importMs: number
  readonly loadedAtMs: number
}

async function main(): Promise<void> {
  const [file, kind] = process.argv.slice(2)
  if (file === undefined || (kind !== 'esm' && kind !== 'cjs'))
    throw new Error('usage: consumer-import <file> <esm|cjs>')
  const t0 = performance.now()
  if (kind === 'esm') await import(pathToFileURL(file).href)
  else createRequire(file)(file)
  const loadedAtMs = performance.now()
  const message: ImportMessage = { kind: 'import', importMs: loadedAtMs - t0, loadedAtMs }
  process.send?.(message, () => process.exit(0))
}

main().catch((err: unknown) => {
  process.stderr.write(
    `consumer-import driver: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  )
  process.exit(1)
})
