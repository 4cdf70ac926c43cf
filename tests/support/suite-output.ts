import * as fs from 'node:fs'
import { suiteLogFile } from '../../scripts/lib/test-logs'

/**
 * `npm test` shows a suite's own output (audit lines, EMF metrics, logger lines the code under test writes
 * to stdout and stderr) only when the suite fails. scripts/run-tests.ts sets SECRET_BROKER_TEST_LOG_DIR; this
 * setup file then sends every write to fd 1 and 2 (process.stdout/stderr and fs.writeSync, which the audit
 * sink uses) into one file per test file, and run-tests.ts prints the files of the suites that failed. Run
 * jest directly and nothing is redirected.
 */
const dir = process.env['SECRET_BROKER_TEST_LOG_DIR']

if (dir !== undefined && dir !== '') {
  const file = suiteLogFile(dir, expect.getState().testPath ?? 'unknown')
  const keep = (chunk: string | Uint8Array): void => fs.appendFileSync(file, chunk)
  const realStdout = process.stdout.write.bind(process.stdout)
  const realStderr = process.stderr.write.bind(process.stderr)
  const realWriteSync = fs.writeSync
  const captured = (chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
    keep(chunk)
    const done = rest.find((r) => typeof r === 'function') as (() => void) | undefined
    done?.()
    return true
  }
  process.stdout.write = captured
  process.stderr.write = captured
  const writeSync = (fd: number, data: string | NodeJS.ArrayBufferView, ...rest: unknown[]): number => {
    if (fd !== 1 && fd !== 2) return (realWriteSync as (...a: unknown[]) => number)(fd, data, ...rest)
    if (typeof data === 'string') {
      keep(data)
      return Buffer.byteLength(data)
    }
    const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength)
    const offset = typeof rest[0] === 'number' ? rest[0] : 0
    const length = typeof rest[1] === 'number' ? rest[1] : bytes.length - offset
    const part = bytes.subarray(offset, offset + length)
    keep(part)
    return part.length
  }
  ;(fs as { writeSync: unknown }).writeSync = writeSync
  afterAll(() => {
    process.stdout.write = realStdout
    process.stderr.write = realStderr
    ;(fs as { writeSync: unknown }).writeSync = realWriteSync
  })
}
