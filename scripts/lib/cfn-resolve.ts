/**
 * A packaged CloudFormation template with its intrinsics resolved the way CloudFormation would for one
 * concrete deployment (account, region, API id), so that its policies can be evaluated as AWS would see them.
 * Only what the broker's templates use: Ref, Fn::GetAtt, Fn::Sub, Fn::Join. Anything else is an error, so a
 * policy can never be evaluated half-resolved.
 */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json }
export type Resource = { Type: string; Properties?: Record<string, Json>; [k: string]: unknown }
export type Template = { Resources: Record<string, Resource> }

export interface Deployment {
  readonly account: string
  readonly region: string
  /** The REST API's id as API Gateway would assign it. */
  readonly apiId: string
}

export const PARTITION = 'aws'
/** Secrets Manager appends six random characters to a secret's ARN. */
export const SECRET_ARN_SUFFIX = '-AbCdEf'
export const KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab'

function prop(r: Resource, name: string): string {
  const v = r.Properties?.[name]
  if (typeof v !== 'string') throw new Error(`cannot name a ${r.Type} without its ${name} property`)
  return v
}

/** A resolved value that must be a string (a name, an ARN). */
export function text(value: Json | undefined, what = 'value'): string {
  if (typeof value !== 'string')
    throw new Error(`expected ${what} to resolve to a string, got ${JSON.stringify(value)}`)
  return value
}

export function createResolver(template: Template, d: Deployment): (value: unknown) => Json {
  const { account, region, apiId } = d
  const resource = (id: string): Resource => {
    const r = template.Resources[id]
    if (r === undefined) throw new Error(`the template has no resource ${id}`)
    return r
  }
  const arnOf = (id: string): string => {
    const r = resource(id)
    switch (r.Type) {
      case 'AWS::IAM::Role':
        return `arn:${PARTITION}:iam::${account}:role/${prop(r, 'RoleName')}`
      case 'AWS::Lambda::Function':
        return `arn:${PARTITION}:lambda:${region}:${account}:function:${prop(r, 'FunctionName')}`
      case 'AWS::KMS::Key':
        return `arn:${PARTITION}:kms:${region}:${account}:key/${KEY_ID}`
      case 'AWS::Logs::LogGroup':
        return `arn:${PARTITION}:logs:${region}:${account}:log-group:${prop(r, 'LogGroupName')}:*`
      case 'AWS::S3::Bucket':
        return `arn:${PARTITION}:s3:::${id.toLowerCase()}`
      case 'AWS::SecretsManager::Secret':
        return `arn:${PARTITION}:secretsmanager:${region}:${account}:secret:${prop(r, 'Name')}${SECRET_ARN_SUFFIX}`
      case 'AWS::DynamoDB::Table':
        return `arn:${PARTITION}:dynamodb:${region}:${account}:table/${prop(r, 'TableName')}`
      case 'AWS::Events::Rule':
        // A rule without a Name gets one from CloudFormation; the logical id stands in for it here.
        return `arn:${PARTITION}:events:${region}:${account}:rule/${typeof r.Properties?.['Name'] === 'string' ? r.Properties['Name'] : id}`
      default:
        throw new Error(`no ARN for ${id} (${r.Type})`)
    }
  }
  const ref = (id: string): string => {
    switch (id) {
      case 'AWS::AccountId':
        return account
      case 'AWS::Region':
        return region
      case 'AWS::Partition':
        return PARTITION
      case 'AWS::URLSuffix':
        return 'amazonaws.com'
    }
    const r = resource(id)
    switch (r.Type) {
      case 'AWS::SecretsManager::Secret':
      case 'AWS::SNS::Topic':
        return r.Type === 'AWS::SNS::Topic' ? `arn:${PARTITION}:sns:${region}:${account}:${id}` : arnOf(id)
      case 'AWS::KMS::Key':
        return KEY_ID
      case 'AWS::ApiGateway::RestApi':
        return apiId
      case 'AWS::Lambda::Function':
        return prop(r, 'FunctionName')
      case 'AWS::IAM::Role':
        return prop(r, 'RoleName')
      case 'AWS::S3::Bucket':
        return id.toLowerCase()
      case 'AWS::Events::Rule':
        return id
      case 'AWS::DynamoDB::Table':
        return prop(r, 'TableName')
      default:
        throw new Error(`no Ref for ${id} (${r.Type})`)
    }
  }
  const getAtt = (id: string, attribute: string): string => {
    if (attribute === 'Arn') return arnOf(id)
    throw new Error(`no attribute ${attribute} of ${id}`)
  }
  const sub = (text: string, vars: Record<string, string>): string =>
    text.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
      if (name in vars) return vars[name] as string
      const dot = name.indexOf('.')
      return dot > 0 && !name.startsWith('AWS::')
        ? getAtt(name.slice(0, dot), name.slice(dot + 1))
        : ref(name)
    })
  const resolve = (value: unknown): Json => {
    if (value === null || typeof value !== 'object') return value as Json
    if (Array.isArray(value)) return value.map(resolve)
    const o = value as Record<string, unknown>
    const keys = Object.keys(o)
    if (keys.length === 1) {
      const [k] = keys as [string]
      const v = o[k]
      if (k === 'Ref') return ref(v as string)
      if (k === 'Fn::GetAtt') return getAtt(...(v as [string, string]))
      if (k === 'Fn::Sub') {
        if (typeof v === 'string') return sub(v, {})
        const [body, vars] = v as [string, Record<string, unknown>]
        const resolvedVars = Object.fromEntries(
          Object.entries(vars).map(([n, x]) => [n, text(resolve(x), n)]),
        )
        return sub(body, resolvedVars)
      }
      if (k === 'Fn::Join') {
        const [sep, parts] = v as [string, unknown[]]
        return parts.map((p) => text(resolve(p), 'a Fn::Join part')).join(sep)
      }
      if (k.startsWith('Fn::')) throw new Error(`unsupported intrinsic ${k}`)
    }
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, resolve(v)]))
  }
  return resolve
}
