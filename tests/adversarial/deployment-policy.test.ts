import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'
import { packageStage } from '../../scripts/package'
import { recordFigures, REPO_ROOT } from './support/adversarial'

/**
 * Deployment settings (T6, T10) on the packaged dev and prod templates, beyond what
 * tests/integration/packaging.test.ts checks: the stage is declared in the template with no data-trace
 * logging, no cache, and access logs that hold no headers or bodies; no CORS preflight routes; no secret in
 * any function's environment. The policies are evaluated in policy-evaluation.test.ts.
 *
 * The stage settings must be in the template itself: settings Serverless applies by API calls after the
 * deploy (provider.logs.restApi) are invisible to review and to drift detection, and a console change
 * would survive the next deploy.
 */
type Resource = { Type: string; Properties?: Record<string, unknown> }
type Template = { Resources: Record<string, Resource> }

const asArray = <T>(x: T | T[] | undefined): T[] => (x === undefined ? [] : Array.isArray(x) ? x : [x])
const byType = (t: Template, type: string) => Object.entries(t.Resources).filter(([, r]) => r.Type === type)
/** The logical id in `{ Fn::GetAtt: [id, 'Arn'] }`. */
const getAttRole = (x: unknown): string | undefined => {
  const att = (x as { 'Fn::GetAtt'?: [string, string] } | undefined)?.['Fn::GetAtt']
  return att !== undefined && att[1] === 'Arn' ? att[0] : undefined
}
/** Access-log variables that carry headers, bodies, credentials or tokens. */
const FORBIDDEN_LOG_FIELDS =
  /\$input|\$context\.(requestOverride|responseOverride|authorizer\.(claims|principalId)|identity\.(apiKey|cognito))|\$method\.request\.(header|body)|header|body|authorization|cookie|token/i

const templates: Record<string, Template> = {}
const checks: string[] = []

describe.each(['dev', 'prod'])('deployment policy of the packaged %s template', (stage) => {
  beforeAll(() => {
    // A separate output folder from the packaging test's, so the two never read each other's half-written files.
    const result = packageStage(stage, join(REPO_ROOT, '.tmp', 'adversarial-package', stage))
    if (!result.ok) throw new Error(`packaging failed:\n${result.output.slice(-3000)}`)
    templates[stage] = JSON.parse(readFileSync(result.template, 'utf8')) as Template
  }, 120_000)

  const t = () => templates[stage] as Template

  // What the secret, key, API and function policies ALLOW is evaluated, not read for its structure:
  // tests/adversarial/policy-evaluation.test.ts (and perimeter.test.ts for the endpoint types and the side door).

  it('serves no CORS preflight and requires no API key as authentication', () => {
    checks.push(`${stage}: no CORS, no API keys`)
    for (const [id, m] of byType(t(), 'AWS::ApiGateway::Method')) {
      expect([id, m.Properties?.['HttpMethod']]).not.toEqual([id, 'OPTIONS'])
      expect([id, m.Properties?.['ApiKeyRequired']]).toEqual([id, false])
    }
    expect(byType(t(), 'AWS::ApiGateway::ApiKey')).toEqual([])
  })

  it('keeps secrets out of every function environment', () => {
    checks.push(`${stage}: no secret in environments`)
    for (const [id, fn] of byType(t(), 'AWS::Lambda::Function')) {
      const env = JSON.stringify(
        (fn.Properties?.['Environment'] as { Variables?: unknown } | undefined)?.Variables ?? {},
      )
      expect([id, /"password"\s*:|secretAccessKey|BEGIN [A-Z ]*PRIVATE KEY/i.test(env)]).toEqual([id, false])
    }
  })

  /** The stage's settings as the template declares them: an AWS::ApiGateway::Stage, or the Deployment's StageDescription. */
  function declaredStage(): Record<string, unknown> | undefined {
    const stages = byType(t(), 'AWS::ApiGateway::Stage').map(([, r]) => r.Properties ?? {})
    const described = byType(t(), 'AWS::ApiGateway::Deployment')
      .map(([, r]) => r.Properties?.['StageDescription'] as Record<string, unknown> | undefined)
      .filter((d): d is Record<string, unknown> => d !== undefined)
    return [...stages, ...described][0]
  }
  const methodSettings = (s: Record<string, unknown> | undefined) =>
    asArray(s?.['MethodSettings'] as Record<string, unknown>[] | undefined)

  it('declares the API stage in the template with data-trace logging off', () => {
    checks.push(`${stage}: no data trace`)
    const s = declaredStage()
    expect(s).toBeDefined()
    const all = methodSettings(s).find((m) => m['HttpMethod'] === '*' && m['ResourcePath'] === '/*')
    const dataTrace = s?.['DataTraceEnabled'] ?? all?.['DataTraceEnabled']
    expect(dataTrace).toBe(false)
    for (const m of methodSettings(s)) expect(m['DataTraceEnabled']).not.toBe(true)
  })

  it('declares the API stage in the template with no cache', () => {
    checks.push(`${stage}: no stage cache`)
    const s = declaredStage()
    expect(s).toBeDefined()
    expect(s?.['CacheClusterEnabled']).not.toBe(true)
    expect(s?.['CachingEnabled']).not.toBe(true)
    for (const m of methodSettings(s)) expect(m['CachingEnabled']).not.toBe(true)
  })

  it('declares access logs in the template with no headers or bodies', () => {
    checks.push(`${stage}: access logs`)
    const s = declaredStage()
    const access = s?.['AccessLogSetting'] as { DestinationArn?: unknown; Format?: unknown } | undefined
    expect(access?.DestinationArn).toBeDefined()
    expect(typeof access?.Format).toBe('string')
    expect(String(access?.Format)).not.toMatch(FORBIDDEN_LOG_FIELDS)
    expect(String(access?.Format)).toContain('$context.requestId')
  })

  it('leaves no stage setting to deploy-time API calls that could contradict the template (provider.logs.restApi)', () => {
    checks.push(`${stage}: no deploy-time stage settings`)
    const yml = parse(readFileSync(join(REPO_ROOT, 'serverless.yml'), 'utf8')) as {
      provider: { logs?: { restApi?: Record<string, unknown> } }
    }
    const restApi = yml.provider.logs?.restApi
    if (restApi !== undefined) {
      // If Serverless is still asked to patch the stage after the deploy, it must ask for the same thing.
      expect(restApi['fullExecutionData']).toBe(false)
      expect(String(restApi['format'])).not.toMatch(FORBIDDEN_LOG_FIELDS)
    }
    const s = declaredStage()
    const destination = getAttRole(
      (s?.['AccessLogSetting'] as { DestinationArn?: unknown } | undefined)?.DestinationArn,
    )
    expect(destination).toBeDefined()
    expect(t().Resources[destination as string]?.Properties?.['RetentionInDays']).toEqual(expect.any(Number))
  })
})

afterAll(() => {
  recordFigures('deployment-policy', { stages: Object.keys(templates), checks: checks.length })
})
