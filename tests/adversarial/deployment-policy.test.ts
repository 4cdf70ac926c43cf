import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'
import { packageStage } from '../../scripts/package'
import { recordFigures, REPO_ROOT } from './support/adversarial'

/**
 * Deployment policy (T2, T6, T10, T13, T14) on the packaged dev and prod templates, beyond what
 * tests/integration/packaging.test.ts checks: every secret's resource policy denies everyone but the broker
 * and rotation roles; the REST API has a resource policy; the stage is declared in the template with no
 * data-trace logging, no cache, and access logs that hold no headers or bodies; no CORS preflight routes;
 * no secret in any function's environment.
 *
 * The stage settings must be in the template itself: settings Serverless applies by API calls after the
 * deploy (provider.logs.restApi) are invisible to review and to drift detection, and a console change
 * would survive the next deploy.
 */
type Resource = { Type: string; Properties?: Record<string, unknown> }
type Template = { Resources: Record<string, Resource> }
type Statement = {
  Sid?: string
  Effect: string
  Principal?: unknown
  Action: string | string[]
  Resource?: unknown
  Condition?: Record<string, Record<string, unknown>>
}

const asArray = <T>(x: T | T[] | undefined): T[] => (x === undefined ? [] : Array.isArray(x) ? x : [x])
const byType = (t: Template, type: string) => Object.entries(t.Resources).filter(([, r]) => r.Type === type)
const refOf = (x: unknown): string | undefined => (x as { Ref?: string } | undefined)?.Ref
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

  it('gives every secret a resource policy that denies reading to everyone but the broker and rotation roles', () => {
    checks.push(`${stage}: secret resource policies`)
    const secrets = byType(t(), 'AWS::SecretsManager::Secret')
    expect(secrets.length).toBeGreaterThan(0)
    const policies = byType(t(), 'AWS::SecretsManager::ResourcePolicy')
    for (const [id] of secrets) {
      const attached = policies.filter(([, p]) => refOf(p.Properties?.['SecretId']) === id)
      expect([id, attached.length]).toEqual([id, 1])
      const [, policy] = attached[0] as [string, Resource]
      expect(policy.Properties?.['BlockPublicPolicy']).toBe(true)
      const statements = (policy.Properties?.['ResourcePolicy'] as { Statement: Statement[] }).Statement
      // No Allow at all: access comes from the roles' own policies, the resource policy only takes away.
      expect(statements.filter((s) => s.Effect === 'Allow')).toEqual([])
      const denyRead = statements.find(
        (s) =>
          s.Effect === 'Deny' &&
          s.Principal === '*' &&
          asArray(s.Action).some((a) => a === 'secretsmanager:GetSecretValue' || a === 'secretsmanager:*'),
      )
      expect(denyRead).toBeDefined()
      expect(asArray(denyRead?.Resource as string | string[])).toEqual(['*'])
      const exempt = Object.entries(denyRead?.Condition ?? {}).flatMap(([op, kv]) =>
        /^(StringNotEquals|ArnNotEquals|StringNotLike|ArnNotLike)$/.test(op)
          ? asArray(kv['aws:PrincipalArn'] as unknown[])
          : [],
      )
      expect(exempt.length).toBeGreaterThan(0)
      // Exempt are the stack's two function roles, by reference, and nothing else (no wildcard, no account root).
      const exemptRoles = exempt.map(getAttRole)
      expect(exemptRoles.every((r) => r === 'HttpFunctionRole' || r === 'RotationFunctionRole')).toBe(true)
      expect(
        Object.keys(denyRead?.Condition ?? {}).every((op) => /^(StringNotEquals|ArnNotEquals)$/.test(op)),
      ).toBe(true)
    }
  })

  it('lets only the rotation role change a rotated secret', () => {
    checks.push(`${stage}: rotation-only writes`)
    const rotated = new Set(
      byType(t(), 'AWS::SecretsManager::RotationSchedule').map(([, r]) => refOf(r.Properties?.['SecretId'])),
    )
    expect(rotated.size).toBeGreaterThan(0)
    for (const [, p] of byType(t(), 'AWS::SecretsManager::ResourcePolicy')) {
      if (!rotated.has(refOf(p.Properties?.['SecretId']))) continue
      const statements = (p.Properties?.['ResourcePolicy'] as { Statement: Statement[] }).Statement
      const denyWrite = statements.find(
        (s) =>
          s.Effect === 'Deny' &&
          asArray(s.Action).includes('secretsmanager:PutSecretValue') &&
          asArray(s.Action).includes('secretsmanager:UpdateSecretVersionStage'),
      )
      expect(denyWrite).toBeDefined()
      const exempt = Object.values(denyWrite?.Condition ?? {}).flatMap((kv) =>
        asArray(kv['aws:PrincipalArn'] as unknown[]),
      )
      expect(exempt.map(getAttRole)).toEqual(['RotationFunctionRole'])
    }
  })

  it('has an API resource policy that opens nothing but health to principals outside the account', () => {
    checks.push(`${stage}: API resource policy`)
    const [[, api]] = byType(t(), 'AWS::ApiGateway::RestApi') as [[string, Resource]]
    const policy = api.Properties?.['Policy'] as { Statement: Statement[] } | undefined
    expect(policy?.Statement.length).toBeGreaterThan(0)
    for (const s of policy?.Statement ?? []) {
      if (s.Effect !== 'Allow') continue
      const open =
        s.Principal === '*' ||
        asArray((s.Principal as { AWS?: unknown } | undefined)?.AWS as unknown[]).includes('*')
      if (open && s.Condition === undefined)
        expect(asArray(s.Resource as string | string[])).toEqual(['execute-api:/*/GET/health'])
      else expect(JSON.stringify(s.Principal)).toMatch(/AWS::AccountId|aws:SourceVpce|aws:PrincipalOrgID/)
    }
  })

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
