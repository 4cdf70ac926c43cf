// Bridge between serverless.yml's variable resolver and the TypeScript infra code (infra/stack.ts).
// Serverless calls each exported function with { options, resolveVariable } while it resolves
// `${file(./infra/serverless-bridge.cjs):NAME}`. The TypeScript is loaded through tsx's require hook.
// esbuild.config.cjs requires this same module (Node's module cache makes it one instance per process), so
// the documents it bundles come from the very plan the template was built from.
'use strict'
const { join } = require('node:path')
const { require: tsxRequire } = require('tsx/cjs/api')

const declarations = tsxRequire('./stage-declarations.ts', __filename)
const stack = tsxRequire('./stack.ts', __filename)

// One plan per stage and service file per process, failures included: a broken declaration is planned once.
// Kept on globalThis: tsx may load this file a second time in its own module namespace (from
// esbuild.config.ts), and both instances must share the plans.
const PLANS = Symbol.for('secret-broker.serverless-bridge.plans')
const plans = (globalThis[PLANS] ??= new Map())

/**
 * The stage's plan, or the failure that prevents one. Read from the service file Serverless was given
 * (--config), so a generated service file plans its own params.
 */
function outcomeFor(stage, configFile) {
  const file = join(declarations.REPO_ROOT, configFile ?? 'serverless.yml')
  const key = `${stage}\0${file}`
  if (!plans.has(key)) {
    let outcome
    try {
      outcome = { plan: stack.planStack(declarations.loadStageDeclarations(stage, file)) }
      if (process.env.SECRET_BROKER_WARNINGS_SHOWN !== '1')
        for (const w of outcome.plan.warnings) process.stderr.write(`warning: ${w}\n`)
    } catch (error) {
      outcome = { error }
    }
    plans.set(key, outcome)
  }
  return plans.get(key)
}

async function stageOf({ options, resolveVariable }) {
  return options.stage ?? (await resolveVariable('sls:stage'))
}

/**
 * A broken declaration is reported once, whole, by the first variable Serverless resolves (provider.region):
 * its message lists every problem, one line each, without a stack trace. Every other variable then stands
 * aside with a placeholder, since Serverless stops on that one error before using any of them.
 */
function reported(error) {
  const clean = new Error(error instanceof Error ? error.message : String(error))
  clean.stack = clean.message
  return clean
}

function fromPlan(pick, placeholder) {
  return async (ctx) => {
    const outcome = outcomeFor(await stageOf(ctx), ctx.options.config)
    return outcome.plan === undefined ? placeholder : pick(outcome.plan)
  }
}

module.exports = {
  region: async (ctx) => {
    const outcome = outcomeFor(await stageOf(ctx), ctx.options.config)
    if (outcome.error !== undefined) throw reported(outcome.error)
    return outcome.plan.decl.params.region
  },
  resources: fromPlan((plan) => stack.buildResources(plan), {}),
  httpEnvironment: fromPlan((plan) => stack.httpEnvironment(plan), {}),
  rotationEnvironment: fromPlan((plan) => stack.rotationEnvironment(plan), {}),
  invalidationEnvironment: fromPlan((plan) => stack.invalidationEnvironment(plan), {}),
  // Provider settings from the stage's params (defaults from src/contract/settings.ts).
  logRetentionDays: fromPlan((plan) => plan.decl.params.logRetentionDays, 1),
  tracing: fromPlan((plan) => plan.decl.params.tracing, false),
  // Where API Gateway serves the API (params.endpointType; its VPC endpoints are associated in infra/api.ts).
  endpointType: fromPlan((plan) => plan.decl.params.endpointType, 'REGIONAL'),
  // CloudFormation deploys with the stage's deployment role, the one principal the policies exempt.
  providerIam: fromPlan((plan) => ({ deploymentRole: plan.decl.params.deploymentRoleArn }), {}),
  // The rotation function's VPC settings (params.rotationVpc), or null when it needs none.
  rotationVpc: fromPlan((plan) => plan.decl.params.rotationVpc ?? null, null),
  /**
   * For esbuild.config.cjs: the compiled catalog, rotation and invalidation documents of a stage, as JSON
   * text ({ catalogJson, rotationJson, invalidationJson }). Throws the planning failure (already reported by provider.region).
   */
  compiledDocuments: (stage, configFile) => {
    const outcome = outcomeFor(stage, configFile)
    if (outcome.error !== undefined) throw reported(outcome.error)
    return stack.compiledDocuments(outcome.plan)
  },
}
