import { loadHttpConfig as loadWithBundled, NO_COMPILED_CATALOG, type Env } from '../../../src/lib/config'
import { ConfigError } from '../../../src/lib/errors'
import { aCatalogDocument } from '../../support/builders'

const base = {
  BROKER_STAGE: 'dev',
  BROKER_ACCOUNT_ID: '123456789012',
  AWS_REGION: 'us-east-1',
}
/** As a bundled function loads it: the catalog comes with the build, not from the environment. */
const CATALOG_JSON = JSON.stringify(aCatalogDocument())
const loadHttpConfig = (env: Env) => loadWithBundled(env, CATALOG_JSON)

describe('loadHttpConfig', () => {
  it('takes the catalog from the build, and refuses to start without one', () => {
    expect(loadHttpConfig(base).catalogJson).toBe(CATALOG_JSON)
    // Unbundled, the placeholder module carries no catalog.
    expect(() => loadWithBundled(base)).toThrow(new ConfigError(NO_COMPILED_CATALOG))
  })

  it('refuses the variable that carried the catalog before it moved into the bundle', () => {
    expect(() => loadHttpConfig({ ...base, BROKER_CATALOG_JSON: CATALOG_JSON })).toThrow(
      new ConfigError('Unknown configuration variable(s): BROKER_CATALOG_JSON'),
    )
  })

  it('reads a valid environment with defaults, frozen', () => {
    const config = loadHttpConfig(base)
    expect(config).toMatchObject({
      stage: 'dev',
      authMode: 'iam',
      cacheTtlMs: 900_000,
      maxStaleMs: 900_000,
      forceRefreshMinIntervalMs: 10_000,
      maxValueAgeMs: 3_600_000,
    })
    expect(Object.isFrozen(config)).toBe(true)
  })

  it.each([
    ['BROKER_CACHE_TTL_SECONDS', '3601', 'BROKER_CACHE_TTL_SECONDS must be an integer 0–3600'],
    ['BROKER_CACHE_TTL_SECONDS', '-1', 'BROKER_CACHE_TTL_SECONDS must be an integer 0–3600'],
    ['BROKER_CACHE_TTL_SECONDS', '5m', 'BROKER_CACHE_TTL_SECONDS must be an integer 0–3600'],
    ['BROKER_STAGE', 'staging', 'BROKER_STAGE must be one of: local, dev, prod'],
    ['BROKER_ACCOUNT_ID', '1234', 'BROKER_ACCOUNT_ID must be a 12-digit AWS account id'],
    ['BROKER_CACHE_TTL_SECOND', '5', 'Unknown configuration variable(s): BROKER_CACHE_TTL_SECOND'],
  ])('refuses %s=%s naming the variable and the valid range', (key, value, message) => {
    expect(() => loadHttpConfig({ ...base, [key]: value })).toThrow(new ConfigError(message))
  })

  it('accepts the TTL range ends', () => {
    expect(loadHttpConfig({ ...base, BROKER_CACHE_TTL_SECONDS: '0' }).cacheTtlMs).toBe(0)
    expect(loadHttpConfig({ ...base, BROKER_CACHE_TTL_SECONDS: '3600' }).cacheTtlMs).toBe(3_600_000)
  })

  it('allows the local SigV4 verifier only in the local stage under serverless-offline', () => {
    const local = { ...base, BROKER_AUTH_MODE: 'local-sigv4', BROKER_LOCAL_CONSUMERS_SECRET_ID: 'keys' }
    expect(() => loadHttpConfig({ ...local, BROKER_STAGE: 'prod', IS_OFFLINE: 'true' })).toThrow(
      /only allowed in the local stage/,
    )
    expect(() => loadHttpConfig({ ...local, BROKER_STAGE: 'local' })).toThrow(
      /only allowed in the local stage/,
    )
    expect(() =>
      loadHttpConfig({
        ...local,
        BROKER_STAGE: 'local',
        IS_OFFLINE: 'true',
        AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
      }),
    ).toThrow(/only allowed/)
    expect(loadHttpConfig({ ...local, BROKER_STAGE: 'local', IS_OFFLINE: 'true' }).authMode).toBe(
      'local-sigv4',
    )
  })
})
