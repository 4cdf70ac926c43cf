import type { CacheState } from '../../contract/wire'
import type { AuditItem, AuditOutcome, ForceRefreshOutcome } from '../audit'
import type { CallerIdentity } from '../auth/caller'
import type { UpstreamCallRecord } from '../errors'
import type { Log } from '../logger'
import type { BrokerRequest } from './request'

/**
 * A route's logic and what it returns. The logic gets the normalised request and the authenticated caller,
 * and returns its answer together with the facts the audit record and the request's metrics need, as data.
 * A failure is thrown as a BrokerError whose `facts` carry the same kind of information.
 */
export interface RouteRequest {
  readonly req: BrokerRequest
  /** The authenticated caller; undefined only on public routes (health). */
  readonly caller: CallerIdentity | undefined
  readonly log: Log
}

/** What the audit record says about a request that did not throw. */
export interface AuditFacts {
  readonly outcome: AuditOutcome
  readonly reason?: string
  readonly versionId?: string
  readonly cache?: CacheState
  readonly staleForMs?: number
  readonly forceRefresh?: ForceRefreshOutcome
  readonly items?: readonly AuditItem[]
  readonly upstream?: readonly UpstreamCallRecord[]
  readonly backedOff?: boolean
  /** Invalidation register calls made by this request (they count in metrics, not in `upstream`). */
  readonly register?: readonly UpstreamCallRecord[]
  /** Secrets this request revalidated at once because the register said their AWSCURRENT moved. */
  readonly invalidated?: number
  /** The request's If-None-Match named a version this container did not hold: it revalidated first. */
  readonly behind?: boolean
}

export interface RouteResult {
  readonly status: number
  /** Serialised as JSON. */
  readonly body?: unknown
  /** A body already serialised as JSON text (a secret's value is embedded byte for byte). */
  readonly bodyText?: string
  readonly headers?: Readonly<Record<string, string>>
  readonly audit: AuditFacts
}

export type RouteLogic<D> = (request: RouteRequest, deps: D) => Promise<RouteResult>
