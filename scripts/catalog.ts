import { parseArgs } from 'node:util'
import { explainAccess, ExplainInputError } from './lib/catalog-explain'
import { diffAgainst, renderDiff } from './lib/catalog-diff'
import { accessMatrix, loadStageCatalog } from './lib/catalog-model'
import { renderReport, REPORT_FORMATS, type ReportFormat } from './lib/catalog-report'

/**
 * `npm run catalog -- explain|report|diff`: the operators' view of a stage's catalog, read from the
 * declarations only (no AWS call, no credentials).
 *
 *   explain --stage <s> --principal <arn> --name <name>   allow (exit 0) or deny (exit 1), and the rule
 *   report  --stage <s> [--format md|csv|json]            the access matrix for an access review
 *   diff    --stage <s> --against <git-ref>               access granted (+), removed (-), remapped (~);
 *                                                         exit 0 when nothing changed, 1 when access changed
 *
 * Every command takes `--config <file>` for a service file other than serverless.yml. Bad input (an unknown
 * stage, a declaration that does not plan, a malformed ARN or name, an unknown revision) exits 2.
 */
const USAGE = `usage:
  npm run catalog -- explain --stage <local|dev|prod> --principal <arn> --name <name>
  npm run catalog -- report --stage <local|dev|prod> [--format md|csv|json]
  npm run catalog -- diff --stage <local|dev|prod> --against <git-ref>
  (each also takes --config <service file>, default serverless.yml)
`

export interface CatalogCommandResult {
  readonly code: 0 | 1 | 2
  readonly stdout: string
  readonly stderr: string
}

const bad = (message: string): CatalogCommandResult => ({
  code: 2,
  stdout: '',
  stderr: `${message}\n${USAGE}`,
})

function required(value: string | undefined, flag: string): string {
  if (value === undefined || value === '') throw new ExplainInputError(`${flag} is required`)
  return value
}

/** Run one command; never exits the process, so tests call it directly. */
export function runCatalogCommand(argv: readonly string[]): CatalogCommandResult {
  const [command, ...rest] = argv
  let values: Record<string, string | undefined>
  try {
    values = parseArgs({
      args: [...rest],
      options: {
        stage: { type: 'string' },
        principal: { type: 'string' },
        name: { type: 'string' },
        format: { type: 'string' },
        against: { type: 'string' },
        config: { type: 'string' },
      },
      strict: true,
    }).values
  } catch (err) {
    return bad(err instanceof Error ? err.message : String(err))
  }
  try {
    const stage = required(values['stage'], '--stage')
    const config = values['config'] ?? 'serverless.yml'
    switch (command ?? '') {
      case 'explain': {
        const principal = required(values['principal'], '--principal')
        const name = required(values['name'], '--name')
        const result = explainAccess(loadStageCatalog(stage, config), principal, name)
        return { code: result.allow ? 0 : 1, stdout: `${result.lines.join('\n')}\n`, stderr: '' }
      }
      case 'report': {
        const format = values['format'] ?? 'md'
        if (!(REPORT_FORMATS as readonly string[]).includes(format))
          return bad(`--format must be one of ${REPORT_FORMATS.join(', ')}`)
        const matrix = accessMatrix(loadStageCatalog(stage, config))
        return { code: 0, stdout: renderReport(stage, matrix, format as ReportFormat), stderr: '' }
      }
      case 'diff': {
        const against = required(values['against'], '--against')
        const diff = diffAgainst(stage, against, loadStageCatalog(stage, config), config)
        const changed = diff.changes.length > 0 || diff.remapped.length > 0
        return { code: changed ? 1 : 0, stdout: renderDiff(stage, against, diff), stderr: '' }
      }
      default:
        return bad(command === undefined ? 'a command is required' : `unknown command ${command}`)
    }
  } catch (err) {
    // Input the tool cannot use (a missing flag, a stage that does not plan, an unknown revision): exit 2,
    // never 1, which would read as "deny" or "access changed".
    return bad(err instanceof Error ? err.message : String(err))
  }
}

if (require.main === module) {
  const result = runCatalogCommand(process.argv.slice(2))
  process.stdout.write(result.stdout)
  process.stderr.write(result.stderr)
  process.exitCode = result.code
}
