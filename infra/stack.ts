import { ConfigError } from '../src/lib/errors'
import { findCatalogProblems, parseSecretArn, type RuntimeCatalogDocument } from '../src/lib/secrets/catalog'
import type { RotationDocument } from '../src/rotation/rotation-config'
import { SERVICE_NAME, type SecretDeclaration, type StageDeclarations } from './stage-declarations'

/**
 * Everything serverless.yml computes from a stage's declarations: the CloudFormation resources (KMS key,
 * secrets, their resource policies, rotation schedules, per-function IAM roles) and the environment of
 * the HTTP and rotation functions. Pure: same declarations in, same template out.
 */
type Cfn = Record<string, unknown>

export interface ManagedSecret {
  readonly logicalName: string
  readonly logicalId: string
  /** The secret's name in Secrets Manager. */
  readonly awsName: string
  readonly username: string
  readonly passwordLength: number
  readonly excludeCharacters: string
  readonly fields: Readonly<Record<string, string | number>>
  readonly rotation: SecretDeclaration['rotation']
}

export interface StackPlan {
  readonly decl: StageDeclarations
  readonly managed: readonly ManagedSecret[]
  /** Name of the local stage's demo-consumer key secret (local stage only). */
  readonly localConsumersSecretName: string | undefined
}

export function secretAwsName(stage: string, logicalName: string): string {
  return `${SERVICE_NAME}/${stage}/${logicalName}`
}

function logicalIdFor(logicalName: string): string {
  const pascal = logicalName
    .split(/[^A-Za-z0-9]+/)
    .filter((p) => p.length > 0)
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join('')
  return `Secret${pascal}`
}

export function planStack(decl: StageDeclarations): StackPlan {
  const { params, stage } = decl
  const problems: string[] = []
  const managed: ManagedSecret[] = []
  const ids = new Map<string, string>()
  for (const [name, s] of Object.entries(params.secrets)) {
    if (s.username === undefined) continue
    const logicalId = logicalIdFor(name)
    const clash = ids.get(logicalId)
    if (clash !== undefined)
      problems.push(`secrets "${name}" and "${clash}" map to the same resource id ${logicalId}; rename one`)
    ids.set(logicalId, name)
    managed.push({
      logicalName: name,
      logicalId,
      awsName: secretAwsName(stage, name),
      username: s.username,
      passwordLength: s.passwordLength ?? params.passwordLength,
      excludeCharacters: s.excludeCharacters ?? params.passwordExcludeCharacters,
      fields: s.fields ?? {},
      rotation: s.rotation,
    })
    if (s.rotation?.strategy === 'postgres-alternating-users') {
      const master = s.rotation.masterSecret
      if (master === undefined)
        problems.push(`secrets "${name}": postgres-alternating-users needs rotation.masterSecret`)
      else if (params.secrets[master] === undefined)
        problems.push(`secrets "${name}": masterSecret "${master}" is not declared`)
      else if (master === name) problems.push(`secrets "${name}": a secret cannot be its own masterSecret`)
      else problems.push(...alternatingUsersProblems(name, s, master, params.secrets[master]))
    } else if (s.rotation?.masterSecret !== undefined) {
      problems.push(`secrets "${name}": masterSecret only applies to postgres-alternating-users`)
    }
    if (s.rotation?.strategy.startsWith('postgres') === true) {
      for (const f of ['host', 'port', 'dbname']) {
        if (s.fields?.[f] === undefined)
          problems.push(`secrets "${name}": a PostgreSQL strategy needs fields.${f}`)
      }
      const port = s.fields?.['port']
      if (
        port !== undefined &&
        !(/^\d{1,5}$/.test(String(port)) && Number(port) >= 1 && Number(port) <= 65_535)
      )
        problems.push(`secrets "${name}": fields.port must be a port number (1–65535)`)
    }
  }
  const catalogCheck = findCatalogProblems(
    runtimeCatalogDocument({ decl, managed, localConsumersSecretName: undefined }, (m) => m.awsName),
    params.accountId,
  )
  problems.push(...catalogCheck)
  if (stage === 'local') {
    if (params.localConsumers === undefined || params.localConsumers.length === 0) {
      problems.push('params.local.localConsumers: the local stage needs at least one demo consumer')
    }
  } else if (params.localConsumers !== undefined) {
    problems.push(`params.${stage}.localConsumers: demo consumers exist only in the local stage`)
  }
  const plan: StackPlan = {
    decl,
    managed,
    localConsumersSecretName: stage === 'local' ? `${SERVICE_NAME}/local/_local/consumer-keys` : undefined,
  }
  if (problems.length === 0) problems.push(...environmentSizeProblems(plan))
  if (problems.length > 0)
    throw new ConfigError(`Stage "${stage}" declarations are invalid:\n- ${problems.join('\n- ')}`)
  return plan
}

const CLONE_SUFFIX_LENGTH = '_clone'.length
const PG_MAX_IDENTIFIER = 63

/**
 * postgres-alternating-users declarations that could never rotate. The master logs in with its own username
 * and password; host and port come from the master secret when it has them, else from the rotated secret
 * (an RDS-managed master secret, `rds!db-…`, holds only a username and a password), and the database is
 * always the rotated secret's. So a master given by ARN needs nothing but a well-formed ARN, and a master
 * this stack creates must not name another server.
 */
function alternatingUsersProblems(
  name: string,
  s: SecretDeclaration,
  masterName: string,
  master: SecretDeclaration | undefined,
): string[] {
  const problems: string[] = []
  if ((s.username?.length ?? 0) > PG_MAX_IDENTIFIER - CLONE_SUFFIX_LENGTH)
    problems.push(
      `secrets "${name}": username is longer than ${PG_MAX_IDENTIFIER - CLONE_SUFFIX_LENGTH} characters, so its alternate <username>_clone would exceed PostgreSQL's ${PG_MAX_IDENTIFIER}`,
    )
  if (master?.arn !== undefined && parseSecretArn(master.arn) === undefined)
    problems.push(
      `secrets "${masterName}": arn must be a full secret ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-AbCdEf; names such as rds!db-… are accepted): the rotation function reads the master by ARN`,
    )
  for (const f of ['host', 'port'] as const) {
    const mine = s.fields?.[f]
    const theirs = master?.fields?.[f]
    if (
      mine !== undefined &&
      theirs !== undefined &&
      String(mine).toLowerCase() !== String(theirs).toLowerCase()
    )
      problems.push(
        `secrets "${masterName}": fields.${f} differs from secrets "${name}".fields.${f}; a master must log in to the server it manages (or leave fields.${f} out)`,
      )
  }
  return problems
}

/** Lambda refuses a function whose environment variables (names and values) exceed 4 KB in total. */
export const LAMBDA_ENVIRONMENT_LIMIT_BYTES = 4096

/**
 * The catalog and the rotation targets travel in environment variables, so a stage with many secrets can
 * pass every other check and then fail at deployment. Measure both environments with each secret's ARN
 * expanded at its longest (the `aws-us-gov` partition, the 6-character suffix) and refuse at packaging time.
 */
function environmentSizeProblems(plan: StackPlan): string[] {
  return Object.entries(resolvedEnvironments(plan)).flatMap(([fn, env]) => {
    // Lambda measures the JSON text of the whole map: quotes, separators and escaped quotes count.
    const bytes = Buffer.byteLength(JSON.stringify(env))
    return bytes <= LAMBDA_ENVIRONMENT_LIMIT_BYTES
      ? []
      : [
          `the ${fn} functions' environment would be ${bytes} bytes with the secrets' ARNs expanded; Lambda ` +
            `allows ${LAMBDA_ENVIRONMENT_LIMIT_BYTES}. Split the catalog across stages or services, or shorten names.`,
        ]
  })
}

/**
 * The HTTP and rotation functions' environments as CloudFormation will resolve them, each secret's ARN at
 * its longest: `${SecretX}` in a Sub becomes the ARN, the account id Ref the stage's account.
 */
export function resolvedEnvironments(plan: StackPlan): Record<'http' | 'rotation', Record<string, string>> {
  const { params } = plan.decl
  const awsNames = new Map(plan.managed.map((m) => [m.logicalId, m.awsName]))
  const worstArn = (logicalId: string): string =>
    `arn:aws-us-gov:secretsmanager:${params.region}:${params.accountId}:secret:${awsNames.get(logicalId) ?? logicalId}-AbCdEf`
  // The values as CloudFormation will resolve them: `${SecretX}` in a Sub is a secret's ARN, the account a Ref.
  const resolve = (v: unknown): string => {
    if (typeof v === 'string') return v
    const cfn = v as { 'Fn::Sub'?: string; Ref?: string }
    if (cfn['Fn::Sub'] !== undefined)
      return cfn['Fn::Sub'].replace(/\$\{(\w+)\}/g, (_, id: string) => worstArn(id))
    if (cfn.Ref === 'AWS::AccountId') return params.accountId
    return JSON.stringify(v)
  }
  const resolved = (env: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(env).map(([k, v]) => [k, resolve(v)]))
  return { http: resolved(httpEnvironment(plan)), rotation: resolved(rotationEnvironment(plan)) }
}

/** The runtime catalog, with `secretIdOf` choosing how a managed secret is referenced (name, or a CFN placeholder). */
export function runtimeCatalogDocument(
  plan: StackPlan,
  secretIdOf: (m: ManagedSecret) => string,
): RuntimeCatalogDocument {
  const byName = new Map(plan.managed.map((m) => [m.logicalName, m]))
  return {
    // A secret with no readers (a master credential only the rotation function uses) is not brokered.
    secrets: Object.entries(plan.decl.params.secrets)
      .filter(([, s]) => s.readers.length > 0)
      .map(([name, s]) => {
        const m = byName.get(name)
        const rotationStrategy = s.rotation?.strategy
        return {
          name,
          secretId: m === undefined ? (s.arn as string) : secretIdOf(m),
          readers: s.readers,
          ...(rotationStrategy === undefined ? {} : { rotationStrategy }),
        }
      }),
  }
}

export function rotationDocument(
  plan: StackPlan,
  secretIdOf: (m: ManagedSecret) => string,
): RotationDocument {
  const byName = new Map(plan.managed.map((m) => [m.logicalName, m]))
  return {
    pgSslMode: plan.decl.params.pgSslMode,
    targets: plan.managed
      .filter((m) => m.rotation !== undefined)
      .map((m) => {
        const masterName = m.rotation?.masterSecret
        const master = masterName === undefined ? undefined : byName.get(masterName)
        const masterId =
          master === undefined ? plan.decl.params.secrets[masterName ?? '']?.arn : secretIdOf(master)
        return {
          secretId: secretIdOf(m),
          strategy: m.rotation?.strategy ?? 'random',
          passwordLength: m.passwordLength,
          excludeCharacters: m.excludeCharacters,
          ...(masterId === undefined ? {} : { masterSecretId: masterId }),
        }
      }),
  }
}

const deployed = (m: ManagedSecret): string => `\${${m.logicalId}}`

/** A JSON document with `${LogicalId}` placeholders as a CloudFormation string (Ref of a secret is its ARN). */
function subJson(doc: unknown): Cfn {
  return { 'Fn::Sub': JSON.stringify(doc) }
}

export function httpEnvironment(plan: StackPlan): Record<string, unknown> {
  const { params, stage } = plan.decl
  const local = stage === 'local'
  return {
    BROKER_STAGE: stage,
    BROKER_ACCOUNT_ID: local ? params.accountId : { Ref: 'AWS::AccountId' },
    BROKER_AUTH_MODE: params.authMode,
    BROKER_CATALOG_JSON: local
      ? JSON.stringify(runtimeCatalogDocument(plan, (m) => m.awsName))
      : subJson(runtimeCatalogDocument(plan, deployed)),
    BROKER_CACHE_TTL_SECONDS: String(params.cacheTtlSeconds),
    BROKER_CACHE_MAX_ENTRIES: String(params.cacheMaxEntries),
    BROKER_MAX_STALE_SECONDS: String(params.maxStaleSeconds),
    BROKER_FORCE_REFRESH_MIN_INTERVAL_SECONDS: String(params.forceRefreshMinIntervalSeconds),
    BROKER_MAX_VALUE_AGE_SECONDS: String(params.maxValueAgeSeconds),
    BROKER_UPSTREAM_TIMEOUT_MS: String(params.upstreamTimeoutMs),
    BROKER_LOG_LEVEL: params.logLevel,
    ...(plan.localConsumersSecretName === undefined
      ? {}
      : { BROKER_LOCAL_CONSUMERS_SECRET_ID: plan.localConsumersSecretName }),
  }
}

export function rotationEnvironment(plan: StackPlan): Record<string, unknown> {
  const { params, stage } = plan.decl
  const local = stage === 'local'
  return {
    BROKER_STAGE: stage,
    BROKER_ROTATION_JSON: local
      ? JSON.stringify(rotationDocument(plan, (m) => m.awsName))
      : subJson(rotationDocument(plan, deployed)),
    BROKER_LOG_LEVEL: params.logLevel,
    // Lambda's Node.js 20+ runtimes no longer load Amazon's CA bundle (RDS's roots among them) by default;
    // verify-full against an RDS or Aurora endpoint needs it named here.
    ...(!local &&
    params.pgSslMode === 'verify-full' &&
    plan.managed.some((m) => m.rotation?.strategy.startsWith('postgres') === true)
      ? { NODE_EXTRA_CA_CERTS: LAMBDA_AMAZON_CA_BUNDLE }
      : {}),
  }
}

/** The runtime's bundle of Amazon root CAs (includes the RDS roots). */
export const LAMBDA_AMAZON_CA_BUNDLE = '/var/runtime/ca-cert.pem'

const partitionArn = (service: string, resource: string, region = '${AWS::Region}'): Cfn => ({
  'Fn::Sub': `arn:\${AWS::Partition}:${service}:${region}:\${AWS::AccountId}:${resource}`,
})

function logStatements(stage: string): Cfn[] {
  return [
    {
      Effect: 'Allow',
      Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      Resource: [partitionArn('logs', `log-group:/aws/lambda/${SERVICE_NAME}-${stage}-*:*`)],
    },
  ]
}

function lambdaRole(name: string, statements: Cfn[], extraManaged: Cfn[] = []): Cfn {
  return {
    Type: 'AWS::IAM::Role',
    Properties: {
      RoleName: name,
      AssumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
        ],
      },
      Policies: [{ PolicyName: name, PolicyDocument: { Version: '2012-10-17', Statement: statements } }],
      ...(extraManaged.length > 0 ? { ManagedPolicyArns: extraManaged } : {}),
    },
  }
}

const viaSecretsManager: Cfn = {
  StringEquals: { 'kms:ViaService': { 'Fn::Sub': 'secretsmanager.${AWS::Region}.amazonaws.com' } },
}

export function buildResources(plan: StackPlan): { Resources: Cfn; Outputs: Cfn } {
  const { stage, params } = plan.decl
  const rotated = plan.managed.filter((m) => m.rotation !== undefined)
  const externalArns = Object.values(params.secrets).flatMap((s) =>
    s.arn === undefined || s.readers.length === 0 ? [] : [s.arn],
  )
  const isBrokered = (m: ManagedSecret): boolean => (params.secrets[m.logicalName]?.readers.length ?? 0) > 0
  const brokeredRefs: unknown[] = [
    ...plan.managed.filter(isBrokered).map((m) => ({ Ref: m.logicalId })),
    ...externalArns,
  ]
  const mastersOwned = new Set(
    rotated.flatMap((m) => (m.rotation?.masterSecret === undefined ? [] : [m.rotation.masterSecret])),
  )
  const masterRefs = rotated.flatMap((m) => {
    const master = m.rotation?.masterSecret
    if (master === undefined) return []
    const owned = plan.managed.find((x) => x.logicalName === master)
    return [owned === undefined ? params.secrets[master]?.arn : { Ref: owned.logicalId }]
  })
  const keyArn = { 'Fn::GetAtt': ['BrokerKey', 'Arn'] }
  const accountRoot = { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:root' }
  const httpRoleName = `${SERVICE_NAME}-${stage}-http`
  const rotationRoleName = `${SERVICE_NAME}-${stage}-rotation`
  const namedRoleArn = (name: string): Cfn => ({
    'Fn::Sub': `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:role/${name}`,
  })
  const roleArn = (id: string): Cfn => ({ 'Fn::GetAtt': [id, 'Arn'] })

  const resources: Cfn = {
    BrokerKey: {
      Type: 'AWS::KMS::Key',
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        Description: `${SERVICE_NAME} ${stage}: encrypts the brokered secrets`,
        EnableKeyRotation: true,
        KeyPolicy: {
          Version: '2012-10-17',
          Statement: [
            {
              // Administration by the account's IAM policies, but no cryptographic use: nobody can decrypt directly.
              Sid: 'AccountAdministersTheKey',
              Effect: 'Allow',
              Principal: { AWS: { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:root' } },
              Action: [
                'kms:Create*',
                'kms:Describe*',
                'kms:Enable*',
                'kms:List*',
                'kms:Put*',
                'kms:Update*',
                'kms:Revoke*',
                'kms:Disable*',
                'kms:Get*',
                'kms:Delete*',
                'kms:TagResource',
                'kms:UntagResource',
                'kms:ScheduleKeyDeletion',
                'kms:CancelKeyDeletion',
              ],
              Resource: '*',
            },
            // The roles are named by ARN in a condition, not as principals: the key is created before them,
            // and a GetAtt on a role would make key → role → secret → key a cycle.
            {
              Sid: 'BrokerReadsThroughSecretsManager',
              Effect: 'Allow',
              Principal: { AWS: accountRoot },
              Action: ['kms:Decrypt'],
              Resource: '*',
              Condition: {
                ...viaSecretsManager,
                ArnEquals: { 'aws:PrincipalArn': namedRoleArn(httpRoleName) },
              },
            },
            {
              Sid: 'RotationWritesThroughSecretsManager',
              Effect: 'Allow',
              Principal: { AWS: accountRoot },
              Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
              Resource: '*',
              Condition: {
                ...viaSecretsManager,
                ArnEquals: { 'aws:PrincipalArn': namedRoleArn(rotationRoleName) },
              },
            },
            {
              // CloudFormation creates the secrets (and their generated first value) with the deployer's
              // credentials. Key use is delegated to the account's IAM policies (the deployer needs kms
              // permissions on this key), but only through Secrets Manager in this account, and only for
              // this stage's secrets (Secrets Manager sets the SecretARN encryption context on every call).
              // aws:CalledVia is not relied on: AWS documents it for few services' onward calls, so a condition
              // on it could match nothing and fail the first deployment.
              // Decrypt as well as GenerateDataKey: Secrets Manager documents both for creating or changing a
              // value with a customer-managed key.
              Sid: 'StackDeploymentThroughSecretsManager',
              Effect: 'Allow',
              Principal: { AWS: accountRoot },
              Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
              Resource: '*',
              Condition: {
                StringEquals: {
                  'kms:ViaService': { 'Fn::Sub': 'secretsmanager.${AWS::Region}.amazonaws.com' },
                  'kms:CallerAccount': { Ref: 'AWS::AccountId' },
                },
                StringLike: {
                  'kms:EncryptionContext:SecretARN': {
                    'Fn::Sub': `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:${secretAwsName(stage, '*')}`,
                  },
                },
              },
            },
          ],
        },
      },
    },
    BrokerKeyAlias: {
      Type: 'AWS::KMS::Alias',
      Properties: { AliasName: `alias/${SERVICE_NAME}-${stage}`, TargetKeyId: { Ref: 'BrokerKey' } },
    },
    HttpFunctionRole: lambdaRole(httpRoleName, [
      ...logStatements(stage),
      ...(brokeredRefs.length === 0
        ? []
        : [
            {
              Effect: 'Allow',
              Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
              Resource: brokeredRefs,
            },
          ]),
      { Effect: 'Allow', Action: ['kms:Decrypt'], Resource: keyArn, Condition: viaSecretsManager },
      ...(params.tracing
        ? [{ Effect: 'Allow', Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], Resource: '*' }]
        : []),
    ]),
    RotationFunctionRole: lambdaRole(rotationRoleName, [
      ...logStatements(stage),
      ...(rotated.length === 0
        ? []
        : [
            {
              Effect: 'Allow',
              Action: [
                'secretsmanager:DescribeSecret',
                'secretsmanager:GetSecretValue',
                'secretsmanager:PutSecretValue',
                'secretsmanager:UpdateSecretVersionStage',
              ],
              Resource: rotated.map((m) => ({ Ref: m.logicalId })),
            },
          ]),
      ...(masterRefs.length === 0
        ? []
        : [
            {
              Effect: 'Allow',
              Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
              Resource: masterRefs,
            },
          ]),
      // GetRandomPassword acts on no resource: AWS accepts nothing narrower than "*".
      { Effect: 'Allow', Action: ['secretsmanager:GetRandomPassword'], Resource: '*' },
      {
        Effect: 'Allow',
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Resource: keyArn,
        Condition: viaSecretsManager,
      },
      ...(params.rotationVpc === undefined
        ? []
        : [
            {
              // ENI management for a function in a VPC: these actions take no resource ARN either.
              Effect: 'Allow',
              Action: [
                'ec2:CreateNetworkInterface',
                'ec2:DescribeNetworkInterfaces',
                'ec2:DeleteNetworkInterface',
                'ec2:AssignPrivateIpAddresses',
                'ec2:UnassignPrivateIpAddresses',
              ],
              Resource: '*',
            },
          ]),
      ...(params.tracing
        ? [{ Effect: 'Allow', Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], Resource: '*' }]
        : []),
    ]),
  }

  for (const m of plan.managed) {
    resources[m.logicalId] = {
      Type: 'AWS::SecretsManager::Secret',
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        Name: m.awsName,
        Description: `${SERVICE_NAME} ${stage}: ${m.logicalName}`,
        KmsKeyId: { Ref: 'BrokerKey' },
        GenerateSecretString: {
          SecretStringTemplate: JSON.stringify({ username: m.username, ...m.fields }),
          GenerateStringKey: 'password',
          PasswordLength: m.passwordLength,
          ExcludeCharacters: m.excludeCharacters,
        },
        Tags: [
          { Key: 'secret-broker:stage', Value: stage },
          { Key: 'secret-broker:name', Value: m.logicalName },
        ],
      },
    }
    const writers =
      m.rotation === undefined
        ? []
        : [
            roleArn('RotationFunctionRole'),
            ...(params.breakGlassRoleArn === undefined ? [] : [params.breakGlassRoleArn]),
          ]
    const readers = [
      ...(isBrokered(m) ? [roleArn('HttpFunctionRole')] : []),
      ...(m.rotation !== undefined || mastersOwned.has(m.logicalName)
        ? [roleArn('RotationFunctionRole')]
        : []),
    ]
    resources[`${m.logicalId}ResourcePolicy`] = {
      Type: 'AWS::SecretsManager::ResourcePolicy',
      Properties: {
        SecretId: { Ref: m.logicalId },
        BlockPublicPolicy: true,
        ResourcePolicy: {
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'OnlyTheBrokerAndRotationRead',
              Effect: 'Deny',
              Principal: '*',
              Action: 'secretsmanager:GetSecretValue',
              Resource: '*',
              Condition: {
                StringNotEquals: {
                  'aws:PrincipalArn': readers.length > 0 ? readers : [roleArn('RotationFunctionRole')],
                },
              },
            },
            // A rotated secret changes only through its rotation function (and the stage's break-glass role, if
            // declared, to abandon a stuck rotation); an unrotated one stays writable by operators.
            ...(writers.length === 0
              ? []
              : [
                  {
                    Sid: 'OnlyRotationWrites',
                    Effect: 'Deny',
                    Principal: '*',
                    Action: ['secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage'],
                    Resource: '*',
                    Condition: { StringNotEquals: { 'aws:PrincipalArn': writers } },
                  },
                ]),
          ],
        },
      },
    }
    if (m.rotation !== undefined) {
      resources[`${m.logicalId}RotationSchedule`] = {
        Type: 'AWS::SecretsManager::RotationSchedule',
        DependsOn: ['RotateSecretLambdaPermission'],
        Properties: {
          SecretId: { Ref: m.logicalId },
          RotationLambdaARN: { 'Fn::GetAtt': ['RotateSecretLambdaFunction', 'Arn'] },
          RotateImmediatelyOnUpdate: false,
          RotationRules: {
            ScheduleExpression: m.rotation.schedule ?? params.rotationSchedule,
            Duration: m.rotation.window ?? params.rotationWindow,
          },
        },
      }
    }
  }
  resources['RotateSecretLambdaPermission'] = {
    Type: 'AWS::Lambda::Permission',
    Properties: {
      FunctionName: { 'Fn::GetAtt': ['RotateSecretLambdaFunction', 'Arn'] },
      Action: 'lambda:InvokeFunction',
      Principal: 'secretsmanager.amazonaws.com',
      SourceAccount: { Ref: 'AWS::AccountId' },
    },
  }

  // Only principals of this account may invoke the API at all (health is open to anyone who can reach it);
  // the broker's catalog then decides which of them may read what. Merged into the REST API Serverless creates.
  resources['ApiGatewayRestApi'] = {
    Type: 'AWS::ApiGateway::RestApi',
    Properties: {
      Policy: {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: '*',
            Action: 'execute-api:Invoke',
            Resource: 'execute-api:/*/GET/health',
          },
          {
            Effect: 'Allow',
            Principal: { AWS: { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:root' } },
            Action: 'execute-api:Invoke',
            Resource: 'execute-api:/*',
          },
        ],
      },
    },
  }

  Object.assign(resources, alarmResources(plan))

  const outputs: Cfn = {
    BrokerKeyArn: { Value: keyArn },
    ...Object.fromEntries(plan.managed.map((m) => [`${m.logicalId}Arn`, { Value: { Ref: m.logicalId } }])),
  }
  return { Resources: resources, Outputs: outputs }
}

/** Every route that can deny a caller (all but health), as the metrics' `route` dimension names them. */
export const DENIAL_ROUTES = ['/secrets/{name+}', '/secrets:batchGet', '/secrets', '/whoami'] as const

/**
 * Operators are told when rotation breaks, when denials spike (a misconfigured or probing consumer) and when
 * the API answers 5xx: one SNS topic per stage (email subscriber from params), an EventBridge rule for
 * Secrets Manager's RotationFailed event on this stack's secrets, and CloudWatch alarms.
 */
function alarmResources(plan: StackPlan): Cfn {
  const { stage, params } = plan.decl
  const prefix = `${SERVICE_NAME}-${stage}`
  const topic = { Ref: 'AlarmTopic' }
  // A single metric (Namespace, MetricName, Dimensions) is summed over 5 minutes; metric math brings its own.
  const alarm = (description: string, metric: Cfn, threshold: number): Cfn => ({
    Type: 'AWS::CloudWatch::Alarm',
    Properties: {
      AlarmDescription: description,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
      ...('Metrics' in metric ? {} : { Period: 300, Statistic: 'Sum' }),
      Threshold: threshold,
      TreatMissingData: 'notBreaching',
      AlarmActions: [topic],
      OKActions: [topic],
      ...metric,
    },
  })
  return {
    AlarmTopic: {
      Type: 'AWS::SNS::Topic',
      // Not encrypted with alias/aws/sns: that AWS-managed key's policy cannot be changed to let EventBridge and
      // CloudWatch alarms publish, and the notifications name secrets and alarms, never a value.
      Properties: { TopicName: `${prefix}-alarms` },
    },
    ...(params.alarmEmail === undefined
      ? {}
      : {
          AlarmTopicEmail: {
            Type: 'AWS::SNS::Subscription',
            Properties: { TopicArn: topic, Protocol: 'email', Endpoint: params.alarmEmail },
          },
        }),
    AlarmTopicPolicy: {
      Type: 'AWS::SNS::TopicPolicy',
      Properties: {
        Topics: [topic],
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'EventBridgeAndCloudWatchPublish',
              Effect: 'Allow',
              Principal: { Service: ['events.amazonaws.com', 'cloudwatch.amazonaws.com'] },
              Action: 'sns:Publish',
              Resource: topic,
              Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
            },
          ],
        },
      },
    },
    RotationFailedRule: {
      Type: 'AWS::Events::Rule',
      Properties: {
        Description: `${prefix}: a rotation of one of this stack's secrets failed`,
        EventPattern: {
          source: ['aws.secretsmanager'],
          'detail-type': ['AWS Service Event via CloudTrail'],
          detail: {
            eventName: ['RotationFailed', 'RotationAbandoned'],
            additionalEventData: {
              SecretId: [
                {
                  prefix: {
                    'Fn::Sub': `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:${SERVICE_NAME}/${stage}/`,
                  },
                },
              ],
            },
          },
        },
        Targets: [{ Arn: topic, Id: 'AlarmTopic' }],
      },
    },
    RotationFunctionErrorsAlarm: alarm(
      `${prefix}: the rotation function failed (a rotation step threw; Secrets Manager will retry)`,
      {
        Namespace: 'AWS/Lambda',
        MetricName: 'Errors',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: 'RotateSecretLambdaFunction' } }],
      },
      1,
    ),
    // Denials on every authenticated route (a probe through the batch endpoint tries 20 names a request), summed
    // with metric math: the EMF metrics carry a bounded route dimension, never a principal or a name.
    DenialSpikeAlarm: alarm(
      `${prefix}: more than ${params.denialAlarmThreshold} denied requests in 5 minutes`,
      {
        Metrics: [
          {
            Id: 'denied',
            Label: 'RequestsDenied, all routes',
            Expression: `SUM([${DENIAL_ROUTES.map((_, i) => `r${i}`).join(', ')}])`,
            ReturnData: true,
          },
          ...DENIAL_ROUTES.map((route, i) => ({
            Id: `r${i}`,
            ReturnData: false,
            MetricStat: {
              Metric: {
                Namespace: 'SecretBroker',
                MetricName: 'RequestsDenied',
                Dimensions: [
                  { Name: 'service', Value: SERVICE_NAME },
                  { Name: 'stage', Value: stage },
                  { Name: 'route', Value: route },
                ],
              },
              Period: 300,
              Stat: 'Sum',
            },
          })),
        ],
      },
      params.denialAlarmThreshold,
    ),
    Api5xxAlarm: alarm(
      `${prefix}: the API answered 5xx`,
      {
        Namespace: 'AWS/ApiGateway',
        MetricName: '5XXError',
        Dimensions: [{ Name: 'ApiName', Value: `${stage}-${SERVICE_NAME}` }],
      },
      5,
    ),
  }
}

/**
 * The access log line: who called what and the outcome. No headers, no bodies, no authorizer claims.
 */
export const ACCESS_LOG_FORMAT = JSON.stringify({
  requestId: '$context.requestId',
  ip: '$context.identity.sourceIp',
  caller: '$context.identity.userArn',
  method: '$context.httpMethod',
  path: '$context.resourcePath',
  status: '$context.status',
  latencyMs: '$context.responseLatency',
  responseLength: '$context.responseLength',
})

/**
 * The API stage as a template resource (added by infra/api-stage-plugin.cjs): access logs in a retained log
 * group, execution logging at ERROR with data tracing off, no stage cache (a cache keyed on the path would
 * hand one caller's secret to another), stage-wide throttling, X-Ray when tracing is on.
 */
export function apiStageResources(plan: StackPlan, deploymentId: string): Cfn {
  const { stage, params } = plan.decl
  return {
    ApiGatewayAccessLogGroup: {
      Type: 'AWS::Logs::LogGroup',
      Properties: {
        LogGroupName: `/aws/api-gateway/${SERVICE_NAME}-${stage}`,
        RetentionInDays: params.logRetentionDays,
      },
    },
    ApiGatewayStage: {
      Type: 'AWS::ApiGateway::Stage',
      Properties: {
        RestApiId: { Ref: 'ApiGatewayRestApi' },
        DeploymentId: { Ref: deploymentId },
        StageName: stage,
        TracingEnabled: params.tracing,
        CacheClusterEnabled: false,
        AccessLogSetting: {
          DestinationArn: { 'Fn::GetAtt': ['ApiGatewayAccessLogGroup', 'Arn'] },
          Format: ACCESS_LOG_FORMAT,
        },
        MethodSettings: [
          {
            ResourcePath: '/*',
            HttpMethod: '*',
            LoggingLevel: 'ERROR',
            DataTraceEnabled: false,
            MetricsEnabled: true,
            CachingEnabled: false,
            ThrottlingRateLimit: params.apiThrottleRatePerSecond,
            ThrottlingBurstLimit: params.apiThrottleBurst,
          },
        ],
      },
    },
  }
}
