// zod/mini: the same validation, tree-shaken to a few KB in the bundles (full zod is ~460 KB).
import * as z from 'zod/mini'
import { checkCatalogPrincipal, parsePrincipalArn } from '../auth/principal'
import { ConfigError } from '../errors'
import { checkSecretName } from '../../contract/secret-name'
import { ROTATION_STRATEGIES, type RotationStrategyKind } from '../../contract/rotation-strategies'
import { isSecretName, parseSecretArn, secretIdProblem } from '../../contract/secret-id'

/**
 * The catalog: which logical names exist, which secret each one is, and who may read it. It is declared per
 * stage in serverless.yml, checked at packaging time and again at cold start, and is never touched by a
 * request: a broken catalog stops the deploy, not a caller.
 */
export { ROTATION_STRATEGIES, isSecretName, parseSecretArn, secretIdProblem, type RotationStrategyKind }

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
