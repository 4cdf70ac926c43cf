import { BadRequestError, UnauthenticatedError } from '../errors'
import type { CallerIdentity } from '../auth/caller'
import { checkSecretName } from '../../contract/secret-name'
import type { BrokerRequest } from './request'
import type { RouteRequest } from './route'

/** Request rules shared by the routes: caller present, no stray query, names from the path, cache directives. */
export const NAME_RULE =
  'Secret names are 1–256 characters of ASCII letters, digits and /_+=.@- in non-empty segments other than "." and "..".'

export function requireCaller(ctx: RouteRequest): CallerIdentity {
  if (ctx.caller === undefined)
    throw new UnauthenticatedError('The request carries no authenticated identity.')
  return ctx.caller
}

export function refuseQuery(req: BrokerRequest): void {
  if (Object.keys(req.query).length > 0) throw new BadRequestError('This endpoint takes no query parameters.')
}

/**
 * The logical name from the `{name+}` path parameter. Percent-encoding never appears in a valid name's path,
 * so any `%` in the raw path (encoded or double-encoded slashes, non-ASCII) is refused before it is decoded.
 */
export function nameFromPath(req: BrokerRequest, param = 'name'): string {
  return checkedName(req.path, req.pathParameters[param])
}

export function checkedName(path: string, name: string | undefined): string {
  if (path.includes('%') || name === undefined || checkSecretName(name) !== undefined) {
    throw new BadRequestError(NAME_RULE)
  }
  return name
}

/** `Cache-Control: no-cache` (or max-age=0) asks for a revalidation against Secrets Manager. */
export function wantsRevalidation(cacheControl: string | undefined): boolean {
  if (cacheControl === undefined) return false
  return cacheControl
    .toLowerCase()
    .split(',')
    .map((d) => d.trim())
    .some((d) => d === 'no-cache' || d === 'max-age=0')
}
