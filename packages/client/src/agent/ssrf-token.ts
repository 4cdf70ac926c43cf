import { readFileSync } from 'node:fs'

/**
 * The agent's SSRF token, found as the Secrets Manager Agent finds it: the first of these environment
 * variables that is set, and when its value is `file://<path>`, the contents of that file, trimmed. On a
 * Lambda function or an ECS task AWS_SESSION_TOKEN is set already; elsewhere set AWS_TOKEN, for example to
 * `file:///var/run/awssmatoken` written at boot by a root-owned service and readable by one group.
 */
export const SSRF_ENV_VARIABLES = [
  'AWS_TOKEN',
  'AWS_SESSION_TOKEN',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN',
] as const

export interface SsrfToken {
  readonly token: string
  /** Where it came from, for the start-up line: the variable's name and, for a file, its path. Never the token. */
  readonly source: string
}

export class SsrfTokenError extends Error {
  override readonly name = 'SsrfTokenError'
}

export function readSsrfToken(
  env: Readonly<Record<string, string | undefined>>,
  readFile: (path: string) => string = (path) => readFileSync(path, 'utf8'),
): SsrfToken {
  const variable = SSRF_ENV_VARIABLES.find((name) => env[name] !== undefined)
  if (variable === undefined) {
    throw new SsrfTokenError(
      `no SSRF token: set one of ${SSRF_ENV_VARIABLES.join(', ')} (a value, or file://<path> to read it from a file)`,
    )
  }
  const raw = env[variable] as string
  let token = raw
  let source: string = variable
  if (raw.startsWith('file://')) {
    const path = raw.slice('file://'.length) // as the Agent does: file:///var/run/awssmatoken is that path
    source = `${variable} (${path})`
    try {
      token = readFile(path).trim()
    } catch (err) {
      const code = (err as { code?: unknown }).code
      throw new SsrfTokenError(`cannot read the SSRF token file named by ${variable}: ${String(code ?? err)}`)
    }
  }
  // An empty token would let any request that sends the header empty through.
  if (token.trim() === '') throw new SsrfTokenError(`the SSRF token from ${source} is empty`)
  return { token, source }
}
