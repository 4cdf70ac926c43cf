/**
 * The stage's compiled invalidation scope (the brokered secrets' names and prefixes in Secrets Manager), as
 * JSON text. A placeholder that the bundler replaces when the invalidation function is bundled through
 * esbuild.config.ts, exactly as src/lib/compiled-catalog.ts for the HTTP functions. Unbundled, there is
 * none: the local stack and the tests pass the document compiled from the same plan.
 */
export const COMPILED_INVALIDATION_JSON: string | undefined = undefined
