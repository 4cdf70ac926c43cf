import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { build } from 'esbuild'
import type * as EsbuildConfig from '../../../esbuild.config'
import { REPO_ROOT } from '../../../infra/stage-declarations'
import { ACCOUNT, ORDERS_DB_ARN, aCatalogDocument } from '../../support/builders'

/**
 * The bundler checks the catalog it bundles (esbuild.config.ts), once, with the same loadCatalog the cold
 * start uses; the bundle then says so (COMPILED_CATALOG_CHECKED) and the cold start does not repeat it.
 */
// By its .ts name: for a bare 'esbuild.config' jest finds serverless-esbuild's esbuild.config.cjs shim first.
const { checkBundledCatalog, compiledDocumentsPlugin } = jest.requireActual<typeof EsbuildConfig>(
  '../../../esbuild.config.ts',
)
const ENV = { BROKER_STAGE: 'dev', BROKER_ACCOUNT_ID: ACCOUNT, AWS_REGION: 'us-east-1' }
const stamped = (doc: object): string => JSON.stringify({ stage: 'dev', accountId: ACCOUNT, ...doc })

interface Bundled {
  checked: boolean
  bundledJson: string | undefined
  /** loadHttpConfig as the function calls it, and as a caller passing its own catalog does. */
  flagOf(env: Record<string, string>, catalogJson?: string): boolean
}

let dir: string
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bundled-catalog-'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

async function bundleWith(catalogJson: string, name: string): Promise<Bundled> {
  const outfile = join(dir, `${name}.js`)
  await build({
    stdin: {
      contents: [
        "import { COMPILED_CATALOG_CHECKED, COMPILED_CATALOG_JSON } from './src/lib/compiled-catalog'",
        "import { loadHttpConfig } from './src/lib/config'",
        'export const checked = COMPILED_CATALOG_CHECKED',
        'export const bundledJson = COMPILED_CATALOG_JSON',
        'export const flagOf = (env, json) =>',
        '  (json === undefined ? loadHttpConfig(env) : loadHttpConfig(env, json)).catalogCheckedAtBuild',
      ].join('\n'),
      resolveDir: REPO_ROOT,
      loader: 'ts',
    },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    outfile,
    logLevel: 'silent',
    plugins: [compiledDocumentsPlugin(() => ({ catalogJson, rotationJson: '{"targets":[]}' }))],
  })
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the bundle just built
  return require(outfile) as Bundled
}

describe('the catalog the bundler checks', () => {
  it('bundles a sound catalog marked checked, which only the bundled text carries into the config', async () => {
    // Arrange
    const text = stamped(aCatalogDocument())
    // Act
    const bundled = await bundleWith(text, 'sound')
    // Assert
    expect(bundled.bundledJson).toBe(text)
    expect(bundled.checked).toBe(true)
    expect(bundled.flagOf(ENV)).toBe(true)
    expect(bundled.flagOf(ENV, JSON.stringify(aCatalogDocument()))).toBe(false)
  })

  it('fails the build on a catalog the cold start would refuse, naming the problem', async () => {
    // Arrange: a reader from another account
    const bad = stamped({
      secrets: [{ name: 'a', secretId: ORDERS_DB_ARN, readers: ['arn:aws:iam::999999999999:role/x'] }],
    })
    // Act + Assert
    expect(() => checkBundledCatalog(bad)).toThrow(/another account/)
    await expect(bundleWith(bad, 'bad')).rejects.toThrow(/another account/)
  })

  it('leaves a catalog that names no account or stage unvouched for, to be checked at cold start', async () => {
    const bundled = await bundleWith(JSON.stringify(aCatalogDocument()), 'unstamped')
    expect(bundled.checked).toBe(false)
    expect(bundled.flagOf(ENV)).toBe(false)
  })
})
