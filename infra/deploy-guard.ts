import { findPlaceholders } from './placeholders'
import type { StageParams } from './stage-declarations'

/**
 * A deploy goes where its stage says, or nowhere. Before `sls deploy` (or `deploy function`, `remove`,
 * `rollback`) changes anything, infra/deploy-plugin.ts asks STS who the credentials are and refuses:
 *
 * - the `local` stage anywhere but a local emulator: it is `npm start`'s stage (demo consumers, the local
 *   SigV4 verifier) and its account id is AWS's documentation account;
 * - a stage still carrying a placeholder of serverless.yml (infra/placeholders.ts);
 * - credentials of another account than the stage's `accountId` (the HTTP functions would then fail every
 *   request at cold start, and the secrets would be created where nobody expects them);
 * - a region other than the stage's `region` (`--region` or a profile's region overriding it).
 *
 * Every message names the value and the fix. Pure: the plugin passes in what it learned.
 */
export interface DeployTarget {
  readonly stage: string
  readonly params: StageParams
  /** The region the deploy would use (Serverless's `--region`, else the provider's, i.e. params.region). */
  readonly region: string
  /** STS GetCallerIdentity of the credentials the deploy would use. */
  readonly caller: { readonly account: string; readonly arn: string }
  /** The loopback emulator every AWS call goes to, when one is configured (see {@link emulatorEndpoint}). */
  readonly emulator: string | undefined
}

/** One problem per line; empty when the deploy may go ahead. */
export function deployRefusals(t: DeployTarget): string[] {
  const { stage, params } = t
  const problems: string[] = []
  if (stage === 'local') {
    if (t.emulator === undefined)
      return [
        "the local stage is npm start's (demo consumers, the local SigV4 verifier, the emulator's account " +
          `${params.accountId}) and is never deployed to AWS: deploy --stage dev or --stage prod, or point ` +
          'AWS_ENDPOINT_URL at a local emulator (http://127.0.0.1:<port>) to deploy it there',
      ]
  } else {
    for (const p of findPlaceholders(stage, params))
      problems.push(
        p.placeholder === p.value
          ? `${p.path} is ${p.value}, ${p.kind}: replace it with ${p.fix}`
          : `${p.path} is ${p.value}, which holds ${p.kind} (${p.placeholder}): replace that with ${p.fix}`,
      )
  }
  if (t.caller.account !== params.accountId)
    problems.push(
      `the credentials are ${t.caller.arn}, of account ${t.caller.account}, but params.${stage}.accountId is ` +
        `${params.accountId}: use credentials of account ${params.accountId} (AWS_PROFILE, or the deployment ` +
        `role's source identity), or correct params.${stage}.accountId`,
    )
  if (t.region !== params.region)
    problems.push(
      `the deploy would go to region ${t.region}, but params.${stage}.region is ${params.region}: drop --region ` +
        `(or the profile's region), or set params.${stage}.region to ${t.region} if the stage moved`,
    )
  return problems
}

/** The message a refused command ends with: what was refused, why, and that nothing changed. */
export function describeDeployRefusal(command: string, stage: string, problems: readonly string[]): string {
  return [
    `Refusing to ${command} stage ${stage}:`,
    ...problems.map((p) => `- ${p}`),
    'Nothing was changed.',
  ].join('\n')
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1'])

function isLoopbackUrl(value: string): boolean {
  try {
    return LOOPBACK.has(new URL(value).hostname)
  } catch {
    return false
  }
}

/**
 * The local emulator a command talks to, or undefined: `AWS_ENDPOINT_URL` (which the AWS SDK v3 — and so
 * osls — sends every service to) on loopback, with no per-service `AWS_ENDPOINT_URL_<SERVICE>` pointing
 * anywhere else. Anything less and some call could reach AWS.
 */
export function emulatorEndpoint(env: Readonly<Record<string, string | undefined>>): string | undefined {
  const all = env['AWS_ENDPOINT_URL']
  if (all === undefined || !isLoopbackUrl(all)) return undefined
  const elsewhere = Object.entries(env).some(
    ([k, v]) => k.startsWith('AWS_ENDPOINT_URL_') && v !== undefined && v !== '' && !isLoopbackUrl(v),
  )
  return elsewhere ? undefined : all
}

/** A secret or key a removed stack left behind, found again before the next deploy. */
export interface RetainedResource {
  readonly type: 'AWS::SecretsManager::Secret' | 'AWS::KMS::Key'
  readonly logicalId: string
  /** The secret's name, or the key's id. */
  readonly name: string
  /** The ARN (a secret's with its suffix; a key's). */
  readonly arn: string
  /** A secret scheduled for deletion: it must be restored (or its deletion completed) first. */
  readonly deletionScheduled?: boolean
}

/**
 * A stack that does not exist, or lacks some of its secrets, while secrets of those names exist: CloudFormation
 * would fail with ResourceExistsException part-way. They were retained by `sls remove` (or by removing a
 * declaration), and hold the passwords the databases have; `npm run adopt` imports them back into the stack.
 */
export function retainedRefusals(stage: string, retained: readonly RetainedResource[]): string[] {
  const secrets = retained.filter((r) => r.type === 'AWS::SecretsManager::Secret')
  if (secrets.length === 0) return []
  const scheduled = secrets.filter((s) => s.deletionScheduled === true)
  return [
    `these secrets already exist, retained by an earlier sls remove (or a removed declaration), and the ` +
      `deploy would fail creating them (ResourceExistsException): ${secrets.map((s) => s.name).join(', ')}. ` +
      `They hold the passwords the databases have. Adopt them into the stack (and their KMS key): ` +
      `npm run adopt -- --stage ${stage}, then deploy again (README, "Removing a stage and deploying it again")`,
    ...scheduled.map(
      (s) =>
        `${s.name} is scheduled for deletion: restore it first (aws secretsmanager restore-secret --secret-id ` +
        `${s.arn}) or, if it is no longer needed, let the deletion complete`,
    ),
  ]
}
