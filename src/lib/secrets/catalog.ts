// zod/mini: the same validation, tree-shaken to a few KB in the bundles (full zod is ~460 KB).
import * as z from 'zod/mini'
import { checkCatalogPrincipal, parsePrincipalArn } from '../auth/principal'
import { ConfigError } from '../errors'
import { checkSecretName } from './secret-name'

/**
 * The catalog: which logical names exist, which secret each one is, and who may read it. It is declared per
 * stage in serverless.yml, checked at packaging time and again at cold start, and is never touched by a
 * request: a broken catalog stops the deploy, not a caller.
 */
export const ROTATION_STRATEGIES = ['random', 'postgres-single-user', 'postgres-alternating-users'] as const
export type RotationStrategyKind = (typeof ROTATION_STRATEGIES)[number]

export interface CatalogEntry {
  readonly name: string
  /** Full ARN in deployed stages; the secret's name in the local stage (serverless-offline resolves no intrinsics). */
  readonly secretId: string
  readonly readers: readonly string[]
  readonly rotationStrategy: RotationStrategyKind | undefined
}

export interface Catalog {
  lookup(name: string): CatalogEntry | undefined
  /** The logical names `principalArn` may read, sorted. */
  namesReadableBy(principalArn: string): readonly string[]
  readonly size: number
}

/**
 * Secrets Manager's own name grammar, and nothing beyond it. A name a user creates: 1–512 ASCII letters,
 * digits and `/_+=.@-`. A name an AWS service creates for a secret it manages: its service id in lower
 * case, one `!`, then the same characters (`rds!db-<uuid>`, `rds!cluster-<uuid>`, `redshift!<cluster>-<user>`,
 * `events!connection/<name>/<uuid>`, `appflow!<account>-<label>`, `databrew!default-…`,
 * `sqlworkbench!<uuid>`). Users cannot create names with `!`, so the prefix form is always a managed secret.
 */
const MAX_SECRET_NAME_CHARS = 512
const NAME_BODY = String.raw`(?:[a-z][a-z0-9-]{0,62}!)?[A-Za-z0-9/_+=.@-]+`
const SECRET_NAME = new RegExp(`^${NAME_BODY}$`)
const SECRET_ARN = new RegExp(
  String.raw`^arn:(aws|aws-cn|aws-us-gov):secretsmanager:([a-z]{2}(?:-[a-z]+)+-\d):(\d{12}):secret:(${NAME_BODY})-[A-Za-z0-9]{6}$`,
)

/** A secret name as Secrets Manager holds it (user-created, or `<service>!…` as a service creates it). */
export function isSecretName(name: string): boolean {
  return name.length <= MAX_SECRET_NAME_CHARS && SECRET_NAME.test(name)
}

/** The parts of a full secret ARN (…:secret:NAME-AbCdEf), or undefined when it is not one. */
export function parseSecretArn(
  arn: string,
): { partition: string; region: string; accountId: string; name: string } | undefined {
  const m = SECRET_ARN.exec(arn)
  if (m === null || (m[4] ?? '').length > MAX_SECRET_NAME_CHARS) return undefined
  return { partition: m[1] ?? '', region: m[2] ?? '', accountId: m[3] ?? '', name: m[4] ?? '' }
}

/** Why `id` is neither a full secret ARN nor a secret name, or undefined when it is one of them. */
export function secretIdProblem(id: string): string | undefined {
  if (parseSecretArn(id) !== undefined || isSecretName(id)) return undefined
  return 'must be a full secret ARN (arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME-AbCdEf) or a secret name (ASCII letters, digits and /_+=.@-, or SERVICE!… as AWS services name the secrets they manage)'
}

const RuntimeCatalogSchema = z.strictObject({
  secrets: z.array(
    z.strictObject({
      name: z.string(),
      secretId: z.string(),
      readers: z.array(z.string()),
      rotationStrategy: z.optional(z.enum(ROTATION_STRATEGIES)),
    }),
  ),
})
export type RuntimeCatalogDocument = z.infer<typeof RuntimeCatalogSchema>

/** Problems found in a catalog, each naming the entry; empty when the catalog is sound. */
export function findCatalogProblems(doc: RuntimeCatalogDocument, accountId: string): string[] {
  const problems: string[] = []
  const seen = new Set<string>()
  for (const [i, entry] of doc.secrets.entries()) {
    const where = `secrets[${i}] (${JSON.stringify(entry.name).slice(0, 80)})`
    const nameProblem = checkSecretName(entry.name)
    if (nameProblem !== undefined)
      problems.push(`${where}: name is not a valid logical name (${nameProblem})`)
    if (entry.name.split('/').at(-1) === 'rotation') {
      problems.push(
        `${where}: a name may not end in the segment "rotation" (reserved for /secrets/{name}/rotation)`,
      )
    }
    if (seen.has(entry.name)) problems.push(`${where}: duplicate name`)
    seen.add(entry.name)
    const arn = parseSecretArn(entry.secretId)
    const idProblem = secretIdProblem(entry.secretId)
    if (idProblem !== undefined) {
      problems.push(`${where}: secretId ${idProblem}`)
    } else if (arn !== undefined && arn.accountId !== accountId) {
      problems.push(
        `${where}: secretId belongs to account ${arn.accountId}, not this stage's account ${accountId}`,
      )
    }
    if (entry.readers.length === 0) problems.push(`${where}: readers is empty (nobody could read it)`)
    const readerSet = new Set<string>()
    for (const reader of entry.readers) {
      const readerProblem = checkCatalogPrincipal(reader)
      if (readerProblem !== undefined)
        problems.push(`${where}: reader ${JSON.stringify(reader)} ${readerProblem}`)
      else if (parsePrincipalArn(reader)?.accountId !== accountId) {
        problems.push(
          `${where}: reader ${reader} is in another account; only ${accountId} principals may read`,
        )
      }
      if (readerSet.has(reader)) problems.push(`${where}: reader ${reader} listed twice`)
      readerSet.add(reader)
    }
  }
  return problems
}

/**
 * Parse and check a catalog document (JSON text or an already parsed object).
 * @throws ConfigError listing every problem at once.
 * @example const catalog = loadCatalog(config.catalogJson, config.accountId)
 */
export function loadCatalog(source: unknown, accountId: string): Catalog {
  let raw: unknown = source
  if (typeof source === 'string') {
    try {
      raw = JSON.parse(source)
    } catch {
      throw new ConfigError('The catalog is not valid JSON')
    }
  }
  const parsed = RuntimeCatalogSchema.safeParse(raw)
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    throw new ConfigError(`The catalog is malformed: ${issues.join('; ')}`)
  }
  const problems = findCatalogProblems(parsed.data, accountId)
  if (problems.length > 0) throw new ConfigError(`The catalog is invalid:\n- ${problems.join('\n- ')}`)

  const byName = new Map<string, CatalogEntry>()
  const byReader = new Map<string, string[]>()
  for (const e of parsed.data.secrets) {
    byName.set(
      e.name,
      Object.freeze({
        name: e.name,
        secretId: e.secretId,
        readers: Object.freeze([...e.readers]),
        rotationStrategy: e.rotationStrategy,
      }),
    )
    for (const r of e.readers) byReader.set(r, [...(byReader.get(r) ?? []), e.name])
  }
  for (const names of byReader.values()) names.sort()
  return Object.freeze({
    lookup: (name: string) => byName.get(name),
    namesReadableBy: (principalArn: string) => byReader.get(principalArn) ?? [],
    size: byName.size,
  })
}
