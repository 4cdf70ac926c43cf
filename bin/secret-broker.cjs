#!/usr/bin/env node
'use strict'
// `npx secret-broker …`: runs the TypeScript CLI (src/client/cli.ts) straight from source, without a build,
// through tsx's CommonJS loader hook.
require('tsx/cjs/api').register()
require('../src/client/cli.ts')
  .main()
  .catch((err) => {
    process.stderr.write(`secret-broker: ${err instanceof Error ? err.message : String(err)}\n`)
    process.exitCode = 1
  })
