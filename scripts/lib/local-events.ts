import { randomUUID } from 'node:crypto'
import { appendFileSync } from 'node:fs'
import { ListSecretsCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import { LABEL_UPDATED, SECRETS_MANAGER_SOURCE } from '../../src/contract/register'
import { AWSPENDING, AWSPREVIOUS } from '../../src/contract/version-stages'
import { MOTO_CREDENTIALS } from './moto'

/**
 * The local stage's EventBridge: moto emits no Secrets Manager events, so this watcher stands in for the
 * service. Every `intervalMs` it lists the emulator's secrets (one ListSecrets, which carries each secret's
 * version stages), and for every staging label other than AWSPENDING and AWSPREVIOUS that now sits on
 * another version — custom labels included, exactly when Secrets Manager sends `Secret Label Updated` — it
 * builds the event AWS would put on the default bus (envelope and detail as documented; see
 * tests/fixtures/events/README.md) and hands it to `deliver`: the invalidation function's own handler.
 * So `npm run rotate`, and a PutSecretValue or UpdateSecretVersionStage made directly in the emulator, reach
 * the register the same way. A delivery that throws is retried on the next ticks (Lambda retries an
 * asynchronous invocation twice), then dropped and logged.
 *
 * What it does not emulate: CloudTrail's `RotationSucceeded` (moto has no CloudTrail events), EventBridge's
 * own delays, and events for changes made while the watcher was not running.
 */
export interface LocalEvent {
  readonly version: '0'
  readonly id: string
  readonly 'detail-type': typeof LABEL_UPDATED
  readonly source: typeof SECRETS_MANAGER_SOURCE
  readonly account: string
  readonly time: string
  readonly region: string
  readonly resources: readonly string[]
  readonly detail: { readonly name: string; readonly labelUpdated: string; readonly versionId: string }
}

export interface DeliveredEvent {
  readonly event: LocalEvent
  /** What the handler returned, or the error's name. */
  readonly outcome: unknown
  readonly deliveredAt: number
}

export interface LocalEventSource {
  /** Every event delivered (or dropped), oldest first. */
  readonly delivered: readonly DeliveredEvent[]
  /** Look now, instead of at the next tick (tests); resolves once this look's events are delivered. */
  poll(): Promise<void>
  stop(): Promise<void>
}

export interface LocalEventSourceOptions {
  readonly motoEndpoint: string
  readonly region: string
  readonly accountId: string
  readonly deliver: (event: LocalEvent) => Promise<unknown>
  readonly intervalMs?: number
  /** A JSON-lines file that receives one line per delivered event. */
  readonly logFile?: string
}

/** Labels Secrets Manager sends no event for. */
const SILENT_LABELS = new Set<string>([AWSPENDING, AWSPREVIOUS])
const MAX_ATTEMPTS = 3

/** label → version, per secret ARN. */
type Snapshot = Map<string, { name: string; labels: Map<string, string> }>

async function listLabels(sm: SecretsManagerClient): Promise<Snapshot> {
  const snapshot: Snapshot = new Map()
  let token: string | undefined
  do {
    const page = await sm.send(new ListSecretsCommand({ MaxResults: 100, NextToken: token }))
    for (const s of page.SecretList ?? []) {
      if (s.ARN === undefined || s.Name === undefined) continue
      const labels = new Map<string, string>()
      for (const [version, stages] of Object.entries(s.SecretVersionsToStages ?? {}))
        for (const label of stages) labels.set(label, version)
      snapshot.set(s.ARN, { name: s.Name, labels })
    }
    token = page.NextToken === '' ? undefined : page.NextToken
  } while (token !== undefined)
  return snapshot
}

export async function startLocalEventSource(opts: LocalEventSourceOptions): Promise<LocalEventSource> {
  const sm = new SecretsManagerClient({
    region: opts.region,
    endpoint: opts.motoEndpoint,
    credentials: MOTO_CREDENTIALS,
    maxAttempts: 2,
  })
  const delivered: DeliveredEvent[] = []
  const retries: { event: LocalEvent; attempts: number }[] = []
  let previous = await listLabels(sm)
  let stopped = false
  let running: Promise<void> | undefined

  function eventFor(arn: string, name: string, label: string, versionId: string): LocalEvent {
    return {
      version: '0',
      id: randomUUID(),
      'detail-type': LABEL_UPDATED,
      source: SECRETS_MANAGER_SOURCE,
      account: opts.accountId,
      // EventBridge times have whole seconds.
      time: new Date(Math.floor(Date.now() / 1000) * 1000).toISOString().replace('.000Z', 'Z'),
      region: opts.region,
      resources: [arn],
      detail: { name, labelUpdated: label, versionId },
    }
  }

  async function deliver(event: LocalEvent, attempts: number): Promise<void> {
    let outcome: unknown
    try {
      outcome = await opts.deliver(event)
    } catch (err) {
      outcome = { error: err instanceof Error ? err.name : 'error', attempt: attempts }
      if (attempts < MAX_ATTEMPTS) retries.push({ event, attempts: attempts + 1 })
    }
    const record: DeliveredEvent = { event, outcome, deliveredAt: Date.now() }
    delivered.push(record)
    if (opts.logFile !== undefined) appendFileSync(opts.logFile, `${JSON.stringify(record)}\n`)
  }

  async function look(): Promise<void> {
    const again = retries.splice(0)
    for (const r of again) await deliver(r.event, r.attempts)
    const current = await listLabels(sm)
    for (const [arn, { name, labels }] of current) {
      const before = previous.get(arn)?.labels
      for (const [label, version] of labels) {
        if (SILENT_LABELS.has(label) || before?.get(label) === version) continue
        // A secret created while watching gets its first AWSCURRENT: AWS sends no label event for a creation.
        if (before === undefined) continue
        await deliver(eventFor(arn, name, label, version), 1)
      }
    }
    previous = current
  }

  function tick(): Promise<void> {
    running ??= look()
      .catch(() => undefined) // the emulator is briefly unreachable: look again next tick
      .finally(() => {
        running = undefined
      })
    return running
  }

  const timer = setInterval(() => void tick(), opts.intervalMs ?? 500)
  timer.unref()
  return {
    delivered,
    async poll() {
      await running
      await tick()
    },
    async stop() {
      if (stopped) return
      stopped = true
      clearInterval(timer)
      await running
      sm.destroy()
    },
  }
}
