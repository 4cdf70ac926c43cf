import type { BrokerCredentialsProvider } from './signed-transport'

/** Checks of createBrokerClient's options, made at once (not on first use), and the default credentials. */
export function parseEndpoint(raw: string): URL {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new TypeError(`createBrokerClient: endpoint must be an absolute URL, got "${raw}"`)
  }
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw new TypeError('createBrokerClient: endpoint must not have a query, fragment or user info')
  }
  // Values travel in the response body: plain HTTP is only acceptable on this machine (the local stack).
  const loopback = url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]'
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new TypeError(
      'createBrokerClient: endpoint must be https (plain http only for 127.0.0.1, ::1 or localhost)',
    )
  }
  return url
}

export function nonNegative(name: string, v: number): number {
  if (!Number.isFinite(v) || v < 0)
    throw new RangeError(`createBrokerClient: ${name} must be a finite number ≥ 0`)
  return v
}

export function positive(name: string, v: number): number {
  if (!Number.isFinite(v) || v <= 0)
    throw new RangeError(`createBrokerClient: ${name} must be a finite number > 0`)
  return v
}

/**
 * The AWS SDK's default credential chain, loaded on the first request: creating a client reads no files and
 * no environment, and a process that passes its own credentials never loads the chain at all.
 */
export function lazyDefaultCredentials(): BrokerCredentialsProvider {
  let provider: BrokerCredentialsProvider | undefined
  return async () => {
    if (provider === undefined) {
      const { defaultProvider } = await import('@aws-sdk/credential-provider-node')
      provider = defaultProvider()
    }
    return provider()
  }
}
