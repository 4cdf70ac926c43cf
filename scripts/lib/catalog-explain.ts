import { parsePrincipalArn } from '../../src/lib/auth/principal'
import {
  decideAccess,
  describeRule,
  matchesName,
  matchesPrincipal,
  parseNamePattern,
  parsePrincipalMatcher,
  type RuleRef,
} from '../../src/lib/secrets'
import { checkSecretName } from '../../src/contract/secret-name'
import type { StageCatalog } from './catalog-model'

/**
 * `npm run catalog -- explain`: the broker's own decision for one principal and one name, with the rule that
 * made it. The principal is normalised as the broker normalises callers (an assumed-role session becomes
 * its role), so a session ARN copied from CloudTrail explains what that caller got.
 */
export interface Explanation {
  readonly allow: boolean
  readonly lines: readonly string[]
}

/** Bad input: the exit code 2 of the tool, with the reason. */
export class ExplainInputError extends Error {}

function ruleText(stage: StageCatalog, ref: RuleRef, name: string, principal: string): string {
  const label = describeRule(stage.doc, ref)
  if (ref.readersOf !== undefined) return `${label}: allow ${ref.readersOf} for ${principal}`
  const rule = stage.doc.rules?.[ref.index]
  const patterns = rule?.allow ?? rule?.deny ?? []
  const pattern = patterns.find((p) => matchesName(parseNamePattern(p), name)) ?? patterns.join(', ')
  const who = rule?.principals.find((p) => matchesPrincipal(parsePrincipalMatcher(p), principal)) ?? principal
  return `${label}: ${ref.effect} ${pattern} for ${who}`
}

export function explainAccess(stage: StageCatalog, principalArn: string, name: string): Explanation {
  const principal = parsePrincipalArn(principalArn)
  if (principal === undefined)
    throw new ExplainInputError(
      `--principal must be an IAM user or role ARN, or an assumed-role session ARN (got ${JSON.stringify(principalArn).slice(0, 120)})`,
    )
  const nameProblem = checkSecretName(name)
  if (nameProblem !== undefined)
    throw new ExplainInputError(`--name is not a valid logical name (${nameProblem})`)
  const lines: string[] = []
  if (principal.arn !== principalArn)
    lines.push(`  principal normalised to ${principal.arn} (as the broker does)`)
  const decision = decideAccess(stage.catalog, principal.arn, name)
  const who = `${principal.arn} ${decision.allow ? 'may' : 'may not'} read ${name}`
  if (decision.allow) {
    const entry = decision.entry
    lines.unshift(`allow: ${who}`)
    lines.push(`  decided by ${ruleText(stage, decision.rule, name, principal.arn)}`)
    if (entry.brokeredBy === undefined) {
      lines.push(`  secret: ${entry.secretId}`)
    } else {
      const prefix = stage.doc.prefixes?.find((p) => p.pattern === entry.brokeredBy)
      const tag =
        prefix?.requireTag === undefined
          ? ''
          : ` and carries the tag ${prefix.requireTag.key}=${prefix.requireTag.value}`
      lines.push(
        `  secret: ${entry.secretId} (brokered prefix ${entry.brokeredBy}: served only if it exists${tag}; else the same 404)`,
      )
    }
    return { allow: true, lines }
  }
  lines.unshift(`deny: ${who}`)
  switch (decision.reason) {
    case 'denied-by-rule':
      lines.push(
        `  decided by ${ruleText(stage, decision.rule, name, principal.arn)} (a deny overrides every allow)`,
      )
      break
    case 'caller-not-allowed':
      lines.push('  no rule matched (deny by default)')
      break
    case 'unknown-name':
      lines.push(
        stage.plan.decl.params.secrets[name] === undefined
          ? `  ${name} is neither declared nor under a brokered prefix (every caller gets the same 404)`
          : `  ${name} is declared but not brokered (no readers and not brokered: true, such as a master only rotation reads); every caller gets the same 404`,
      )
      break
    case 'invalid-name':
      lines.push(`  ${name} is not a valid logical name`)
      break
    default: {
      const unreachable: never = decision
      return unreachable
    }
  }
  if (principal.accountId !== stage.plan.decl.params.accountId)
    lines.push(
      `  (the principal is in account ${principal.accountId}; the stage only serves ${stage.plan.decl.params.accountId})`,
    )
  return { allow: false, lines }
}
