import type { Catalog, CatalogEntry } from './catalog'
import { allowingRule, denyingRule, type RuleRef } from './catalog-grants'
import { checkSecretName } from '../../contract/secret-name'

/**
 * The access decision, pure and deny by default. A name must be in the catalog (declared, or valid and under
 * a brokered prefix); then any deny rule naming the caller and matching the name refuses it, whatever allows
 * it; otherwise an allow rule (or a `readers` shorthand) must name the caller and match the name. No match
 * is a refusal. The decision says which rule decided, for the audit reason and `npm run catalog -- explain`.
 */
export type AccessDecision =
  | { readonly allow: true; readonly entry: CatalogEntry; readonly rule: RuleRef }
  | {
      readonly allow: false
      readonly reason: 'invalid-name' | 'unknown-name' | 'caller-not-allowed'
    }
  | { readonly allow: false; readonly reason: 'denied-by-rule'; readonly rule: RuleRef }

export function decideAccess(catalog: Catalog, principalArn: string, name: string): AccessDecision {
  const entry = catalog.lookup(name)
  if (entry === undefined)
    return { allow: false, reason: checkSecretName(name) === undefined ? 'unknown-name' : 'invalid-name' }
  const grants = catalog.grantsFor(principalArn)
  const deny = denyingRule(grants, name)
  if (deny !== undefined) return { allow: false, reason: 'denied-by-rule', rule: deny }
  const allow = allowingRule(grants, name)
  if (allow === undefined) return { allow: false, reason: 'caller-not-allowed' }
  return { allow: true, entry, rule: allow }
}
