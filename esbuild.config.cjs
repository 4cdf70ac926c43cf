// serverless-esbuild `require`s its config file, so this shim loads the TypeScript options through tsx.
'use strict'
const { require: tsxRequire } = require('tsx/cjs/api')
module.exports = tsxRequire('./esbuild.config.ts', __filename).esbuildOptions
