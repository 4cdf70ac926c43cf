/**
 * The stage's compiled rotation document (targets, strategies, masters), as JSON text. A placeholder that
 * the bundler replaces when the rotation function is bundled through esbuild.config.ts, exactly as
 * src/lib/compiled-catalog.ts for the HTTP functions. Unbundled, there is none: `npm run rotate` and the
 * tests pass the document compiled from the same plan.
 */
export const COMPILED_ROTATION_JSON: string | undefined = undefined
