import { join, resolve } from 'node:path'
import { REPO_ROOT } from '../../infra/stage-declarations'

/**
 * Where a local stack keeps local.json, its audit log and its logs: `.broker` in the checkout, or
 * SECRET_BROKER_STATE_DIR (npm start's --state-dir, the CLI, `npm run rotate` and `npm run audit` all honour
 * it, so a second stack on purpose is one variable away).
 */
export function defaultStateDir(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const dir = env['SECRET_BROKER_STATE_DIR']
  return dir === undefined || dir === '' ? join(REPO_ROOT, '.broker') : resolve(dir)
}
