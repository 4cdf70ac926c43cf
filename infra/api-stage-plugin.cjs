// A small Serverless plugin that finishes the packaged template. It declares the API Gateway stage in the
// CloudFormation template (access log format, no data tracing, no cache, throttling, X-Ray), instead of
// Serverless's default of creating the stage implicitly and changing its settings through API calls at deploy
// time — which leaves those settings out of the template, where reviews and tests cannot see them. The
// resources come from infra/stack.ts. It also drops the DependsOn entries Serverless writes that a Ref or
// GetAtt already enforces (cfn-lint W3005, which moto's template validation refuses; infra/cfn.ts).
'use strict'
const { require: tsxRequire } = require('tsx/cjs/api')

class ApiStagePlugin {
  constructor(serverless, options) {
    this.serverless = serverless
    this.options = options
    this.hooks = { 'before:package:finalize': () => this.declareStage() }
  }

  declareStage() {
    const template = this.serverless.service.provider.compiledCloudFormationTemplate
    tsxRequire('./cfn.ts', __filename).dropEnforcedDependsOn(template.Resources)
    const deployment = Object.entries(template.Resources).find(
      ([, r]) => r.Type === 'AWS::ApiGateway::Deployment',
    )
    if (deployment === undefined) return
    const [deploymentId, resource] = deployment
    const stageName = resource.Properties.StageName
    // The stage is now its own resource; a deployment that also named it would create it twice.
    delete resource.Properties.StageName
    const declarations = tsxRequire('./stage-declarations.ts', __filename)
    const stack = tsxRequire('./stack.ts', __filename)
    const plan = stack.planStack(declarations.loadStageDeclarations(this.options.stage ?? stageName))
    Object.assign(template.Resources, stack.apiStageResources(plan, deploymentId))
  }
}

module.exports = ApiStagePlugin
