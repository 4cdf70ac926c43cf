import { alarmArns, alarmResources } from './alarms'
import { apiResources } from './api'
import { getAtt, type Cfn } from './cfn'
import { dashboardResources } from './dashboard'
import { directInvokeDetectionResources } from './direct-invoke'
import { iamResources } from './iam'
import { invalidationResources } from './invalidation'
import { kmsResources } from './kms'
import type { StackPlan } from './plan'
import { secretResources } from './secrets'

/**
 * Everything serverless.yml computes from a stage's declarations, by resource family: the plan (plan.ts),
 * the functions' environments (environments.ts), the key (kms.ts), the roles (iam.ts), the secrets and their
 * policies (secrets.ts), the API (api.ts), the alarms (alarms.ts), the dashboard (dashboard.ts) and cache invalidation (invalidation.ts). Pure: same declarations in, same
 * template out. This file composes them and is the one import for tools and tests.
 */
export { planStack, secretAwsName, type ManagedSecret, type StackPlan } from './plan'
export { templateLimitProblems, TEMPLATE_LIMITS } from './template-limits'
export {
  compiledDocuments,
  httpEnvironment,
  invalidationDocument,
  invalidationEnvironment,
  LAMBDA_AMAZON_CA_BUNDLE,
  OFFLINE_API_ID,
  registerTable,
  rotationDocument,
  rotationEnvironment,
  runtimeCatalogDocument,
} from './environments'
export { ACCESS_LOG_FORMAT, apiStageResources } from './api'
export { alarmName, DENIAL_ROUTES } from './alarms'
export { dashboardLines, dashboardName } from './dashboard'
export {
  directInvokeBoundary,
  directInvokeEventPattern,
  directInvokeScp,
  boundaryPolicyName,
} from './direct-invoke'
export {
  INVALIDATION_RULES,
  labelUpdatedPattern,
  registerReadStatement,
  registerWriteStatement,
  rotationSucceededPattern,
} from './invalidation'

export function buildResources(plan: StackPlan): { Resources: Cfn; Outputs: Cfn } {
  const resources: Cfn = {
    ...kmsResources(plan),
    ...iamResources(plan),
    ...secretResources(plan),
    ...apiResources(plan),
    ...alarmResources(plan),
    ...directInvokeDetectionResources(plan),
    ...invalidationResources(plan),
  }
  Object.assign(resources, dashboardResources(plan, alarmArns(plan.decl.stage, resources)))
  const outputs: Cfn = {
    BrokerKeyArn: { Value: getAtt('BrokerKey', 'Arn') },
    ...Object.fromEntries(plan.managed.map((m) => [`${m.logicalId}Arn`, { Value: { Ref: m.logicalId } }])),
  }
  return { Resources: resources, Outputs: outputs }
}
