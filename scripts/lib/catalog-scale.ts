import { randomUUID } from 'node:crypto'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'
import { REPO_ROOT } from '../../infra/stage-declarations'

/**
 * A generated stage at organization scale, for the benchmark and the packaging test: thousands of logical
 * names and hundreds of principals, mixing exact and pattern rules, role families, `+` rules and denies,
 * secrets the stack creates (some rotated), existing secrets by ARN, and prefixes other teams' stacks own
 * (some opting in by tag), with most names declared under those prefixes.
 *
 * Shape, for `teams` teams: each team `tNN` owns the Secrets Manager prefix `tNN/`, brokered as
 * `teams/tNN/*`; its services are `teams/tNN/svc-SSS/<kind>`; its roles are `role/tNN-svc-SSS` (each may
 * read its own service's names, and the team's shared config by exact name), a family `role/tNN-admin-*`
 * (the whole prefix), and a `+` rule giving every service role the team's `…/+/config`; one service role
 * per team is denied the team's certificates. `role/platform-auditor` may read teams t00 and t01, which
 * hold 500 declared names each. The stack's own secrets are `platform/svc-NNN/api-key`, each read by
 * `role/platform-svc-NNN`; the existing ones `legacy/app-NNN/key`, read by `role/legacy-reader`.
 */
export interface ScaleOptions {
  /** Logical names declared in all (managed + by ARN + under prefixes). */
  readonly names: number
  /** Principal strings the rules name (exact ARNs and role families). */
  readonly principals: number
  /** Secrets the stack creates; the first `rotated` of them rotate (random). */
  readonly managed: number
  readonly rotated: number
  /** Existing secrets declared by ARN, outside every prefix. */
  readonly external: number
  readonly teams: number
}

export const SCALE_ACCOUNT_ID = '222222222222'
export const SCALE_STAGE = 'dev'
export const AUDITOR_ROLE = `arn:aws:iam::${SCALE_ACCOUNT_ID}:role/platform-auditor`
export const LEGACY_READER_ROLE = `arn:aws:iam::${SCALE_ACCOUNT_ID}:role/legacy-reader`

export const DEFAULT_SCALE: ScaleOptions = {
  names: 10_000,
  principals: 1_000,
  managed: 100,
  rotated: 50,
  external: 20,
  teams: 20,
}

const KINDS = ['db', 'api-key', 'token', 'cert', 'config', 'queue', 'cache', 'search', 'smtp', 'oauth']
const pad = (n: number, width: number): string => String(n).padStart(width, '0')
const role = (name: string): string => `arn:aws:iam::${SCALE_ACCOUNT_ID}:role/${name}`

interface Rule {
  id: string
  principals: string[]
  allow?: string[]
  deny?: string[]
}

/** How many declared names each team holds: t00 and t01 500 each (the auditor's 1,000), the rest evenly. */
function namesPerTeam(o: ScaleOptions): number[] {
  const underPrefixes = o.names - o.managed - o.external
  const first = Math.min(500, Math.floor(underPrefixes / 2))
  const counts = Array.from({ length: o.teams }, (_, t) => (t < 2 ? first : 0))
  const rest = underPrefixes - counts.reduce((a, b) => a + b, 0)
  const others = o.teams - 2
  for (let t = 2; t < o.teams; t++) counts[t] = Math.floor(rest / others) + (t - 2 < rest % others ? 1 : 0)
  return counts
}

/** The stage's params: what `params.dev` of the generated service file holds. */
export function scaleStageParams(o: ScaleOptions = DEFAULT_SCALE): Record<string, unknown> {
  const secrets: Record<string, unknown> = {}
  for (let i = 0; i < o.managed; i++) {
    secrets[`platform/svc-${pad(i, 4)}/api-key`] = {
      username: `svc_${pad(i, 4)}`,
      readers: [role(`platform-svc-${pad(i, 4)}`)],
      ...(i < o.rotated ? { rotation: { strategy: 'random' } } : {}),
    }
  }
  for (let i = 0; i < o.external; i++) {
    secrets[`legacy/app-${pad(i, 3)}/key`] = {
      arn: `arn:aws:secretsmanager:us-east-1:${SCALE_ACCOUNT_ID}:secret:legacy/app-${pad(i, 3)}-AbCdEf`,
      readers: [LEGACY_READER_ROLE],
    }
  }
  const rules: Rule[] = []
  const perTeam = namesPerTeam(o)
  // Principals left for the teams once the platform roles, the auditor and the legacy reader are counted.
  const teamPrincipals = Math.max(o.teams * 2, o.principals - o.managed - 2)
  for (let t = 0; t < o.teams; t++) {
    const team = `t${pad(t, 2)}`
    secrets[`teams/${team}/*`] = {
      prefix: `${team}/`,
      ...(t % 2 === 0 ? { requireTag: { key: 'secret-broker', value: SCALE_STAGE } } : {}),
    }
    const count = perTeam[t] ?? 0
    const services = Math.ceil(count / KINDS.length)
    for (let n = 0; n < count; n++)
      secrets[
        `teams/${team}/svc-${pad(Math.floor(n / KINDS.length), 3)}/${KINDS[n % KINDS.length] ?? 'db'}`
      ] = {}
    const roles = Math.floor(teamPrincipals / o.teams) - 1 + (t < teamPrincipals % o.teams ? 1 : 0)
    const serviceRoles = Array.from({ length: roles }, (_, s) => role(`${team}-svc-${pad(s, 3)}`))
    rules.push({ id: `${team}-admins`, principals: [role(`${team}-admin-*`)], allow: [`teams/${team}/*`] })
    for (const [s, r] of serviceRoles.entries()) {
      rules.push({
        id: `${team}-svc-${pad(s, 3)}`,
        principals: [r],
        allow: [`teams/${team}/svc-${pad(s % Math.max(1, services), 3)}/*`, `teams/${team}/svc-000/config`],
      })
    }
    rules.push({ id: `${team}-configs`, principals: serviceRoles, allow: [`teams/${team}/+/config`] })
    if (serviceRoles[0] !== undefined)
      rules.push({ id: `${team}-no-certs`, principals: [serviceRoles[0]], deny: [`teams/${team}/+/cert`] })
  }
  rules.push({ id: 'platform-auditor', principals: [AUDITOR_ROLE], allow: ['teams/t00/*', 'teams/t01/*'] })
  return {
    accountId: SCALE_ACCOUNT_ID,
    deploymentRoleArn: `arn:aws:iam::${SCALE_ACCOUNT_ID}:role/secret-broker-deployer`,
    logRetentionDays: 30,
    secrets,
    rules,
  }
}

/**
 * Writes a service file in the repository root (Serverless accepts --config only there): serverless.yml's
 * service with `params.dev` replaced by the generated stage, as JSON (parsed much faster than YAML).
 * Returns its name and a function that removes it.
 */
export function writeScaleServiceFile(o: ScaleOptions = DEFAULT_SCALE): { file: string; remove: () => void } {
  const service = parse(readFileSync(join(REPO_ROOT, 'serverless.yml'), 'utf8')) as Record<string, unknown>
  service['params'] = { default: {}, [SCALE_STAGE]: scaleStageParams(o) }
  const file = `serverless.catalog-scale-${randomUUID().slice(0, 8)}.json`
  writeFileSync(join(REPO_ROOT, file), JSON.stringify(service))
  return { file, remove: () => rmSync(join(REPO_ROOT, file), { force: true }) }
}
