/**
 * TLS to a rotation target, as for PostgreSQL (`pgSslMode`): `disable`, `require` (encrypted, not
 * verified), `verify-full` (certificate chain and host name checked; the default in deployed stages).
 * A secret's own fields never turn TLS off: the mode comes from the function's configuration.
 */
export type TlsMode = 'disable' | 'require' | 'verify-full'

export const TLS_MODES: readonly TlsMode[] = ['disable', 'require', 'verify-full']

/** An IP literal (v4 or v6): TLS SNI takes host names only, so no `servername` is sent for one. */
export const isIpLiteral = (host: string): boolean => /^[\d.]+$/.test(host) || host.includes(':')
