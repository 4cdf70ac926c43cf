/**
 * The secret-broker consumer client: SigV4-signed calls to the broker's API, a per-name value cache that
 * revalidates with If-None-Match after a TTL and never goes back to an older version, a rate-limited
 * `refresh` for rotations, values exactly as stored (integers beyond 2^53 as `bigint`, the stored text in
 * `secretString`), typed errors, and bounded, jittered retries. See README.md and docs/CLIENT.md.
 *
 * @example
 * ```ts
 * import { createBrokerClient, NotFoundError } from '@secret-broker/client'
 *
 * const broker = createBrokerClient({ endpoint: process.env.SECRET_BROKER_ENDPOINT!, region: 'eu-west-1', ttlMs: 5 * 60_000 })
 * let db = await broker.getSecret<{ username: string; password: string }>('orders/db')
 * try {
 *   await connect(db)
 * } catch (err) {
 *   if (!isLoginFailure(err)) throw err
 *   db = await broker.refresh('orders/db') // the password was probably just rotated
 *   await connect(db)
 * }
 * ```
 */
export {
  createBrokerClient,
  DEFAULT_MAX_RETRIES,
  DEFAULT_REFRESH_MIN_INTERVAL_MS,
  DEFAULT_TIMEOUT_MS,
  DEFAULT_TTL_MS,
} from './broker-client'
export type {
  BatchGetResult,
  BrokerClient,
  BrokerClientOptions,
  BrokerSecret,
  CallerIdentity,
} from './broker-client'
export type {
  BrokerClientLogger,
  BrokerCredentials,
  BrokerCredentialsProvider,
  FetchLike,
} from './signed-transport'
export { parseLossless } from './served-secret'
export {
  AccessDeniedError,
  BadRequestError,
  BrokerClientError,
  InternalServerError,
  InvalidResponseError,
  InvalidSecretNameError,
  isBrokerClientError,
  LossyNumberError,
  NetworkError,
  NotFoundError,
  PayloadTooLargeError,
  TimeoutError,
  UnauthenticatedError,
  UnavailableError,
  UpstreamRefusedError,
  WrongEndpointError,
} from './client-errors'
export type { BrokerClientErrorCode } from './client-errors'
