import { readSsrfToken, SsrfTokenError } from '../../../packages/client/src/agent/ssrf-token'

/** The SSRF token is found as the Secrets Manager Agent finds it (ssrf_env_variables, file:// values). */
describe('readSsrfToken', () => {
  const noFiles = (path: string): string => {
    throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' })
  }

  it('takes the first of AWS_TOKEN, AWS_SESSION_TOKEN, AWS_CONTAINER_AUTHORIZATION_TOKEN that is set', () => {
    const env = { AWS_SESSION_TOKEN: 'session', AWS_CONTAINER_AUTHORIZATION_TOKEN: 'container' }

    expect(readSsrfToken(env, noFiles)).toEqual({ token: 'session', source: 'AWS_SESSION_TOKEN' })
    expect(readSsrfToken({ ...env, AWS_TOKEN: 'explicit' }, noFiles).token).toBe('explicit')
    expect(readSsrfToken({ AWS_CONTAINER_AUTHORIZATION_TOKEN: 'c' }, noFiles).token).toBe('c')
  })

  it('reads file://<path> from that file, trimmed, and names the file but not the token', () => {
    const read = jest.fn((path: string) => (path === '/var/run/awssmatoken' ? '  file-token\n' : ''))

    const t = readSsrfToken({ AWS_TOKEN: 'file:///var/run/awssmatoken' }, read)

    expect(t).toEqual({ token: 'file-token', source: 'AWS_TOKEN (/var/run/awssmatoken)' })
  })

  it('refuses to start without a token, with an unreadable file, or with an empty token', () => {
    expect(() => readSsrfToken({}, noFiles)).toThrow(/no SSRF token: set one of AWS_TOKEN/)
    expect(() => readSsrfToken({ AWS_TOKEN: 'file:///nowhere' }, noFiles)).toThrow(/ENOENT/)
    expect(() => readSsrfToken({ AWS_TOKEN: 'file:///empty' }, () => ' \n')).toThrow(SsrfTokenError)
    expect(() => readSsrfToken({ AWS_TOKEN: '' }, noFiles)).toThrow(/empty/)
  })
})
