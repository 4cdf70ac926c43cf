/**
 * The stage's compiled catalog, as JSON text. This file is a placeholder: when the HTTP functions are
 * bundled (`npm run package`, `npm start`, both through esbuild.config.ts), the bundler replaces its
 * contents with the catalog compiled from the stage's declarations, so each deployed artifact carries its
 * own catalog, immutable per deploy. Unbundled (tests, tools), there is none, and a function refuses to
 * start without one.
 */
export const COMPILED_CATALOG_JSON: string | undefined = undefined

/**
 * True when the bundler checked COMPILED_CATALOG_JSON with `loadCatalog` (every shape and whole-list check,
 * for the document's own account and stage) before it bundled it: the document is then as trusted as the
 * code beside it, and the cold start skips the checks it would only repeat. False here, unbundled.
 */
export const COMPILED_CATALOG_CHECKED: boolean = false
