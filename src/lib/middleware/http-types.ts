import type { AuditItem, AuditOutcome } from '../audit'
import type { CallerIdentity } from '../auth/caller'
import type { Log } from '../logger'
import type { CacheState } from '../secrets/secret-cache'

/** A request as the broker's logic sees it: normalised once from the API Gateway event. */
export interface BrokerRequest {
  readonly requestId: string
  readonly method: string
  /** The API route template (`/secrets/{name+}`), for audit and metrics: bounded cardinality. */
  readonly route: string
  /** The raw request path as received (used for SigV4 and to refuse percent-encoding). */
  readonly path: string
  readonly pathParameters: Readonly<Record<string, string>>
  /** The route's query parameters: a presigned request's `X-Amz-*` authentication parameters are not among them. */
  readonly query: Readonly<Record<string, string | string[]>>
  /** Lower-cased names. */
  readonly headers: Readonly<Record<string, string>>
  /** Every header line as received (lower-cased name → values in arrival order), for SigV4. */
  readonly rawHeaders: ReadonlyMap<string, readonly string[]>
  /** Every query parameter as received (decoded, in order, authentication parameters included), for SigV4. */
  readonly rawQuery: readonly (readonly [string, string])[]
  readonly body: string | undefined
  readonly bodyBytes: number
  readonly sourceIp: string | undefined
  readonly userAgent: string | undefined
  readonly receivedAt: number
}

/** What the logic fills in as it goes; the audit middleware writes it, success or failure. */
export interface AuditDraft {
  outcome?: AuditOutcome
  reason?: string
  secretName?: string
  versionId?: string
  cache?: CacheState
  staleForMs?: number
  forceRefresh?: 'done' | 'rate-limited'
  items?: AuditItem[]
}

export interface BrokerContext {
  readonly req: BrokerRequest
  caller: CallerIdentity | undefined
  readonly audit: AuditDraft
  readonly log: Log
}

export interface BrokerResponse {
  readonly status: number
  /** Serialised as JSON; omitted for 304. */
  readonly body?: unknown
  readonly headers?: Readonly<Record<string, string>>
}

export type RouteLogic<D> = (ctx: BrokerContext, deps: D) => Promise<BrokerResponse>
