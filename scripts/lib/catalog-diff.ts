import { spawnSync } from 'node:child_process'
import { basename, dirname } from 'node:path'
import { declaredNames } from '../../src/lib/secrets'
import {
  accessMatrix,
  serviceFilePath,
  stageCatalogFromText,
  type AccessMatrix,
  type StageCatalog,
} from './catalog-model'

/**
 * `npm run catalog -- diff`: the access a change grants and removes, for reviewers of a change to the
 * declarations. Both sides are compiled exactly as packaging compiles them; the comparison is the access
 * matrix (principal × declared name, principal × pattern inside a brokered prefix), plus names whose
 * secret changed (the same name now reads another secret, which is access too).
 */
export interface AccessChange {
  readonly sign: '+' | '-'
  readonly principal: string
  readonly access: 'name' | 'pattern'
  readonly target: string
}

export interface CatalogDiff {
  readonly changes: readonly AccessChange[]
  readonly remapped: readonly { readonly name: string; readonly from: string; readonly to: string }[]
}

/** Bad input for the diff (exit code 2): an unknown revision, or a file missing at it. */
export class DiffInputError extends Error {}

/** The service file's text at a git revision of the repository that holds it. */
export function fileAtRevision(revision: string, file: string): string {
  if (revision.startsWith('-')) throw new DiffInputError(`--against must be a git revision (got ${revision})`)
  const path = serviceFilePath(file)
  const res = spawnSync('git', ['show', `${revision}:./${basename(path)}`], {
    cwd: dirname(path),
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  })
  if (res.status !== 0)
    throw new DiffInputError(
      `git cannot show ${file} at ${revision}: ${(res.stderr || '').trim().split('\n')[0] ?? ''}`,
    )
  return res.stdout
}

function pairs(m: AccessMatrix): Map<string, AccessChange> {
  const out = new Map<string, AccessChange>()
  for (const p of m.principals) {
    for (const name of p.names)
      out.set(`${p.principal}\0name\0${name}`, {
        sign: '+',
        principal: p.principal,
        access: 'name',
        target: name,
      })
    for (const pattern of p.patterns)
      out.set(`${p.principal}\0pattern\0${pattern}`, {
        sign: '+',
        principal: p.principal,
        access: 'pattern',
        target: pattern,
      })
  }
  return out
}

function secretsOf(stage: StageCatalog): Map<string, string> {
  const out = new Map<string, string>()
  for (const name of declaredNames(stage.doc)) out.set(name, stage.catalog.lookup(name)?.secretId ?? '')
  for (const p of stage.doc.prefixes ?? []) out.set(p.pattern, `${p.secretPrefix}*`)
  return out
}

export function diffCatalogs(before: StageCatalog, after: StageCatalog): CatalogDiff {
  const was = pairs(accessMatrix(before))
  const now = pairs(accessMatrix(after))
  const changes: AccessChange[] = [
    ...[...now].filter(([k]) => !was.has(k)).map(([, c]) => c),
    ...[...was].filter(([k]) => !now.has(k)).map(([, c]) => ({ ...c, sign: '-' as const })),
  ].sort((a, b) =>
    a.principal === b.principal
      ? a.target === b.target
        ? a.sign.localeCompare(b.sign)
        : a.target < b.target
          ? -1
          : 1
      : a.principal < b.principal
        ? -1
        : 1,
  )
  const oldSecrets = secretsOf(before)
  const remapped = [...secretsOf(after)]
    .filter(([name, to]) => oldSecrets.has(name) && oldSecrets.get(name) !== to)
    .map(([name, to]) => ({ name, from: oldSecrets.get(name) ?? '', to }))
    .sort((a, b) => (a.name < b.name ? -1 : 1))
  return { changes, remapped }
}

/** Compare the working tree's declarations with those of `revision`. */
export function diffAgainst(
  stage: string,
  revision: string,
  current: StageCatalog,
  file = 'serverless.yml',
): CatalogDiff {
  return diffCatalogs(stageCatalogFromText(stage, fileAtRevision(revision, file), basename(file)), current)
}

export function renderDiff(stage: string, revision: string, d: CatalogDiff): string {
  if (d.changes.length === 0 && d.remapped.length === 0)
    return `stage ${stage}: no change in access between ${revision} and the working tree\n`
  const granted = d.changes.filter((c) => c.sign === '+').length
  const lines = [
    `stage ${stage}, ${revision} → working tree: ${granted} granted, ${d.changes.length - granted} removed, ${d.remapped.length} remapped`,
    ...d.changes.map(
      (c) =>
        `${c.sign} ${c.principal}  ${c.target}${c.access === 'pattern' ? '  (pattern in a brokered prefix)' : ''}`,
    ),
    ...d.remapped.map((r) => `~ ${r.name}: ${r.from} → ${r.to}`),
  ]
  return `${lines.join('\n')}\n`
}
