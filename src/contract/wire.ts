// zod/mini: the same validation, tree-shaken to a few KB in the bundles and in the client.
import * as z from 'zod/mini'

/**
 * The wire contract between the broker's HTTP functions and its consumers, declared once: the handlers build
 * their answers from these types, and the consumer client validates answers against these schemas and maps
 * errors from the problem `type`. Changing a shape here changes both sides, and the compiler finds every use.
 */

/** RFC 9457 problem `type` URIs are this base plus a slug; the slugs are the error codes consumers see. */
export const PROBLEM_TYPE_BASE = 'https://secret-broker.dev/problems/'

export const PROBLEM_SLUGS = [
  'bad-request',
  'unauthenticated',
  'access-denied',
  'not-found',
  'method-not-allowed',
  'payload-too-large',
  'upstream-refused',
  'upstream-unavailable',
  'audit-unavailable',
  'internal',
] as const
export type ProblemSlug = (typeof PROBLEM_SLUGS)[number]

export const problemType = (slug: ProblemSlug): string => PROBLEM_TYPE_BASE + slug

type Mutual<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
/** Assignable both ways, and with every optional member made required too (so no member may be missing). */
type SameShape<A, B> = [Mutual<A, B>, Mutual<Required<A>, Required<B>>] extends [true, true] ? true : false

/**
 * Pins a schema to a type declared beside it: `shaped<T>()(schema)` compiles only when what the schema
 * accepts is exactly `T` (readonly aside), so the two cannot drift apart.
 */
function shaped<T>() {
  return <S extends z.ZodMiniType>(
    schema: S & (SameShape<z.output<S>, T> extends true ? unknown : { readonly schemaDiffersFrom: T }),
  ): S => schema
}

/** The slug of a problem type this contract declares, or undefined for anything else. */
export function problemSlug(type: string): ProblemSlug | undefined {
  if (!type.startsWith(PROBLEM_TYPE_BASE)) return undefined
  const slug = type.slice(PROBLEM_TYPE_BASE.length)
  return (PROBLEM_SLUGS as readonly string[]).includes(slug) ? (slug as ProblemSlug) : undefined
}

export const ProblemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number(),
  detail: z.optional(z.string()),
})
export type Problem = z.infer<typeof ProblemSchema>

/** How a served value reached this answer, in `X-Broker-Cache` and in batch items. */
export const CACHE_STATES = ['hit', 'miss', 'revalidated', 'stale'] as const
export type CacheState = (typeof CACHE_STATES)[number]

/**
 * A secret as served: `value` is the secret's JSON text exactly as stored (numbers, escapes, key order and
 * formatting untouched) when it is a JSON object or array, otherwise the string itself; a binary secret is
 * base64 with `valueEncoding: "base64"`.
 */
export const ServedSecretSchema = z.object({
  name: z.string(),
  versionId: z.string(),
  createdDate: z.optional(z.string()),
  value: z.unknown(),
  valueEncoding: z.optional(z.literal('base64')),
})
export type ServedSecret = z.infer<typeof ServedSecretSchema>

export const BatchItemSchema = z.union([
  z.object({
    name: z.string(),
    status: z.literal(200),
    cache: z.optional(z.enum(CACHE_STATES)),
    versionId: z.string(),
    createdDate: z.optional(z.string()),
    value: z.unknown(),
    valueEncoding: z.optional(z.literal('base64')),
  }),
  z.object({ name: z.string(), status: z.number(), problem: ProblemSchema }),
])
export type BatchItem = z.infer<typeof BatchItemSchema>

export const BatchResponseSchema = z.object({ results: z.array(BatchItemSchema) })
export type BatchResponse = z.infer<typeof BatchResponseSchema>

export const BatchRequestSchema = z.strictObject({ names: z.array(z.string()) })

/**
 * The caller as the broker resolves it (GET /whoami). Written out as a plain type because the consumer
 * package's published declarations may not mention zod (it is bundled, not a dependency); `shaped` makes the
 * compiler refuse a schema that drifts from it in either direction.
 */
export interface Whoami {
  readonly principalArn: string
  readonly accountId: string
  readonly type: 'user' | 'role'
  /** For an assumed-role session: its name; `principalArn` is then the role. */
  readonly sessionName?: string | undefined
  /** For an assumed-role session: the session ARN as the signature named it. */
  readonly reportedArn?: string | undefined
  /** How the broker authenticated the request (API Gateway's IAM authorizer, or the local verifier). */
  readonly authenticatedBy: string
}
export const WhoamiSchema = shaped<Whoami>()(
  z.object({
    principalArn: z.string(),
    accountId: z.string(),
    type: z.enum(['user', 'role']),
    sessionName: z.optional(z.string()),
    reportedArn: z.optional(z.string()),
    authenticatedBy: z.string(),
  }),
)

/**
 * GET /secrets: the declared names the caller may read, and the patterns it may read inside brokered
 * prefixes (secrets other stacks own, which the broker does not list one by one). A pattern is an upper
 * bound: a name under it may still be refused by a narrower deny, or not exist; both answer 404.
 */
export const SecretNamesSchema = z.object({
  names: z.array(z.string()),
  patterns: z.optional(z.array(z.string())),
})
export type SecretNames = z.infer<typeof SecretNamesSchema>

/**
 * What the invalidation register last saw of a secret: `recorded` with the version AWSCURRENT last moved to
 * and when (`movedAt`), the last event recorded and when (`changedAt`), and whether that version is the one
 * Secrets Manager reports as current; `none` when no move was ever recorded; `unavailable` when the register
 * could not be read (or the stage has none).
 */
export const REGISTER_VIEW_STATES = ['recorded', 'none', 'unavailable'] as const
export const RegisterViewSchema = z.object({
  state: z.enum(REGISTER_VIEW_STATES),
  versionId: z.optional(z.string()),
  movedAt: z.optional(z.string()),
  lastEvent: z.optional(z.string()),
  changedAt: z.optional(z.string()),
  matchesCurrent: z.optional(z.boolean()),
})
export type RegisterView = z.infer<typeof RegisterViewSchema>

export const RotationStatusSchema = z.object({
  name: z.string(),
  rotationEnabled: z.boolean(),
  strategy: z.optional(z.string()),
  lastRotatedDate: z.optional(z.string()),
  nextRotationDate: z.optional(z.string()),
  currentVersionId: z.optional(z.string()),
  pendingVersionId: z.optional(z.string()),
  stuck: z.boolean(),
  advice: z.optional(z.string()),
  register: z.optional(RegisterViewSchema),
})
export type RotationStatus = z.infer<typeof RotationStatusSchema>

export const HealthSchema = z.object({ status: z.literal('ok') })

/** Routes and their methods, as API Gateway declares them (serverless.yml) and the client calls them. */
export const ROUTES = {
  health: { method: 'GET', path: '/health' },
  whoami: { method: 'GET', path: '/whoami' },
  listSecrets: { method: 'GET', path: '/secrets' },
  getSecret: { method: 'GET', path: '/secrets/{name+}' },
  // `/batch-get-secrets` signs the same in every SigV4 signer; `/secrets:batchGet` (kept working) has a `:`
  // that curl up to 8.x puts in the canonical path unencoded, where API Gateway expects %3A.
  batchGetSecrets: { method: 'POST', path: '/batch-get-secrets', aliases: ['/secrets:batchGet'] },
} as const

/** Headers of the contract. */
export const HEADERS = {
  cache: 'X-Broker-Cache',
  requestId: 'X-Request-Id',
} as const

export const MAX_BATCH_NAMES = 20
export const MAX_BATCH_BODY_BYTES = 16 * 1024
