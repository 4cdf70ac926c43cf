import { alarmResources } from './alarms'
import { apiResources } from './api'
import { getAtt, type Cfn } from './cfn'
import { iamResources } from './iam'
import { kmsResources } from './kms'
import type { StackPlan } from './plan'
import { secretResources } from './secrets'

/**
 * Everything serverless.yml computes from a stage's declarations, by resource family: the plan (plan.ts),
 * the functions' environments (environments.ts), the key (kms.ts), the roles (iam.ts), the secrets and their
 * policies (secrets.ts), the API (api.ts) and the alarms (alarms.ts). Pure: same declarations in, same
 * template out. This file composes them and is the one import for tools and tests.
 */
export { planStack, secretAwsName, type ManagedSecret, type StackPlan } from './plan'
export { templateLimitProblems, TEMPLATE_LIMITS } from './template-limits'
export {
  compiledDocuments,
  httpEnvironment,
  LAMBDA_AMAZON_CA_BUNDLE,
  rotationDocument,
  rotationEnvironment,
  runtimeCatalogDocument,
} from './environments'
export { ACCESS_LOG_FORMAT, apiStageResources } from './api'
export { DENIAL_ROUTES } from './alarms'

export function buildResources(plan: StackPlan): { Resources: Cfn; Outputs: Cfn } {
  const resources: Cfn = {
    ...kmsResources(plan),
    ...iamResources(plan),
    ...secretResources(plan),
    ...apiResources(),
    ...alarmResources(plan),
  }
  const outputs: Cfn = {
    BrokerKeyArn: { Value: getAtt('BrokerKey', 'Arn') },
    ...Object.fromEntries(plan.managed.map((m) => [`${m.logicalId}Arn`, { Value: { Ref: m.logicalId } }])),
  }
  return { Resources: resources, Outputs: outputs }
}
