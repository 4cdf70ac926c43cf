import { join } from 'node:path'

/** The file that holds one test file's own output when `npm test` runs it (tests/support/suite-output.ts). */
export function suiteLogFile(logDir: string, testPath: string): string {
  return join(logDir, `${testPath.replace(/[^A-Za-z0-9._-]+/g, '_')}.log`)
}
