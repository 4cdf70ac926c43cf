import { runSimulation } from '@cloud-copilot/iam-simulate'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { packageStage } from '../../scripts/package'
import type { Template } from '../../scripts/lib/cfn-resolve'
import {
  ANSWERS_BEGIN,
  ANSWERS_END,
  evaluateTemplate,
  perimeterFromFiles,
  renderPolicyAnswers,
  type Evaluation,
} from '../../scripts/lib/policy-answers'
import { isAllowed, withEncryptionContextSurrogate } from '../../scripts/lib/policy-evaluation'
import type { Perimeter } from '../../scripts/lib/policy-questions'
import { POLICY_MUTATIONS } from './support/policy-mutations'
import { recordFigures, REPO_ROOT } from './support/adversarial'

/**
 * What the packaged prod template's policies ALLOW (issue 17 §3), evaluated with @cloud-copilot/iam-simulate
 * (scripts/lib/policy-evaluation.ts): who can read, write, decrypt and re-policy each secret, who can invoke
 * the API and the functions. The expected answers below are the design; docs/SECURITY.md shows them as the
 * evaluation renders them; every mutation of support/policy-mutations.ts must change at least one answer.
 */
const BROKER = 'broker role'
const ROTATION = 'rotation role'
const INVALIDATION = 'invalidation role'
const DEPLOYER = 'deployment role'
const BREAK_GLASS = 'break-glass role'
const POWER = 'PowerUserAccess principal'
const ADMIN = 'AdministratorAccess principal'
const CONSUMER = 'consumer with execute-api:Invoke'
const OUTSIDER = 'AdministratorAccess of another account'
const API_GATEWAY = 'API Gateway'
const ANONYMOUS = 'anyone (unsigned)'
const OPERATORS = [DEPLOYER, BREAK_GLASS, POWER, ADMIN]

/** A rotated, brokered secret: read by the broker and rotation, written by rotation alone. */
const rotatedBrokered = (name: string): Record<string, string[]> => ({
  [`read ${name}`]: [BROKER, ROTATION],
  [`put a value of ${name}`]: [ROTATION],
  [`update ${name}`]: [],
  [`GetSecretValue past ${name}'s policy`]: [BROKER, ROTATION],
  [`PutSecretValue past ${name}'s policy`]: [ROTATION],
  [`UpdateSecret past ${name}'s policy`]: [],
  [`move stages of ${name}`]: [ROTATION, BREAK_GLASS],
  [`re-policy ${name}`]: [DEPLOYER],
  [`rotate or delete ${name}`]: [DEPLOYER],
})

const EXPECTED_PROD_ANSWERS: Record<string, string[]> = {
  ...rotatedBrokered('orders/db'),
  // The alternating-users master: read only by rotation; its value set by operators acting as the deployment
  // role (the only principal besides rotation the key lets encrypt); not rotated, so its stages stay open.
  'read orders/db-master': [ROTATION],
  'put a value of orders/db-master': [DEPLOYER],
  'update orders/db-master': [DEPLOYER],
  "GetSecretValue past orders/db-master's policy": [ROTATION],
  "PutSecretValue past orders/db-master's policy": OPERATORS,
  "UpdateSecret past orders/db-master's policy": OPERATORS,
  'move stages of orders/db-master': OPERATORS,
  're-policy orders/db-master': [DEPLOYER],
  'rotate or delete orders/db-master': [DEPLOYER],
  ...rotatedBrokered('payments/api-key'),
  'kms decrypt directly (policy)': [],
  "kms decrypt another stage's secret (policy)": [],
  'kms create grant (policy)': [],
  'kms put key policy': [DEPLOYER],
  'kms decrypt directly (allows alone)': [],
  "kms decrypt another stage's secret (allows alone)": [],
  'kms create grant (allows alone)': [],
  'invoke a signed route through an endpoint': [...OPERATORS, CONSUMER],
  'invoke a signed route from elsewhere': [],
  'invoke health through an endpoint': [
    BROKER,
    ROTATION,
    INVALIDATION,
    ...OPERATORS,
    CONSUMER,
    OUTSIDER,
    ANONYMOUS,
  ],
  'invoke health from elsewhere': [],
  'invoke a signed route through an endpoint, were everyone allowed': [
    BROKER,
    ROTATION,
    INVALIDATION,
    ...OPERATORS,
    CONSUMER,
  ],
  'invoke a signed route from elsewhere, were everyone allowed': [],
  'invoke the HTTP functions': [...OPERATORS, API_GATEWAY],
  'invoke the HTTP functions under the SCP': [DEPLOYER, API_GATEWAY],
  'invoke the HTTP functions under the boundary': [DEPLOYER, API_GATEWAY],
  'shed the boundary': [],
  'open the HTTP functions under the SCP': [DEPLOYER],
  'write the audit log group': [BROKER, ...OPERATORS],
  'write the rotation log group': [ROTATION, ...OPERATORS],
  // The register has no resource policy: the stack's roles are kept to their own side, operators' IAM decides.
  'read the invalidation register': [BROKER, ...OPERATORS],
  'write the invalidation register': [INVALIDATION, ...OPERATORS],
}

/** The questions whose answers differ from the expected ones. */
function differences(answers: Record<string, string[]>): string[] {
  const ids = new Set([...Object.keys(answers), ...Object.keys(EXPECTED_PROD_ANSWERS)])
  return [...ids].filter(
    (id) =>
      JSON.stringify([...(answers[id] ?? ['(not asked)'])].sort()) !==
      JSON.stringify([...(EXPECTED_PROD_ANSWERS[id] ?? ['(not expected)'])].sort()),
  )
}

let template: Template
let perimeter: Perimeter
let evaluation: Evaluation
const figures: Record<string, unknown> = {}

beforeAll(async () => {
  const result = packageStage('prod', join(REPO_ROOT, '.tmp', 'policy-evaluation', 'prod'))
  if (!result.ok) throw new Error(`packaging failed:\n${result.output.slice(-3000)}`)
  template = JSON.parse(readFileSync(result.template, 'utf8')) as Template
  perimeter = perimeterFromFiles(result.artifacts)
  evaluation = await evaluateTemplate('prod', template, perimeter)
}, 180_000)

describe('the evaluator, held to answers known from AWS documentation', () => {
  const account = '222222222222'
  const key = `arn:aws:kms:us-east-1:${account}:key/1234abcd-12ab-34cd-56ef-1234567890ab`
  const secret = `arn:aws:secretsmanager:us-east-1:${account}:secret:secret-broker/prod/orders/db-AbCdEf`
  const role = `arn:aws:iam::${account}:role/app`
  const keyPolicy = {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { AWS: role },
        Action: 'kms:Decrypt',
        Resource: '*',
        Condition: {
          StringLike: {
            'kms:EncryptionContext:SecretARN': `arn:aws:secretsmanager:*:${account}:secret:secret-broker/prod/*`,
          },
        },
      },
    ],
  }
  const simulate = async (policy: object, context: Record<string, string>, principal = role) => {
    const r = await runSimulation(
      {
        request: {
          principal,
          action: 'kms:Decrypt',
          resource: { resource: key, accountId: account },
          contextVariables: { 'aws:PrincipalArn': principal, ...context },
        },
        identityPolicies: [],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        resourcePolicy: policy,
      },
      {},
    )
    if (r.resultType === 'error') throw new Error(JSON.stringify(r.errors))
    return r
  }

  it('drops kms:EncryptionContext keys through its public API, so a matching context still reads as denied', async () => {
    const r = await simulate(keyPolicy, { 'kms:EncryptionContext:SecretARN': secret })
    expect(r.resultType).toBe('single')
    if (r.resultType !== 'single') return
    expect(r.result.ignoredContextKeys).toEqual(['kms:EncryptionContext:SecretARN'])
    expect(r.overallResult).toBe('ImplicitlyDenied') // AWS: Allowed
  })

  it('evaluates the encryption context through the surrogate key: allowed when it matches, not otherwise', async () => {
    const surrogate = withEncryptionContextSurrogate(keyPolicy)
    const key_ = 'aws:ResourceTag/kms-encryption-context-SecretARN'
    const matching = await simulate(surrogate, { [key_]: secret })
    const other = await simulate(surrogate, { [key_]: secret.replace('/prod/', '/dev/') })
    expect([matching.overallResult, other.overallResult]).toEqual(['Allowed', 'ImplicitlyDenied'])
    const deny = withEncryptionContextSurrogate({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { AWS: role }, Action: 'kms:Decrypt', Resource: '*' },
        {
          Effect: 'Deny',
          Principal: '*',
          Action: 'kms:Decrypt',
          Resource: '*',
          Condition: { StringNotLike: { 'kms:EncryptionContext:SecretARN': secret } },
        },
      ],
    })
    const denied = await simulate(deny, { [key_]: secret.replace('/prod/', '/dev/') })
    const passed = await simulate(deny, { [key_]: secret })
    expect([denied.overallResult, passed.overallResult]).toEqual(['ExplicitlyDenied', 'Allowed'])
  })

  it('does not model the root user (AWS allows the root user a statement naming it); the docs answer for it', async () => {
    const root = `arn:aws:iam::${account}:root`
    const policy = {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: root },
          Action: 'kms:Decrypt',
          Resource: '*',
          Condition: { ArnEquals: { 'aws:PrincipalArn': root } },
        },
      ],
    }
    const r = await simulate(policy, {}, root)
    expect(r.overallResult).toBe('ImplicitlyDenied')
  })

  it('applies an SCP to a service principal (AWS never does); the generated SCP exempts service principals itself', async () => {
    const fn = `arn:aws:lambda:us-east-1:${account}:function:f`
    const permission = {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Service: 'apigateway.amazonaws.com' },
          Action: 'lambda:InvokeFunction',
          Resource: fn,
        },
      ],
    }
    const scp = (condition?: object) => ({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Deny',
          Action: 'lambda:InvokeFunction',
          Resource: fn,
          ...(condition === undefined ? {} : { Condition: condition }),
        },
      ],
    })
    const ask = (policy: object) =>
      isAllowed({
        principal: { id: 'API Gateway', arn: 'apigateway.amazonaws.com', policies: [] },
        action: 'lambda:InvokeFunction',
        resource: fn,
        resourceAccount: account,
        resourcePolicy: permission,
        scp: policy as never,
      })
    expect(await ask(scp())).toBe(false) // AWS: true
    expect(await ask(scp({ BoolIfExists: { 'aws:PrincipalIsAWSService': 'false' } }))).toBe(true)
  })

  it('reads an API policy Allow for the account as delegation to IAM, as IAM reads an account principal', async () => {
    const api = `arn:aws:execute-api:us-east-1:${account}:a1b2c3d4e5`
    const policy = {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${account}:root` },
          Action: 'execute-api:Invoke',
          Resource: `${api}/*`,
        },
      ],
    }
    const ask = (policies: object[]) =>
      isAllowed({
        principal: { id: 'p', arn: role, policies: policies.map((p, i) => ({ name: `p${i}`, policy: p })) },
        action: 'execute-api:Invoke',
        resource: `${api}/prod/GET/whoami`,
        resourceAccount: account,
        resourcePolicy: policy,
      })
    expect(await ask([])).toBe(false)
    expect(
      await ask([
        {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 'execute-api:Invoke', Resource: `${api}/*` }],
        },
      ]),
    ).toBe(true)
  })

  it('is never asked a request whose context it would ignore: that is an error, not a "no"', async () => {
    await expect(
      isAllowed({
        principal: { id: 'p', arn: role, policies: [] },
        action: 'kms:Decrypt',
        resource: key,
        resourceAccount: account,
        context: { 'kms:EncryptionContext:SecretARN': secret },
      }),
    ).rejects.toThrow(/ignored kms:EncryptionContext:SecretARN/)
  })
})

describe('the packaged prod template, evaluated', () => {
  it('answers every question of issue 17 §3 as designed', () => {
    figures['questions'] = evaluation.questions.length
    figures['principals'] = evaluation.principals.length + 2
    expect(differences(evaluation.answers)).toEqual([])
  })

  it('is what docs/SECURITY.md states (npm run docs:policy rewrites it)', () => {
    const doc = readFileSync(join(REPO_ROOT, 'docs', 'SECURITY.md'), 'utf8')
    const block = doc.slice(doc.indexOf(ANSWERS_BEGIN), doc.indexOf(ANSWERS_END) + ANSWERS_END.length)
    expect(block).toBe(renderPolicyAnswers(evaluation))
  })

  it.each(POLICY_MUTATIONS.map((m) => [m.name, m] as const))(
    'changes at least one answer when mutated: %s',
    async (_name, mutation) => {
      const mutated = mutation.apply({
        template: structuredClone(template),
        perimeter: structuredClone(perimeter),
      })
      const answers = (await evaluateTemplate('prod', mutated.template, mutated.perimeter)).answers
      const changed = differences(answers)
      ;(figures['mutations'] as Record<string, string[]> | undefined) ??= {}
      ;(figures['mutations'] as Record<string, string[]>)[mutation.name] = changed
      expect(changed.length).toBeGreaterThan(0)
    },
    60_000,
  )
})

afterAll(() => {
  recordFigures('policy-evaluation', figures)
})
