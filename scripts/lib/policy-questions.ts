import { HTTP_FUNCTIONS, httpFunctionName } from '../../infra/http-functions'
import type { StageParams } from '../../infra/stage-declarations'
import {
  ALLOW_ALL,
  apiArn,
  isAllowed,
  ENCRYPTION_CONTEXT_SURROGATE,
  type Principal,
  type Request,
  type StackPolicies,
} from './policy-evaluation'
import { ANONYMOUS, API_GATEWAY } from './policy-principals'

export { ANONYMOUS, API_GATEWAY, evaluationPrincipals } from './policy-principals'

/**
 * The questions of issue 17 §3, asked of a packaged stack's policies: who can read, write, decrypt and
 * re-policy each secret, who can invoke the API and the functions. Each answer is the set of principals (of
 * policy-principals.ts) AWS would allow. The questions and principals are the same for every stage; docs/SECURITY.md
 * carries prod's answers as `npm run docs:policy` renders them (a test keeps the two equal).
 */
export interface Perimeter {
  /** The generated direct-invocation SCP and boundary (packaging's perimeter/ folder). */
  readonly scp: Request['scp']
  readonly boundary: Request['boundary']
}

export interface Question {
  readonly id: string
  /** The question as docs/SECURITY.md asks it. */
  readonly text: string
  readonly ask: (p: Principal) => Promise<boolean>
  /** Principals asked besides the list (API Gateway, anonymous callers). */
  readonly alsoAsk?: readonly Principal[]
}

const anyOf = async (...checks: (() => Promise<boolean>)[]): Promise<boolean> => {
  for (const c of checks) if (await c()) return true
  return false
}

function secretQuestions(stack: StackPolicies): Question[] {
  const { account, region } = stack.deployment
  const sm = (s: StackPolicies['secrets'][number], action: string) => (p: Principal) =>
    isAllowed({
      principal: p,
      action: `secretsmanager:${action}`,
      resource: s.arn,
      resourceAccount: account,
      resourcePolicy: s.policy,
    })
  const kms = (s: StackPolicies['secrets'][number], action: string) => (p: Principal) =>
    isAllowed({
      principal: p,
      action: `kms:${action}`,
      resource: stack.keyArn,
      resourceAccount: account,
      resourcePolicy: stack.keyPolicy,
      context: {
        'kms:ViaService': `secretsmanager.${region}.amazonaws.com`,
        'kms:CallerAccount': p.arn.split(':')[4] ?? '',
        [`${ENCRYPTION_CONTEXT_SURROGATE}SecretARN`]: s.arn,
      },
    })
  return stack.secrets.flatMap((s) => [
    {
      id: `read ${s.name}`,
      text: `read \`${s.name}\`'s value (GetSecretValue, and the key's Decrypt through Secrets Manager)`,
      ask: async (p) => (await sm(s, 'GetSecretValue')(p)) && kms(s, 'Decrypt')(p),
    },
    {
      id: `put a value of ${s.name}`,
      text: `put a new value of \`${s.name}\` (PutSecretValue, and GenerateDataKey through Secrets Manager)`,
      ask: async (p) => (await sm(s, 'PutSecretValue')(p)) && kms(s, 'GenerateDataKey')(p),
    },
    {
      id: `update ${s.name}`,
      text: `UpdateSecret \`${s.name}\` with a new value (and GenerateDataKey through Secrets Manager)`,
      ask: async (p) => (await sm(s, 'UpdateSecret')(p)) && kms(s, 'GenerateDataKey')(p),
    },
    // The secret's own layer: what its resource policy lets through whatever the key says (the key is a
    // second layer, so a weakened resource policy would hide behind it in the questions above).
    {
      id: `GetSecretValue past ${s.name}'s policy`,
      text: `get past \`${s.name}\`'s resource policy with GetSecretValue (that layer alone)`,
      ask: sm(s, 'GetSecretValue'),
    },
    {
      id: `PutSecretValue past ${s.name}'s policy`,
      text: `get past \`${s.name}\`'s resource policy with PutSecretValue (that layer alone)`,
      ask: sm(s, 'PutSecretValue'),
    },
    {
      id: `UpdateSecret past ${s.name}'s policy`,
      text: `get past \`${s.name}\`'s resource policy with UpdateSecret (that layer alone)`,
      ask: sm(s, 'UpdateSecret'),
    },
    {
      id: `move stages of ${s.name}`,
      text: `move \`${s.name}\`'s version stages (UpdateSecretVersionStage)`,
      ask: sm(s, 'UpdateSecretVersionStage'),
    },
    {
      id: `re-policy ${s.name}`,
      text: `change or delete \`${s.name}\`'s resource policy`,
      ask: (p) =>
        anyOf(
          () => sm(s, 'PutResourcePolicy')(p),
          () => sm(s, 'DeleteResourcePolicy')(p),
        ),
    },
    {
      id: `rotate or delete ${s.name}`,
      text: `rotate, cancel rotation of, delete or replicate \`${s.name}\``,
      ask: (p) =>
        anyOf(
          () => sm(s, 'RotateSecret')(p),
          () => sm(s, 'CancelRotateSecret')(p),
          () => sm(s, 'DeleteSecret')(p),
          () => sm(s, 'ReplicateSecretToRegions')(p),
        ),
    },
  ])
}

function keyQuestions(stack: StackPolicies, layer: 'policy' | 'allows alone'): Question[] {
  const { account, region, stage } = { ...stack.deployment, stage: stack.stage }
  const keyPolicy =
    layer === 'policy'
      ? stack.keyPolicy
      : { ...stack.keyPolicy, Statement: stack.keyPolicy.Statement.filter((s) => s.Effect === 'Allow') }
  const firstSecret = stack.secrets[0]?.arn ?? ''
  const otherStage = `arn:aws:secretsmanager:${region}:${account}:secret:secret-broker/not-${stage}/x-AbCdEf`
  // The layer alone: the key policy's Allows decide, whatever the principal's own IAM policies restrict.
  const asked = (p: Principal): Principal =>
    layer === 'policy' ? p : { ...p, policies: [{ name: 'AdministratorAccess', policy: ALLOW_ALL }] }
  const ask = (action: string, context: Record<string, string>) => (p: Principal) =>
    isAllowed({
      principal: asked(p),
      action: `kms:${action}`,
      resource: stack.keyArn,
      resourceAccount: account,
      resourcePolicy: keyPolicy,
      context,
    })
  const suffix =
    layer === 'policy'
      ? ''
      : " — the key policy's Allows alone: without its Denies, whatever the principal's IAM allows"
  const via = { 'kms:ViaService': `secretsmanager.${region}.amazonaws.com`, 'kms:CallerAccount': account }
  return [
    {
      id: `kms decrypt directly (${layer})`,
      text: `decrypt with the key directly, not through Secrets Manager (a secret's ciphertext and context in hand)${suffix}`,
      ask: ask('Decrypt', { [`${ENCRYPTION_CONTEXT_SURROGATE}SecretARN`]: firstSecret }),
    },
    {
      id: `kms decrypt another stage's secret (${layer})`,
      text: `decrypt through Secrets Manager a secret outside this stage's \`secret-broker/${stage}/\` names${suffix}`,
      ask: ask('Decrypt', { ...via, [`${ENCRYPTION_CONTEXT_SURROGATE}SecretARN`]: otherStage }),
    },
    {
      id: `kms create grant (${layer})`,
      text: `create a grant on the key${suffix}`,
      ask: ask('CreateGrant', {}),
    },
    ...(layer === 'policy'
      ? [
          {
            id: 'kms put key policy',
            text: 'change the key policy (PutKeyPolicy)',
            ask: ask('PutKeyPolicy', {}),
          },
        ]
      : []),
  ]
}

function apiQuestions(stack: StackPolicies, params: StageParams): Question[] {
  const d = stack.deployment
  const invoke = (path: string, vpce: string | undefined) => (p: Principal) =>
    isAllowed({
      principal: p,
      action: 'execute-api:Invoke',
      resource: apiArn(d, `${stack.stage}/${path}`),
      resourceAccount: d.account,
      resourcePolicy: stack.apiPolicy,
      context: vpce === undefined ? {} : { 'aws:SourceVpce': vpce },
    })
  const routes = [
    { id: 'a signed route', path: 'GET/secrets/orders/db' },
    { id: 'health', path: 'GET/health' },
  ]
  if (params.endpointType !== 'PRIVATE')
    return routes.map((r) => ({
      id: `invoke ${r.id}`,
      text: `invoke ${r.id} of the API (\`${r.path}\`; ${params.endpointType}: from anywhere)`,
      ask: invoke(r.path, undefined),
      alsoAsk: [ANONYMOUS],
    }))
  const inside = params.vpcEndpointIds?.[0] ?? ''
  // The guardrail must hold whatever the policy's Allows say: the same request with an Allow for everyone added.
  const careless = {
    ...stack.apiPolicy,
    Statement: [
      ...stack.apiPolicy.Statement,
      { Effect: 'Allow', Principal: '*', Action: 'execute-api:Invoke', Resource: apiArn(d, '*') },
    ],
  }
  const guardrail = (vpce: string) => (p: Principal) =>
    isAllowed({
      principal: p,
      action: 'execute-api:Invoke',
      resource: apiArn(d, `${stack.stage}/GET/secrets/orders/db`),
      resourceAccount: d.account,
      resourcePolicy: careless,
      context: { 'aws:SourceVpce': vpce },
    })
  return [
    ...routes.flatMap((r) => [
      {
        id: `invoke ${r.id} through an endpoint`,
        text: `invoke ${r.id} of the API (\`${r.path}\`) through one of the stage's VPC endpoints`,
        ask: invoke(r.path, inside),
        alsoAsk: [ANONYMOUS],
      },
      {
        id: `invoke ${r.id} from elsewhere`,
        text: `invoke ${r.id} of the API (\`${r.path}\`) from anywhere else (another VPC endpoint, the internet)`,
        ask: invoke(r.path, 'vpce-0ffffffffffffffff'),
        alsoAsk: [ANONYMOUS],
      },
    ]),
    {
      id: 'invoke a signed route through an endpoint, were everyone allowed',
      text: 'invoke a signed route through an endpoint, were an Allow for everyone added to the policy (the Denies alone)',
      ask: guardrail(inside),
      alsoAsk: [ANONYMOUS],
    },
    {
      id: 'invoke a signed route from elsewhere, were everyone allowed',
      text: 'invoke a signed route from elsewhere, were an Allow for everyone added to the policy (the Denies alone)',
      ask: guardrail('vpce-0ffffffffffffffff'),
      alsoAsk: [ANONYMOUS],
    },
  ]
}

function functionQuestions(stack: StackPolicies, perimeter: Perimeter): Question[] {
  const d = stack.deployment
  // The HTTP functions as the SCP names them (a function of another kind is not behind the API).
  const names = new Set(HTTP_FUNCTIONS.map((k) => httpFunctionName(stack.stage, k)))
  const http = stack.functions.filter((f) => names.has(f.name))
  if (http.length !== names.size) throw new Error(`the template lacks some of ${[...names].join(', ')}`)
  const ask =
    (action: string, guard: 'none' | 'scp' | 'boundary') =>
    async (p: Principal): Promise<boolean> => {
      const answers = new Set<boolean>()
      for (const f of http) {
        answers.add(
          await isAllowed({
            principal: p,
            action,
            resource: f.arn,
            resourceAccount: d.account,
            resourcePolicy: f.policy,
            context: p === API_GATEWAY ? { 'aws:SourceArn': apiArn(d, `${stack.stage}/GET/whoami`) } : {},
            scp: guard === 'scp' ? perimeter.scp : undefined,
            boundary: guard === 'boundary' && p !== API_GATEWAY ? perimeter.boundary : undefined,
          }),
        )
      }
      if (answers.size > 1) throw new Error(`${p.id}: ${action} is allowed on some HTTP functions only`)
      return answers.has(true)
    }
  return [
    {
      id: 'invoke the HTTP functions',
      text: 'invoke the HTTP functions directly (lambda:InvokeFunction), with no organization policy',
      ask: ask('lambda:InvokeFunction', 'none'),
      alsoAsk: [API_GATEWAY],
    },
    {
      id: 'invoke the HTTP functions under the SCP',
      text: 'invoke the HTTP functions directly, the generated SCP attached',
      ask: ask('lambda:InvokeFunction', 'scp'),
      alsoAsk: [API_GATEWAY],
    },
    {
      id: 'invoke the HTTP functions under the boundary',
      text: 'invoke the HTTP functions directly, the generated boundary on every non-exempt principal',
      ask: ask('lambda:InvokeFunction', 'boundary'),
      alsoAsk: [API_GATEWAY],
    },
    {
      id: 'shed the boundary',
      text: 'remove or replace the boundary on its own role, the boundary on every non-exempt principal',
      ask: async (p) => {
        if (!p.arn.includes(':role/') || perimeter.boundary === undefined) return false
        const role = p.arn
        const shed = (action: string) =>
          isAllowed({
            principal: p,
            action,
            resource: role,
            resourceAccount: d.account,
            boundary: perimeter.boundary,
          })
        return (await shed('iam:DeleteRolePermissionsBoundary')) || shed('iam:PutRolePermissionsBoundary')
      },
    },
    {
      id: 'open the HTTP functions under the SCP',
      text: 'add an invoke permission to the HTTP functions or change their code, the SCP attached',
      ask: async (p) =>
        (await ask('lambda:AddPermission', 'scp')(p)) || ask('lambda:UpdateFunctionCode', 'scp')(p),
    },
  ]
}

function logQuestions(stack: StackPolicies): Question[] {
  const { account, region } = stack.deployment
  const stream = (fn: string) =>
    `arn:aws:logs:${region}:${account}:log-group:/aws/lambda/secret-broker-${stack.stage}-${fn}:log-stream:x`
  const write = (fn: string) => (p: Principal) =>
    isAllowed({ principal: p, action: 'logs:PutLogEvents', resource: stream(fn), resourceAccount: account })
  return [
    {
      id: 'write the audit log group',
      text: "write into the log group that holds getSecret's audit records",
      ask: write('getSecret'),
    },
    {
      id: 'write the rotation log group',
      text: "write into the rotation function's log group",
      ask: write('rotateSecret'),
    },
  ]
}

/**
 * The invalidation register: a forged item can only make containers revalidate early (the value still comes
 * from Secrets Manager), yet only the invalidation function writes it and only the HTTP functions read it.
 */
function registerQuestions(stack: StackPolicies): Question[] {
  const { account } = stack.deployment
  const ask = (action: string) => (p: Principal) =>
    isAllowed({
      principal: p,
      action: `dynamodb:${action}`,
      resource: stack.registerArn,
      resourceAccount: account,
    })
  return [
    {
      id: 'read the invalidation register',
      text: 'read the invalidation register (GetItem)',
      ask: ask('GetItem'),
    },
    {
      id: 'write the invalidation register',
      text: 'write an item of the invalidation register (UpdateItem or PutItem)',
      ask: async (p) => (await ask('UpdateItem')(p)) || ask('PutItem')(p),
    },
  ]
}

export function questionsFor(stack: StackPolicies, params: StageParams, perimeter: Perimeter): Question[] {
  return [
    ...secretQuestions(stack),
    ...keyQuestions(stack, 'policy'),
    ...keyQuestions(stack, 'allows alone'),
    ...apiQuestions(stack, params),
    ...functionQuestions(stack, perimeter),
    ...logQuestions(stack),
    ...registerQuestions(stack),
  ]
}

/** Every question's answer: the ids of the principals allowed, in the order they are listed. */
export async function answerAll(
  questions: readonly Question[],
  principals: readonly Principal[],
): Promise<Record<string, string[]>> {
  const answers: Record<string, string[]> = {}
  for (const q of questions) {
    const allowed: string[] = []
    for (const p of [...principals, ...(q.alsoAsk ?? [])]) if (await q.ask(p)) allowed.push(p.id)
    answers[q.id] = allowed
  }
  return answers
}
