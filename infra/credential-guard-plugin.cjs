// A deploy never changes a live credential: this Serverless plugin refuses, before CloudFormation is asked to
// change anything, a deploy that would make it generate a new password for a deployed secret. The logic is
// infra/credential-guard-hook.ts (and infra/credential-guard.ts), loaded through tsx's require hook.
'use strict'
const { require: tsxRequire } = require('tsx/cjs/api')

module.exports = tsxRequire('./credential-guard-hook.ts', __filename).CredentialGuardPlugin
