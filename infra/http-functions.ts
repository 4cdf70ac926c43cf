import { ROUTES } from '../src/contract/wire'
import { SERVICE_NAME } from './stage-declarations'

/**
 * The HTTP functions, as serverless.yml declares them (one per route of the wire contract), and the names
 * AWS gives them: the resource policy, the direct-invocation policies and the detection all name the same set.
 * A packaging test checks that the template's HTTP functions are exactly these.
 */
export type HttpFunctionKey = keyof typeof ROUTES

export const HTTP_FUNCTIONS = Object.keys(ROUTES) as HttpFunctionKey[]

/**
 * The method and path of every signed route that API Gateway serves (AWS_IAM): every route but health, each
 * under its path and under every alias it keeps working, so a policy naming them misses none.
 */
export const SIGNED_ROUTES: { method: string; path: string }[] = HTTP_FUNCTIONS.filter(
  (k) => k !== 'health',
).flatMap((k) => {
  const route: { method: string; path: string; aliases?: readonly string[] } = ROUTES[k]
  return [route.path, ...(route.aliases ?? [])].map((path) => ({ method: route.method, path }))
})

/** The function's name in Lambda: Serverless's `<service>-<stage>-<function>`. */
export const httpFunctionName = (stage: string, key: HttpFunctionKey): string =>
  `${SERVICE_NAME}-${stage}-${key}`

/** The function's logical id in the template: Serverless's `<Function>LambdaFunction`. */
export const httpFunctionLogicalId = (key: HttpFunctionKey): string =>
  `${key.charAt(0).toUpperCase()}${key.slice(1)}LambdaFunction`

/** The route as an execute-api resource of any stage; a greedy path parameter becomes a wildcard. */
export function executeApiResource(route: { method: string; path: string }): string {
  return `execute-api:/*/${route.method}${route.path.replace(/\{[^}]+\+\}/g, '*')}`
}
