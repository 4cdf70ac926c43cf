import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { quietToolEnv } from './lib/tool-env'
import { suiteLogFile } from './lib/test-logs'

/**
 * `npm test`: type-check, lint, then every jest project, ending with the plain line
 * `N passed, N failed` computed from jest's JSON result (CI reads that line, not jest's summary).
 * Extra arguments go to jest (`npm test -- tests/unit`). The exit code is non-zero if any gate failed.
 */
const root = join(__dirname, '..')
const bin = (name: string): string => join(root, 'node_modules', '.bin', name)
const jestArgs = process.argv.slice(2)
const gates: { name: string; ok: boolean }[] = []
quietToolEnv()

function run(name: string, cmd: string, args: string[]): boolean {
  process.stdout.write(`\n== ${name}\n`)
  const started = Date.now()
  const res = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: process.env })
  const ok = res.status === 0
  process.stdout.write(
    `== ${name}: ${ok ? 'ok' : `FAILED (exit ${res.status ?? res.signal})`} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
  )
  gates.push({ name, ok })
  return ok
}

if (jestArgs.length === 0) {
  run('typecheck', bin('tsc'), ['--noEmit', '-p', 'tsconfig.json'])
  run('lint', bin('eslint'), ['.', '--max-warnings=0'])
}
const tmp = join(root, '.tmp')
mkdirSync(tmp, { recursive: true })
const resultFile = join(tmp, 'jest-results.json')
rmSync(resultFile, { force: true })
// Each suite's own output goes to a file (tests/support/suite-output.ts); only failed suites' are shown.
const logDir = join(tmp, 'test-logs')
rmSync(logDir, { recursive: true, force: true })
mkdirSync(logDir, { recursive: true })
process.env['SECRET_BROKER_TEST_LOG_DIR'] = logDir
run('jest', bin('jest'), ['--json', `--outputFile=${resultFile}`, ...jestArgs])

let passed = 0
let failed = 0
if (existsSync(resultFile)) {
  const result = JSON.parse(readFileSync(resultFile, 'utf8')) as {
    numPassedTests: number
    numFailedTests: number
    numRuntimeErrorTestSuites: number
    numPendingTests: number
    testResults: { name: string; status: string }[]
  }
  for (const suite of result.testResults.filter((t) => t.status !== 'passed')) {
    const log = suiteLogFile(logDir, suite.name)
    if (existsSync(log))
      process.stdout.write(`\n== output of the failed suite ${suite.name}\n${readFileSync(log, 'utf8')}\n`)
  }
  passed = result.numPassedTests
  // A suite that failed to load has no failed test of its own; count it so it cannot pass unnoticed.
  failed = result.numFailedTests + result.numRuntimeErrorTestSuites
  if (result.numPendingTests > 0) {
    process.stdout.write(`${result.numPendingTests} test(s) were skipped; skipping is not allowed here\n`)
    gates.push({ name: 'no skipped tests', ok: false })
  }
} else {
  failed = 1
}
const failedGates = gates.filter((g) => !g.ok).map((g) => g.name)
if (failedGates.length > 0) process.stdout.write(`failed gates: ${failedGates.join(', ')}\n`)
process.stdout.write(`${passed} passed, ${failed} failed\n`)
process.exit(failedGates.length > 0 || failed > 0 ? 1 : 0)
