// Bridge between serverless.yml's variable resolver and the TypeScript infra code (infra/stack.ts).
// Serverless calls each exported function with { options, resolveVariable } while it resolves
// `${file(./infra/serverless-bridge.cjs):NAME}`. The TypeScript is loaded through tsx's require hook.
'use strict'
const { require: tsxRequire } = require('tsx/cjs/api')

const declarations = tsxRequire('./stage-declarations.ts', __filename)
const stack = tsxRequire('./stack.ts', __filename)

const plans = new Map()
async function planFor({ options, resolveVariable }) {
  const stage = options.stage ?? (await resolveVariable('sls:stage'))
  if (!plans.has(stage)) plans.set(stage, stack.planStack(declarations.loadStageDeclarations(stage)))
  return plans.get(stage)
}

module.exports = {
  resources: async (ctx) => stack.buildResources(await planFor(ctx)),
  httpEnvironment: async (ctx) => stack.httpEnvironment(await planFor(ctx)),
  rotationEnvironment: async (ctx) => stack.rotationEnvironment(await planFor(ctx)),
  invalidationEnvironment: async (ctx) => stack.invalidationEnvironment(await planFor(ctx)),
  // Provider settings from the stage's params (defaults from src/contract/settings.ts).
  region: async (ctx) => (await planFor(ctx)).decl.params.region,
  logRetentionDays: async (ctx) => (await planFor(ctx)).decl.params.logRetentionDays,
  tracing: async (ctx) => (await planFor(ctx)).decl.params.tracing,
  // Where API Gateway serves the API (params.endpointType; its VPC endpoints are associated in infra/api.ts).
  endpointType: async (ctx) => (await planFor(ctx)).decl.params.endpointType,
  // CloudFormation deploys with the stage's deployment role, the one principal the policies exempt.
  providerIam: async (ctx) => ({ deploymentRole: (await planFor(ctx)).decl.params.deploymentRoleArn }),
  // The rotation function's VPC settings (params.rotationVpc), or null when it needs none.
  rotationVpc: async (ctx) => (await planFor(ctx)).decl.params.rotationVpc ?? null,
}
