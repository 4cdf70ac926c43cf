import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/**
 * A throw-away certificate authority and a server certificate for `localhost` / 127.0.0.1, made with the
 * `openssl` command line (Node has no X.509 generator). The TLS tests give the CA to the client and check
 * that `verify-full` accepts the right name and refuses a wrong one, against a real server.
 */
export interface TestCertificates {
  readonly caFile: string
  readonly certFile: string
  readonly keyFile: string
  /** The CA certificate in PEM, for a client's `ca` option. */
  readonly caPem: string
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] })
}

/** Write `ca.pem`, `server.pem` and `server-key.pem` (valid one day) into `dir`. Takes ~100 ms. */
export function makeTestCertificates(dir: string, commonName = 'localhost'): TestCertificates {
  const caKey = join(dir, 'ca-key.pem')
  const caFile = join(dir, 'ca.pem')
  const keyFile = join(dir, 'server-key.pem')
  const csr = join(dir, 'server.csr')
  const certFile = join(dir, 'server.pem')
  const ext = join(dir, 'server.ext')
  writeFileSync(ext, `subjectAltName=DNS:${commonName},IP:127.0.0.1\nextendedKeyUsage=serverAuth\n`)
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  openssl(
    ['req', '-x509', ...ecKey, '-keyout', caKey, '-out', caFile, '-days', '1', '-subj', '/CN=broker-test-ca'],
    dir,
  )
  openssl(['req', ...ecKey, '-keyout', keyFile, '-out', csr, '-subj', `/CN=${commonName}`], dir)
  openssl(
    [
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      caFile,
      '-CAkey',
      caKey,
      '-CAcreateserial',
      '-out',
      certFile,
      '-days',
      '1',
      '-extfile',
      ext,
    ],
    dir,
  )
  return { caFile, certFile, keyFile, caPem: readFileSync(caFile, 'utf8') }
}
