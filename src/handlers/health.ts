import { loadHttpConfig } from '../lib/config'
import { createHttpDeps } from '../lib/deps'
import { withHttpStack } from '../lib/middleware/http-stack'
import type { BrokerResponse } from '../lib/middleware/http-types'

/**
 * GET /health, unauthenticated: the function started (configuration and catalog are valid, since both are
 * checked at cold start). It names no secret and reads nothing.
 */
export async function health(): Promise<BrokerResponse> {
  return Promise.resolve({ status: 200, body: { status: 'ok' } })
}

const deps = createHttpDeps(loadHttpConfig())
export const handler = withHttpStack(health, deps, { public: true })
