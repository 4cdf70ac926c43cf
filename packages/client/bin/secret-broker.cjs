#!/usr/bin/env node
'use strict'
// `secret-broker …`. Installed, the package holds only the built CLI (dist/cli.js) and runs it with plain
// Node. In the broker's repository (src/ beside this folder, tsx installed) it runs the TypeScript source
// instead, so `npx secret-broker` there never runs a stale build.
const { existsSync } = require('node:fs')
const { join } = require('node:path')

const source = join(__dirname, '..', 'src', 'cli.ts')
let cli
if (existsSync(source)) {
  require('tsx/cjs/api').register()
  cli = require(source)
} else {
  cli = require('../dist/cli.js')
}
cli.main().catch((err) => {
  process.stderr.write(`secret-broker: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exitCode = 1
})
