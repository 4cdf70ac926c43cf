// A service that installed @secret-broker/client, as ES modules. It reads a secret, revalidates it, waits
// while the test rotates it, refreshes it, and handles typed errors. Its settings come from the environment
// as any service's would (endpoint, region, and the standard AWS credential variables). It prints one JSON
// line per step and never a password.
import { createInterface } from 'node:readline'
import {
  BrokerClientError,
  createBrokerClient,
  NotFoundError,
  WrongEndpointError,
} from '@secret-broker/client'

const endpoint = process.env.SECRET_BROKER_ENDPOINT
const region = process.env.AWS_REGION
const name = process.argv[2]
const statuses = []
const broker = createBrokerClient({
  endpoint,
  region,
  ttlMs: 0, // every read revalidates: the second one is a 304
  timeoutMs: 30_000,
  fetch: async (url, init) => {
    const res = await fetch(url, init)
    statuses.push(res.status)
    return res
  },
})
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]()
const report = (step, fields) => process.stdout.write(`${JSON.stringify({ step, ...fields })}\n`)

const first = await broker.getSecretEntry(name)
const second = await broker.getSecretEntry(name)
report('read', {
  versionId: first.versionId,
  username: first.value.username,
  sameVersion: second.versionId === first.versionId,
  statuses: statuses.splice(0),
})

await lines.next() // the test rotates the secret, then says so
const refreshed = await broker.refreshEntry(name)
report('refreshed', {
  versionId: refreshed.versionId,
  secretString: refreshed.secretString,
  accountIdType: typeof refreshed.value.accountId,
  accountId: String(refreshed.value.accountId),
  statuses: statuses.splice(0),
})

const errors = {}
try {
  await broker.getSecret('demo/api-key')
} catch (err) {
  errors.notReadable = [err.name, err instanceof NotFoundError, err instanceof BrokerClientError, err.code]
}
try {
  await createBrokerClient({ endpoint: `${endpoint}/local`, region, timeoutMs: 30_000 }).whoami()
} catch (err) {
  errors.wrongBasePath = [err.name, err instanceof WrongEndpointError, err.code]
}
report('errors', errors)
process.exit(0)
