import type { Catalog, CatalogEntry } from './catalog'
import { checkSecretName } from '../../contract/secret-name'

/**
 * The access decision, pure and deny by default: a caller may read a name only when the catalog lists that
 * exact name with that exact (normalised) principal among its readers. No prefixes, no wildcards.
 */
export type AccessDecision =
  | { readonly allow: true; readonly entry: CatalogEntry }
  | { readonly allow: false; readonly reason: 'invalid-name' | 'unknown-name' | 'caller-not-allowed' }

export function decideAccess(catalog: Catalog, principalArn: string, name: string): AccessDecision {
  if (checkSecretName(name) !== undefined) return { allow: false, reason: 'invalid-name' }
  const entry = catalog.lookup(name)
  if (entry === undefined) return { allow: false, reason: 'unknown-name' }
  if (!entry.readers.includes(principalArn)) return { allow: false, reason: 'caller-not-allowed' }
  return { allow: true, entry }
}
