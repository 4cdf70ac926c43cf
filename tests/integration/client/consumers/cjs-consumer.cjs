// The same service written as CommonJS, run with its clock 7 minutes behind (skewed-clock.cjs): its first
// signature is refused, the client corrects the clock from the broker's Date header, and every later
// request is signed right at the first attempt. One JSON line per step, never a password.
const { createInterface } = require('node:readline')
const {
  BrokerClientError,
  createBrokerClient,
  NotFoundError,
  WrongEndpointError,
} = require('@secret-broker/client')

async function main() {
  const endpoint = process.env.SECRET_BROKER_ENDPOINT
  const region = process.env.AWS_REGION
  const name = process.argv[2]
  const statuses = []
  const warnings = []
  const broker = createBrokerClient({
    endpoint,
    region,
    ttlMs: 0,
    timeoutMs: 30_000,
    logger: { debug() {}, warn: (message) => warnings.push(message) },
    fetch: async (url, init) => {
      const res = await fetch(url, init)
      statuses.push(res.status)
      return res
    },
  })
  const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]()
  const report = (step, fields) => process.stdout.write(`${JSON.stringify({ step, ...fields })}\n`)

  const who = await broker.whoami()
  const first = await broker.getSecretEntry(name)
  const second = await broker.getSecretEntry(name)
  report('read', {
    principalArn: who.principalArn,
    versionId: first.versionId,
    username: first.value.username,
    sameVersion: second.versionId === first.versionId,
    statuses: statuses.splice(0),
    clockWarnings: warnings.length,
  })

  await lines.next()
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
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(
      `consumer failed: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}\n`,
    )
    process.exit(1)
  },
)
