import { checkCatalogPrincipal, parsePrincipalArn } from '../auth/principal'

/**
 * Who a rule names: an IAM user or role of the stage's account by exact ARN, or a family of roles by a
 * trailing `*` on the role name (`arn:aws:iam::123456789012:role/orders-*`).
 *
 * Why a role-name wildcard can be kept safe: the account is fixed (the stage's own), IAM role names are
 * unique within it, and callers reach the broker as assumed-role sessions, which are normalised to
 * `role/<name>` (no path) before any decision, so `role/orders-*` matches exactly the roles of this account
 * whose name starts with `orders-`. Who can create such a role is then an IAM question the account already
 * answers (restrict `iam:CreateRole` on `role/orders-*` with an SCP or permission boundary). To keep a
 * family from swallowing a neighbour, the fixed part must be at least two characters and end with a
 * separator (`-`, `_` or `.`): `orders-*` never matches `ordersadmin`. Users get no wildcard (they are
 * people, not service families), and `*` is refused anywhere else in the ARN.
 */
export type PrincipalMatcher =
  | { readonly kind: 'exact'; readonly text: string }
  | { readonly kind: 'role-family'; readonly text: string; readonly prefix: string }

const ROLE_FAMILY = /^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):role\/([\w+=,.@-]{2,}[-_.])\*$/

/** Why `text` cannot name principals in this account, or undefined. */
export function principalProblem(text: string, accountId: string): string | undefined {
  if (text.includes('*')) {
    const family = ROLE_FAMILY.exec(text)
    if (family === null) {
      return 'has a "*" that is not a role-name wildcard: only arn:aws:iam::ACCOUNT:role/<at least two characters and -, _ or .>* is accepted'
    }
    return family[2] === accountId
      ? undefined
      : `is in account ${family[2] ?? ''}, not this stage's account ${accountId}`
  }
  const problem = checkCatalogPrincipal(text)
  if (problem !== undefined) return problem
  const account = parsePrincipalArn(text)?.accountId
  return account === accountId
    ? undefined
    : `is in another account (${account ?? '?'}); only ${accountId} principals may read`
}

/** A checked principal (callers check with `principalProblem` first). */
export function parsePrincipalMatcher(text: string): PrincipalMatcher {
  return text.endsWith('*')
    ? { kind: 'role-family', text, prefix: text.slice(0, -1) }
    : { kind: 'exact', text }
}

/** Does the (normalised) caller ARN belong to `m`? */
export function matchesPrincipal(m: PrincipalMatcher, callerArn: string): boolean {
  if (m.kind === 'exact') return m.text === callerArn
  return (
    callerArn.length > m.prefix.length &&
    callerArn.startsWith(m.prefix) &&
    callerArn.indexOf('/', m.prefix.length) === -1
  )
}

/** Is every principal `specific` names also named by `general`? */
export function principalCovers(general: PrincipalMatcher, specific: PrincipalMatcher): boolean {
  if (general.kind === 'exact') return specific.kind === 'exact' && specific.text === general.text
  return specific.kind === 'exact'
    ? matchesPrincipal(general, specific.text)
    : specific.prefix.startsWith(general.prefix)
}
