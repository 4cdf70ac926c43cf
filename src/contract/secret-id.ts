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
