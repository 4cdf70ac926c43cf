import { ROUTES } from '../contract/wire'
import { loadHttpConfig } from '../lib/config'
import { createHttpDeps } from '../lib/deps'
import type { RouteResult } from '../lib/http/route'
import { withHttpStack } from '../lib/middleware/http-stack'

/**
 * GET /health, unauthenticated: the function started (configuration and catalog are valid, since both are
 * checked at cold start). It names no secret and reads nothing.
 */
export async function health(): Promise<RouteResult> {
  return Promise.resolve({ status: 200, body: { status: 'ok' }, audit: { outcome: 'allowed' } })
}

const deps = createHttpDeps(loadHttpConfig())
export const handler = withHttpStack(health, deps, { public: true, method: ROUTES.health.method })
