import type { IAMClient } from '@aws-sdk/client-iam'
import type { GetCallerIdentity, MysqlConnectAs, RedisConnectAs } from './engines'

/**
 * The side effects of the MySQL/MariaDB, Redis ACL and IAM access key strategies, built once by the
 * composition (compose.ts) and passed to every step, so strategies test with fakes and no engine file
 * constructs a client: connectors that open one session per login, the IAM client (the rotation role's
 * credentials), GetCallerIdentity signed with a key under test, and the sleep between its retries.
 */
export interface EngineClients {
  readonly mysql: MysqlConnectAs
  readonly redis: RedisConnectAs
  readonly iam: IAMClient
  readonly getCallerIdentity: GetCallerIdentity
  /** Waits between GetCallerIdentity retries while a new key propagates (IAM is eventually consistent). */
  readonly sleep: (ms: number) => Promise<void>
}

export type EngineName = keyof EngineClients
