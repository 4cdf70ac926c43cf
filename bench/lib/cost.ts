/**
 * What the fleet costs a month, from the measured hour: the prices used (us-east-1, on demand, with where
 * and when each was read), the register's share, and the whole cost of ownership of the broker beside
 * services that read Secrets Manager themselves. Pure arithmetic over the measured figures; every assumption
 * that is not measured is a named constant below, and docs/PERFORMANCE.md states it.
 */
export const PRICES_READ_ON = '2026-11-30'

export interface Price {
  readonly usd: number
  readonly per: string
  readonly source: string
}

export const PRICES = {
  secretsManagerCalls: {
    usd: 0.05,
    per: '10,000 API calls',
    source: 'https://aws.amazon.com/secrets-manager/pricing/ (the figure this benchmark has always used)',
  },
  secretsManagerSecret: {
    usd: 0.4,
    per: 'secret-month',
    source: 'https://aws.amazon.com/secrets-manager/pricing/',
  },
  dynamoDbRead: {
    usd: 0.125,
    per: 'million read request units (on demand)',
    source:
      'https://aws.amazon.com/dynamodb/pricing/on-demand/ (the page renders its table client-side; figure as quoted after the Nov 2024 50 % cut by airbyte.com/data-engineering-resources/dynamodb-pricing, 2025-07-21)',
  },
  dynamoDbWrite: {
    usd: 0.625,
    per: 'million write request units (on demand)',
    source: 'as above',
  },
  apiGatewayRest: {
    usd: 3.5,
    per: 'million REST API requests (first 333 million a month)',
    source:
      'AWS whitepaper "Best Practices for Designing Amazon API Gateway Private APIs and Private Integration", Cost optimization, Table 4',
  },
  apiGatewayHttp: {
    usd: 1.0,
    per: 'million HTTP API requests (first 300 million a month)',
    source: 'as above',
  },
  lambdaRequests: {
    usd: 0.2,
    per: 'million invocations',
    source: 'https://aws.amazon.com/lambda/pricing/',
  },
  lambdaArmGbSecond: {
    usd: 0.0000133334,
    per: 'GB-second (arm64)',
    source:
      'https://aws.amazon.com/lambda/pricing/ (arm64 rate as tabulated in artillery@2.0.28 lib/platform/aws-lambda/prices.js)',
  },
  eventBridgeServiceEvents: {
    usd: 0,
    per: 'AWS service event on the default bus',
    source:
      'https://aws.amazon.com/eventbridge/pricing/ ("AWS management events are ingested by the event bus for free")',
  },
} as const satisfies Record<string, Price>

export const FLEET = { containers: 100, secrets: 20 } as const
export const HOURS_PER_MONTH = 730
/** A cache-hit invocation of the broker as Lambda bills it (1 ms granularity); an assumption, not measured here. */
export const BROKER_BILLED_MS = 5
export const BROKER_MEMORY_GB = 0.5
/** An eventually consistent read of an item under 4 KB; a transactional write of an item under 1 KB. */
export const RRU_PER_EC_READ = 0.5
export const WRU_PER_TRANSACTIONAL_WRITE = 2

export const secretsManagerUsd = (calls: number): number => (calls / 10_000) * PRICES.secretsManagerCalls.usd

/** Per-secret, per-container hourly calls → the fleet's month. */
export const monthlyFleetCalls = (callsPerSecretContainerHour: number): number =>
  callsPerSecretContainerHour * HOURS_PER_MONTH * FLEET.containers * FLEET.secrets

/**
 * The register's month for the fleet, from one container's measured hour with one secret:
 * - the generation GetItem is per container, whatever it holds (measured count);
 * - each move makes every container read the items of all the secrets it holds (one BatchGetItem of
 *   FLEET.secrets keys), and there are as many moves as secrets rotating in the hour (the bench hour has one
 *   rotation per secret, as the Secrets Manager figures assume);
 * - each move is one TransactWriteItems of two updates, and one invocation of the invalidation function.
 */
export interface RegisterMonth {
  readonly readUnits: number
  readonly writeUnits: number
  readonly readUsd: number
  readonly writeUsd: number
  readonly functionUsd: number
  readonly usd: number
}

export function registerMonth(hour: {
  registerGetItem: number
  registerBatchGetItem: number
}): RegisterMonth {
  const movesPerHour = hour.registerBatchGetItem > 0 ? FLEET.secrets : 0
  const rruPerContainerHour =
    hour.registerGetItem * RRU_PER_EC_READ + movesPerHour * FLEET.secrets * RRU_PER_EC_READ
  const readUnits = rruPerContainerHour * FLEET.containers * HOURS_PER_MONTH
  const eventsPerMonth = movesPerHour * HOURS_PER_MONTH
  const writeUnits = eventsPerMonth * 2 * WRU_PER_TRANSACTIONAL_WRITE
  const readUsd = (readUnits / 1e6) * PRICES.dynamoDbRead.usd
  const writeUsd = (writeUnits / 1e6) * PRICES.dynamoDbWrite.usd
  // The invalidation function: one short invocation (256 MB, ~50 ms billed) per event.
  const functionUsd =
    (eventsPerMonth / 1e6) * PRICES.lambdaRequests.usd +
    eventsPerMonth * 0.05 * 0.25 * PRICES.lambdaArmGbSecond.usd
  return { readUnits, writeUnits, readUsd, writeUsd, functionUsd, usd: readUsd + writeUsd + functionUsd }
}

/** One column of the ownership table: who reads Secrets Manager, through what, how often. */
export interface OwnershipColumn {
  readonly label: string
  readonly lines: Readonly<Record<OwnershipLine, number>>
  readonly total: number
  readonly requestsPerMonth: number
}

export const OWNERSHIP_LINES = [
  'API Gateway requests',
  'Lambda invocations',
  'Lambda duration',
  'Secrets Manager API calls',
  'Secrets Manager secrets',
  'Invalidation register and function',
] as const
export type OwnershipLine = (typeof OWNERSHIP_LINES)[number]

/**
 * The same fleet both ways: FLEET.containers service containers each using FLEET.secrets secrets.
 * - direct: each container reads Secrets Manager itself with a 300 s cache (`directCallsPerSecretHour`,
 *   measured: Powertools with maxAge 300 s);
 * - broker: each container uses the consumer client with TTL `clientTtlS` (a 304 when nothing changed), so
 *   the broker gets FLEET.containers × FLEET.secrets × 3600 / TTL requests an hour; the broker's own warm
 *   containers (counted as FLEET.containers, an upper bound: a broker container serves many consumers) make
 *   `brokerCallsPerSecretHour` Secrets Manager calls per secret and read the register.
 */
export function ownership(opts: {
  directCallsPerSecretHour: number
  brokerCallsPerSecretHour: number
  register: RegisterMonth
  clientTtlS: number
  api: 'rest' | 'http'
}): { direct: OwnershipColumn; broker: OwnershipColumn } {
  const secrets = FLEET.secrets * PRICES.secretsManagerSecret.usd
  const directLines: Record<OwnershipLine, number> = {
    'API Gateway requests': 0,
    'Lambda invocations': 0,
    'Lambda duration': 0,
    'Secrets Manager API calls': secretsManagerUsd(monthlyFleetCalls(opts.directCallsPerSecretHour)),
    'Secrets Manager secrets': secrets,
    'Invalidation register and function': 0,
  }
  const requests = FLEET.containers * FLEET.secrets * (3600 / opts.clientTtlS) * HOURS_PER_MONTH
  const apiPrice = opts.api === 'rest' ? PRICES.apiGatewayRest.usd : PRICES.apiGatewayHttp.usd
  const brokerLines: Record<OwnershipLine, number> = {
    'API Gateway requests': (requests / 1e6) * apiPrice,
    'Lambda invocations': (requests / 1e6) * PRICES.lambdaRequests.usd,
    'Lambda duration': requests * (BROKER_BILLED_MS / 1000) * BROKER_MEMORY_GB * PRICES.lambdaArmGbSecond.usd,
    'Secrets Manager API calls': secretsManagerUsd(monthlyFleetCalls(opts.brokerCallsPerSecretHour)),
    'Secrets Manager secrets': secrets,
    'Invalidation register and function': opts.register.usd,
  }
  const sum = (l: Record<OwnershipLine, number>): number => Object.values(l).reduce((a, b) => a + b, 0)
  return {
    direct: {
      label: 'services read Secrets Manager directly (300 s cache)',
      lines: directLines,
      total: sum(directLines),
      requestsPerMonth: 0,
    },
    broker: {
      label: `broker (${opts.api === 'rest' ? 'REST API' : 'HTTP API'}), client TTL ${opts.clientTtlS} s`,
      lines: brokerLines,
      total: sum(brokerLines),
      requestsPerMonth: requests,
    },
  }
}
