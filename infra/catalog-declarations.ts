import { parseSecretArn, secretLabel } from '../src/lib/secrets'
import { isBrokeredDeclaration, type StageDeclarations } from './stage-declarations'

/**
 * Checks of brokered prefixes that need the whole declaration, not only the compiled catalog (which leaves
 * out what is not brokered): a logical prefix may not hide a secret declared by name, and a Secrets Manager
 * prefix may not expose a secret declared as not brokered (a master credential only rotation reads).
 */
export function declaredPrefixProblems(decl: StageDeclarations): { problems: string[]; warnings: string[] } {
  const problems: string[] = []
  const warnings: string[] = []
  const entries = Object.entries(decl.params.secrets)
  const prefixes = entries.flatMap(([pattern, s]) =>
    s.prefix === undefined ? [] : [{ pattern, head: pattern.slice(0, -1), secretPrefix: s.prefix }],
  )
  if (prefixes.length === 0) return { problems, warnings }
  for (const [name, s] of entries) {
    if (s.prefix !== undefined || (s.arn === undefined && s.username === undefined)) continue
    const brokered = isBrokeredDeclaration(s)
    const logical = prefixes.find((p) => name.startsWith(p.head))
    // A brokered name under a logical prefix is reported by the catalog check itself.
    if (logical !== undefined && !brokered)
      problems.push(
        `${secretLabel(name)}: lies under the brokered prefix ${logical.pattern}, where this name would mean ${logical.secretPrefix}${name.slice(logical.head.length)}; rename it`,
      )
    const smName = s.arn === undefined ? undefined : parseSecretArn(s.arn)?.name
    const covering =
      smName === undefined ? undefined : prefixes.find((p) => smName.startsWith(p.secretPrefix))
    if (covering === undefined) continue
    const alias = `${covering.head}${(smName ?? '').slice(covering.secretPrefix.length)}`
    if (brokered)
      warnings.push(
        `${secretLabel(name)}: its secret is also brokered as ${alias} (under ${covering.pattern})`,
      )
    else
      problems.push(
        `${secretLabel(covering.pattern)}: prefix ${covering.secretPrefix} covers the secret of ${secretLabel(name)}, which is declared as not brokered; it would be readable as ${alias}`,
      )
  }
  return { problems, warnings }
}
