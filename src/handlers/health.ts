import { ROUTES } from '../contract/wire'
import { loadHttpConfig } from '../lib/config'
import { createHttpDeps, type HttpDeps } from '../lib/deps'
import type { RouteRequest, RouteResult } from '../lib/http/route'
import { withHttpStack } from '../lib/middleware/http-stack'

/**
 * GET /health, unauthenticated: the function started (configuration and catalog are valid, since both are
 * checked at cold start). It names no secret and reads nothing. In the local stage it also names the stack
 * that started it, so `npm start` reports serving only when its own API answers.
 */
export async function health(_r: RouteRequest, d: Pick<HttpDeps, 'config'>): Promise<RouteResult> {
  const id = d.config.localStackId
  return Promise.resolve({
    status: 200,
    body: { status: 'ok' },
    ...(id === undefined ? {} : { headers: { 'X-Broker-Local-Stack': id } }),
    audit: { outcome: 'allowed' },
  })
}

const deps = createHttpDeps(loadHttpConfig())
export const handler = withHttpStack(health, deps, { public: true, method: ROUTES.health.method })
