import { AccessDeniedError, UnauthenticatedError } from '../errors'
import { parsePrincipalArn, type Principal } from './principal'

/** Who is calling, as the broker resolved it: the normalised principal plus where the call came from. */
export interface CallerIdentity {
  readonly principal: Principal
  /** The ARN exactly as the gateway (or the local verifier) reported it, before normalisation. */
  readonly reportedArn: string
  readonly via: 'api-gateway-iam' | 'local-sigv4'
}

/**
 * A caller from API Gateway's AWS_IAM identity (`requestContext.identity.userArn`). No identity means the
 * gateway did not authenticate the call: refused before anything else. Principals from another account are
 * refused too: the catalog only ever lists this account's.
 */
export function resolveCaller(
  reportedArn: string | null | undefined,
  expectedAccountId: string,
  via: CallerIdentity['via'],
): CallerIdentity {
  if (reportedArn === undefined || reportedArn === null || reportedArn === '') {
    throw new UnauthenticatedError('The request carries no authenticated identity.')
  }
  const principal = parsePrincipalArn(reportedArn)
  if (principal === undefined) throw new AccessDeniedError('Only IAM users and roles may call the broker.')
  if (principal.accountId !== expectedAccountId)
    throw new AccessDeniedError('Principals of other accounts may not call the broker.')
  return { principal, reportedArn, via }
}
