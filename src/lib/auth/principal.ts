/**
 * IAM principals as the broker names them. API Gateway reports an assumed-role session as
 * `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`; the catalog lists roles as `arn:aws:iam::ACCOUNT:role/ROLE`,
 * so a session is normalised to its role before any decision. Only users and roles are principals here.
 */
export interface Principal {
  /** The normalised ARN the catalog matches on: `arn:<partition>:iam::<account>:(user|role)/<path><name>`. */
  readonly arn: string
  readonly accountId: string
  readonly kind: 'user' | 'role'
  /** The session name when the caller was an assumed-role session. */
  readonly session?: string
}

const PARTITION = '(aws|aws-cn|aws-us-gov)'
const NAME = '[\\w+=,.@-]{1,128}'
const PATH = '(?:/[\\w+=,.@-]+)*/'
const IAM_ARN = new RegExp(`^arn:${PARTITION}:iam::(\\d{12}):(user|role)(${PATH})(${NAME})$`)
const STS_SESSION = new RegExp(`^arn:${PARTITION}:sts::(\\d{12}):assumed-role/(${NAME})/([\\w+=,.@-]{2,64})$`)

/** A catalog entry or an authenticated caller as a Principal, or undefined when the ARN is not one. */
export function parsePrincipalArn(arn: string): Principal | undefined {
  const iam = IAM_ARN.exec(arn)
  if (iam !== null) {
    const [, , accountId, kind] = iam
    return { arn, accountId: accountId as string, kind: kind as 'user' | 'role' }
  }
  const sts = STS_SESSION.exec(arn)
  if (sts !== null) {
    const [, partition, accountId, role, session] = sts
    // The session ARN does not carry the role's path. Roles with a path must be listed without it
    // (IAM role names are unique per account regardless of path), which the catalog check enforces.
    return {
      arn: `arn:${partition as string}:iam::${accountId as string}:role/${role as string}`,
      accountId: accountId as string,
      kind: 'role',
      session: session as string,
    }
  }
  return undefined
}

/** Catalog principals must be plain IAM users or roles; roles without a path so sessions can match them. */
export function checkCatalogPrincipal(arn: string): string | undefined {
  const p = parsePrincipalArn(arn)
  if (p === undefined || p.session !== undefined || p.arn !== arn) {
    return 'must be an IAM user or role ARN such as arn:aws:iam::123456789012:role/orders-service'
  }
  if (p.kind === 'role' && /:role\/.+\//.test(arn)) {
    return 'must name the role without its path (assumed-role sessions do not carry the path)'
  }
  return undefined
}
