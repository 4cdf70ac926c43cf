/**
 * The logical-name grammar callers use. Stricter than Secrets Manager's own: ASCII letters, digits and
 * `/_+=.@-`, slash-separated segments that are neither empty nor `.`/`..`, at most 256 characters, never an
 * ARN. The same canonical string is used for authorization, the cache key and the audit record.
 */
export const MAX_SECRET_NAME_LENGTH = 256

const SEGMENT = /^[A-Za-z0-9_+=.@-]+$/

export type SecretNameProblem =
  'empty' | 'too-long' | 'bad-character' | 'empty-segment' | 'dot-segment' | 'arn'

/** Why `name` is not a valid logical name, or undefined when it is one. Never throws. */
export function checkSecretName(name: string): SecretNameProblem | undefined {
  if (name.length === 0) return 'empty'
  if (name.length > MAX_SECRET_NAME_LENGTH) return 'too-long'
  if (name.startsWith('arn:')) return 'arn'
  for (const segment of name.split('/')) {
    if (segment.length === 0) return 'empty-segment'
    if (segment === '.' || segment === '..') return 'dot-segment'
    if (!SEGMENT.test(segment)) return 'bad-character'
  }
  return undefined
}

export function isValidSecretName(name: string): boolean {
  return checkSecretName(name) === undefined
}
