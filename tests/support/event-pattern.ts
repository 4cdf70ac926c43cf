import { execFileSync } from 'node:child_process'
import { join } from 'node:path'

const SCRIPT = join(__dirname, 'event-pattern.py')

/**
 * Which events an EventBridge pattern matches, decided by moto's implementation of EventBridge patterns
 * (the machine's Python; event-pattern.py), not by code of ours. One child process per batch.
 */
export function eventPatternMatches(pattern: unknown, events: readonly unknown[]): boolean[] {
  const out = execFileSync('python3', [SCRIPT], {
    input: JSON.stringify({ pattern, events }),
    encoding: 'utf8',
  })
  return JSON.parse(out) as boolean[]
}
