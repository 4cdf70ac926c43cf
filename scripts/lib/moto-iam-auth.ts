import { rmSync } from 'node:fs'
import { join } from 'node:path'
import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  IAMClient,
  PutUserPolicyCommand,
} from '@aws-sdk/client-iam'
import { freePort, waitFor } from './ports'
import { MotoNotInstalledError } from './moto'
import { findOnPath, makeTempDir, startProcess } from './processes'

/**
 * moto's server with request authentication on, for the IAM access key tests. By default moto accepts any
 * signature and answers an unknown key with a default identity; with `INITIAL_NO_AUTH_ACTION_COUNT=n` it
 * lets the first n requests through, then checks every signature against the keys it issued
 * (SignatureDoesNotMatch, InvalidClientTokenId) and evaluates the caller's identity policies. The first
 * three requests here create an admin user, its key and an allow-all policy; every later request must be
 * signed by a key moto issued.
 */
export interface AuthenticatingMoto {
  readonly endpoint: string
  readonly region: 'us-east-1'
  readonly admin: { readonly accessKeyId: string; readonly secretAccessKey: string }
  /** moto's request log (one line per request), for the leak scans. */
  readonly logFile: string
  stop(): Promise<void>
}

const SETUP_ACTIONS = 3

export async function startAuthenticatingMoto(): Promise<AuthenticatingMoto> {
  const bin = findOnPath('moto_server')
  if (bin === undefined) throw new MotoNotInstalledError()
  const logDir = makeTempDir('moto-auth')
  const port = await freePort()
  const proc = startProcess(bin, ['-H', '127.0.0.1', '-p', String(port)], {
    logFile: join(logDir, 'moto.log'),
    env: { ...process.env, INITIAL_NO_AUTH_ACTION_COUNT: String(SETUP_ACTIONS) },
  })
  const endpoint = `http://127.0.0.1:${port}`
  try {
    // The health check is not an AWS action, so it does not use up the unauthenticated requests.
    await waitFor(async () => (await fetch(`${endpoint}/moto-api/data.json`)).ok, {
      timeoutMs: 20_000,
      what: `moto_server on port ${port}`,
      abortIf: () =>
        proc.child.exitCode === null ? undefined : `moto_server exited with code ${proc.child.exitCode}`,
    })
    const bootstrap = new IAMClient({
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDBOOTSTRAP0000000', secretAccessKey: 'bootstrap' },
    })
    await bootstrap.send(new CreateUserCommand({ UserName: 'moto-admin' }))
    const key = (await bootstrap.send(new CreateAccessKeyCommand({ UserName: 'moto-admin' }))).AccessKey
    await bootstrap.send(
      new PutUserPolicyCommand({
        UserName: 'moto-admin',
        PolicyName: 'allow-all',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
        }),
      }),
    )
    bootstrap.destroy()
    if (key?.AccessKeyId === undefined || key.SecretAccessKey === undefined)
      throw new Error('moto issued no key')
    return {
      endpoint,
      region: 'us-east-1',
      admin: { accessKeyId: key.AccessKeyId, secretAccessKey: key.SecretAccessKey },
      logFile: join(logDir, 'moto.log'),
      stop: async () => {
        await proc.stop()
        rmSync(logDir, { recursive: true, force: true })
      },
    }
  } catch (err) {
    await proc.stop()
    rmSync(logDir, { recursive: true, force: true })
    throw err
  }
}
