import { isDeepStrictEqual } from 'node:util'

/**
 * A deploy never changes a live credential. CloudFormation generates a managed secret's value from its
 * `GenerateSecretString` when it creates the secret — and again whenever that property changes on an update
 * (aws-cloudformation/cloudformation-coverage-roadmap #2210, #1161). The stored password would then no longer
 * be the database's (or the update fails on the rotated secrets' write Deny and rolls back).
 *
 * So a deployed secret's generation inputs — username, fields, password length and excluded characters — are
 * fixed, and a deploy that would change them is refused before CloudFormation is asked to do anything
 * (infra/credential-guard-hook.ts, a Serverless plugin; `npm run package -- --deployed-template <file>` checks the same offline).
 * Only the first deploy of a secret generates a password. What to do instead is in {@link describeRefusal}.
 */
type Resource = { Type?: string; Properties?: Record<string, unknown> }
export type Template = { Resources?: Record<string, Resource> }

export interface CredentialChange {
  readonly logicalId: string
  readonly secretName: string
  /** What changed, by input: `username`, `fields.host`, `passwordLength`, `excludeCharacters`, … */
  readonly changes: readonly string[]
  /** The deployed inputs that must stay, for the message. */
  readonly deployed: { readonly passwordLength?: unknown; readonly username?: unknown }
}

interface Generation {
  SecretStringTemplate?: unknown
  GenerateStringKey?: unknown
  PasswordLength?: unknown
  ExcludeCharacters?: unknown
  [other: string]: unknown
}

const SECRET = 'AWS::SecretsManager::Secret'

function parseTemplate(value: unknown): Record<string, unknown> | undefined {
  if (typeof value !== 'string') return undefined
  try {
    const parsed: unknown = JSON.parse(value)
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

/** The inputs that differ, named as a declaration names them (values are never needed, so never shown). */
function changedInputs(before: Generation, after: Generation | undefined): string[] {
  if (after === undefined) return ['GenerateSecretString removed']
  const changes: string[] = []
  const was = parseTemplate(before.SecretStringTemplate) ?? {}
  const now = parseTemplate(after.SecretStringTemplate) ?? {}
  if (!isDeepStrictEqual(was['username'], now['username'])) changes.push('username')
  const fieldNames = new Set([...Object.keys(was), ...Object.keys(now)].filter((k) => k !== 'username'))
  for (const f of [...fieldNames].sort()) if (!isDeepStrictEqual(was[f], now[f])) changes.push(`fields.${f}`)
  if (!isDeepStrictEqual(before.PasswordLength, after.PasswordLength)) changes.push('passwordLength')
  if (!isDeepStrictEqual(before.ExcludeCharacters, after.ExcludeCharacters)) changes.push('excludeCharacters')
  const known = new Set(['SecretStringTemplate', 'PasswordLength', 'ExcludeCharacters'])
  for (const k of new Set([...Object.keys(before), ...Object.keys(after)]))
    if (!known.has(k) && !isDeepStrictEqual(before[k], after[k])) changes.push(`GenerateSecretString.${k}`)
  // Anything else that differs (a template that is not JSON, say) still changes the property.
  if (changes.length === 0 && !isDeepStrictEqual(before, after)) changes.push('GenerateSecretString')
  return changes
}

/**
 * The managed secrets whose `GenerateSecretString` the next template would change, compared with the deployed
 * template by logical id. New secrets (not yet deployed) and removed ones are not changes of a live value.
 */
export function generationChanges(deployed: Template, next: Template): CredentialChange[] {
  const out: CredentialChange[] = []
  for (const [id, before] of Object.entries(deployed.Resources ?? {})) {
    if (before.Type !== SECRET) continue
    const after = next.Resources?.[id]
    if (after === undefined || after.Type !== SECRET) continue
    const was = before.Properties?.['GenerateSecretString'] as Generation | undefined
    if (was === undefined) continue
    const now = after.Properties?.['GenerateSecretString'] as Generation | undefined
    if (isDeepStrictEqual(was, now)) continue
    const template = parseTemplate(was.SecretStringTemplate) ?? {}
    out.push({
      logicalId: id,
      secretName:
        [after.Properties?.['Name'], before.Properties?.['Name']].find((n) => typeof n === 'string') ?? id,
      changes: changedInputs(was, now),
      deployed: { passwordLength: was.PasswordLength, username: template['username'] },
    })
  }
  return out
}

/** The refusal, naming each secret and input, and the ways to make the change without touching the credential. */
export function describeRefusal(changes: readonly CredentialChange[]): string {
  const lines = changes.map(
    (c) =>
      `- ${c.secretName} (${c.logicalId}): ${c.changes.join(', ')} changed` +
      (c.changes.includes('passwordLength')
        ? ` (deployed passwordLength: ${String(c.deployed.passwordLength)})`
        : ''),
  )
  return [
    'Refusing to deploy: CloudFormation would generate a new password for these deployed secrets, because',
    "their GenerateSecretString changed, and the stored password would no longer be the database's:",
    ...lines,
    'A deployed secret keeps the username, fields and password settings it was created with. Instead:',
    "- password settings (the secret's passwordLength/excludeCharacters, or the stage's passwordLength/",
    '  passwordExcludeCharacters): keep the deployed values on the secret and set rotation.passwordLength /',
    '  rotation.excludeCharacters; the next rotation uses them and the current password stays valid.',
    '- username or fields: declare a new secret (a new logical name) with the new values, give its user its',
    '  first password, move the readers to it, then remove the old declaration (its secret is retained).',
    'Nothing was changed.',
  ].join('\n')
}

/** Where the deployed template comes from: CloudFormation's GetTemplate, or a file. */
export type DeployedTemplateSource = () => Promise<string | undefined>

/**
 * The refusal for deploying `next` over the template whose body is `deployedBody`, or undefined.
 * @throws when the deployed template is not JSON (the check fails closed).
 */
export function credentialRefusal(deployedBody: string, next: Template): string | undefined {
  let deployed: Template
  try {
    deployed = JSON.parse(deployedBody) as Template
  } catch {
    throw new Error(
      'Refusing to deploy: the deployed template is not JSON, so the secrets it generated cannot be compared',
    )
  }
  const changes = generationChanges(deployed, next)
  return changes.length === 0 ? undefined : describeRefusal(changes)
}

/**
 * The check a deploy runs before any change: undefined when the stack does not exist yet (`source` gives
 * undefined: the first deploy generates every password) or nothing would change a credential; else the refusal.
 */
export async function checkDeployedCredentials(
  source: DeployedTemplateSource,
  next: Template,
): Promise<string | undefined> {
  const body = await source()
  return body === undefined ? undefined : credentialRefusal(body, next)
}
