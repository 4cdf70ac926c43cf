/**
 * The placeholders serverless.yml's dev and prod stages ship with, declared once. A stage that still carries
 * one cannot be deployed (infra/deploy-guard.ts): the value names something that does not exist, or that
 * belongs to someone else (AWS's documentation account, a mailbox at a reserved domain).
 *
 * Each kind says how it is recognised and what the operator replaces it with. serverless.yml uses exactly
 * these forms, and tests/unit/infra/deploy-guard.test.ts holds it to them: every value its dev and prod
 * stages mark "set … before deploying" is found here.
 */
export interface PlaceholderKind {
  readonly kind: string
  /** The placeholder found in a params string, or undefined. */
  find(value: string): string | undefined
  /** What to put there instead. */
  readonly fix: string
}

/**
 * Account ids no real stage has: one digit twelve times (serverless.yml's 111111111111 and 222222222222) and
 * 123456789012, AWS's documentation account (also moto's, so only the local stage may use it).
 */
const PLACEHOLDER_ACCOUNT = /(?<!\d)(?:(\d)\1{11}|123456789012)(?!\d)/

/** Mailboxes at domains reserved for examples and tests (RFC 2606, RFC 6761). */
const PLACEHOLDER_EMAIL =
  /[^\s@]+@(?:[^\s@]+\.)?(?:example\.(?:com|net|org)|example|test|invalid|localhost)$/i

/** An interface endpoint id of one repeated hex digit (serverless.yml's vpce-22222222222222222). */
const PLACEHOLDER_VPC_ENDPOINT = /^vpce-([0-9a-f])\1{7,16}$/

export const PLACEHOLDER_KINDS: readonly PlaceholderKind[] = [
  {
    kind: 'a placeholder account id',
    find: (v) => PLACEHOLDER_ACCOUNT.exec(v)?.[0],
    fix: "the stage's 12-digit account id (aws sts get-caller-identity with the stage's credentials)",
  },
  {
    kind: 'an address at a reserved example domain',
    find: (v) => (PLACEHOLDER_EMAIL.test(v) ? v : undefined),
    fix: "the team's on-call address, or remove alarmEmail and subscribe to the topic yourself",
  },
  {
    kind: 'a placeholder VPC endpoint id',
    find: (v) => (PLACEHOLDER_VPC_ENDPOINT.test(v) ? v : undefined),
    fix: "the ids of the consumers' interface endpoints for com.amazonaws.<region>.execute-api (aws ec2 describe-vpc-endpoints)",
  },
]

export interface PlaceholderFound {
  /** Where, as a params path: `params.prod.alarmEmail`, `params.dev.secrets.orders/db.readers[0]`. */
  readonly path: string
  readonly value: string
  /** The placeholder itself: the value, or the part of it that is one (an account id inside an ARN). */
  readonly placeholder: string
  readonly kind: string
  readonly fix: string
}

/** Every placeholder in a stage's params (strings at any depth; object keys are names, not values). */
export function findPlaceholders(stage: string, params: unknown): PlaceholderFound[] {
  const found: PlaceholderFound[] = []
  const walk = (value: unknown, path: string): void => {
    if (typeof value === 'string') {
      for (const k of PLACEHOLDER_KINDS) {
        const hit = k.find(value)
        if (hit !== undefined) found.push({ path, value, placeholder: hit, kind: k.kind, fix: k.fix })
      }
    } else if (Array.isArray(value)) {
      value.forEach((v, i) => walk(v, `${path}[${i}]`))
    } else if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) walk(v, `${path}.${k}`)
    }
  }
  walk(params, `params.${stage}`)
  return found
}
