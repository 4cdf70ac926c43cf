// The Serverless plugin that guards a stage's lifecycle: the deploy guard (account, region, placeholders, the
// local stage, retained secrets) before any guarded command, the credential guard before CloudFormation is asked
// to change anything, what `sls remove` leaves behind, and the dashboard and alarm topic in `sls info`.
// The logic is infra/deploy-plugin.ts, loaded through tsx's require hook.
'use strict'
const { require: tsxRequire } = require('tsx/cjs/api')

module.exports = tsxRequire('./deploy-plugin.ts', __filename).DeployPlugin
