import { writeSync } from 'node:fs'
import type { APIGatewayProxyEvent } from 'aws-lambda'

/**
 * The one log line every peer writes per request, so that logging costs the same everywhere: an
 * access record shaped like the broker's audit line (who, what, when, outcome, duration), serialised with
 * JSON.stringify and written synchronously to fd 1, exactly as src/lib/audit.ts writes the broker's.
 */
export function writeAccessLine(
  event: APIGatewayProxyEvent,
  status: number,
  startedAt: number,
  versionId?: string,
): void {
  const identity = event.requestContext.identity
  const record = {
    audit: 'secret.access',
    time: new Date(startedAt).toISOString(),
    requestId: event.requestContext.requestId,
    principal: identity.userArn ?? undefined,
    accountId: identity.accountId ?? undefined,
    sourceIp: identity.sourceIp,
    userAgent: identity.userAgent ?? undefined,
    method: event.httpMethod,
    route: event.resource,
    status,
    outcome: status < 400 ? 'allowed' : 'error',
    secretName: event.pathParameters?.['name'],
    versionId,
    durationMs: Date.now() - startedAt,
  }
  writeSync(1, `${JSON.stringify(record)}\n`)
}

/** A configured number of seconds, `undefined` for "the library's default" (the env var unset or `default`). */
export function secondsFromEnv(key: string): number | undefined {
  const raw = process.env[key]
  if (raw === undefined || raw === '' || raw === 'default') return undefined
  const n = Number(raw)
  if (!Number.isFinite(n)) throw new Error(`${key} must be a number of seconds or "default"`)
  return n
}

export function requiredEnv(key: string): string {
  const raw = process.env[key]
  if (raw === undefined || raw === '') throw new Error(`${key} is required`)
  return raw
}

export const JSON_HEADERS = { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' } as const
