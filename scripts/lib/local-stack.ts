import { randomUUID } from 'node:crypto'
import { mkdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { CreateTableCommand, DynamoDBClient, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb'
import { CreateAliasCommand, CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms'
import {
  CreateSecretCommand,
  GetRandomPasswordCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager'
import {
  compiledDocuments,
  invalidationEnvironment,
  planStack,
  registerTable,
  type ManagedSecret,
  type StackPlan,
} from '../../infra/stack'
import { REGISTER_KEY_ATTRIBUTE, REGISTER_TTL_ATTRIBUTE } from '../../src/contract/register'
import {
  createInvalidationDeps,
  createInvalidationHandler,
  loadInvalidationConfig,
} from '../../src/invalidation'
import { createMemoryLog } from '../../src/lib/logger'
import { createMemoryMetrics } from '../../src/lib/metrics'
import { startLocalEventSource, type LocalEventSource } from './local-events'
import { LOCAL_PARAM_OVERRIDES_VAR, loadStageDeclarations, REPO_ROOT } from '../../infra/stage-declarations'
import { freePort, waitFor } from './ports'
import { localConsumerKeysDocument, mintLocalConsumers, type LocalConsumer } from './local-consumers'
import { enableRotation, prepareMotoForRotation, provisionDemoDatabase } from './local-rotation'
import {
  demoEngineFields,
  provisionDemoEngines,
  provisionDemoIamUsers,
  startDemoEngines,
  type DemoEngines,
} from './local-demo-engines'
import { MOTO_CREDENTIALS, startMoto, type MotoServer } from './moto'
import { startPostgresCluster, type PostgresCluster } from './postgres'
import { markOwned } from './leftovers'
import { startProcess, type Started } from './processes'
import { QUIET_TOOL_ENV } from './tool-env'

/**
 * The local stack: moto (started here, or one the user points at), the KMS key and secrets the local
 * stage declares in serverless.yml (through the same infra/stack.ts plan a deploy uses), demo consumers
 * with fresh SigV4 keys, and the HTTP API under serverless-offline. Used by `npm start` and by the
 * integration tests; `stop()` stops only what this call started.
 */
export type { LocalConsumer }

export interface LocalStackOptions {
  /** Use this emulator instead of starting one. */
  readonly motoEndpoint?: string
  /** Where the broker functions send their Secrets Manager calls (a fault proxy in tests); moto by default. */
  readonly upstreamEndpoint?: string | ((motoEndpoint: string) => Promise<string>)
  /** Where the HTTP functions read the invalidation register (a fault proxy in tests); moto by default. */
  readonly registerEndpoint?: string | ((motoEndpoint: string) => Promise<string>)
  /** Deliver Secrets Manager's label events to the invalidation function (local-events.ts); on by default. */
  readonly events?: boolean
  /** How often the local event source looks at the emulator (ms, default 500). */
  readonly eventIntervalMs?: number
  /** Local-stage params to override (e.g. cacheTtlSeconds). */
  readonly paramOverrides?: Record<string, unknown>
  /** Extra fields per secret value, by logical name (tests add canaries; npm start the local PostgreSQL port). */
  readonly secretFields?: (secret: ManagedSecret) => Record<string, unknown>
  /** Runs after the secrets exist in the emulator and before the API starts (PostgreSQL, rotation wiring). */
  readonly beforeServe?: (ctx: {
    motoEndpoint: string
    plan: StackPlan
    values: ReadonlyMap<string, Record<string, unknown>>
  }) => Promise<void>
  /**
   * Wire rotation the way Secrets Manager would see it (rotation enabled on every rotated secret) and, with
   * `postgres`, start a private PostgreSQL cluster whose demo roles have the secrets' passwords, so a
   * rotation changes a real password. The PostgreSQL secrets then point at that cluster.
   */
  readonly rotation?: boolean
  readonly postgres?: boolean
  /**
   * Start a MariaDB and a Redis for the MySQL and Redis demo secrets (each only if installed) and create the
   * access key secrets' IAM users in the emulator (local-demo-engines.ts); the secrets then point at them.
   */
  readonly demoEngines?: boolean
  /** Rebuild the functions when src/ changes (npm start); test stacks never rebuild under a running test. */
  readonly watch?: boolean
  readonly httpPort?: number
  /**
   * httpPort is a preference, not a demand (npm start without --port): when another program takes it between
   * the check and serverless-offline's bind, the API is served on a free port instead. A free port is
   * always chosen when httpPort is absent.
   */
  readonly httpPortFallback?: boolean
  /** Folder for logs and the audit file; a fresh temp folder under .tmp by default. */
  readonly stateDir?: string
  readonly region?: string
}

export interface LocalStack {
  readonly apiUrl: string
  readonly motoEndpoint: string
  /** The endpoint the broker functions use for Secrets Manager. */
  readonly upstreamEndpoint: string
  readonly region: string
  readonly plan: StackPlan
  readonly consumers: readonly LocalConsumer[]
  /** Logical name → the secret's name in Secrets Manager. */
  readonly secretNames: ReadonlyMap<string, string>
  readonly auditFile: string
  readonly offlineLog: string
  readonly stateDir: string
  readonly postgres: { readonly host: string; readonly port: number; readonly logFile: string } | undefined
  /** The invalidation register's table in the emulator. */
  readonly registerTable: string
  /** The local stand-in for EventBridge (undefined with `events: false`). */
  readonly events: LocalEventSource | undefined
  /** Where the local event source logs each delivered event. */
  readonly eventsLog: string
  /** The demo MariaDB and Redis (when started), and why one was not. */
  readonly demoEngines:
    | {
        readonly mariadb: { readonly host: string; readonly port: number } | undefined
        readonly redis: { readonly host: string; readonly port: number } | undefined
        readonly skipped: readonly string[]
      }
    | undefined
  stop(): Promise<void>
}

/** The register as CloudFormation declares it (infra/invalidation.ts): on demand, keyed by `pk`, with TTL. */
async function createRegister(endpoint: string, region: string, table: string): Promise<void> {
  const db = new DynamoDBClient({ region, endpoint, credentials: MOTO_CREDENTIALS, maxAttempts: 2 })
  try {
    // An emulator given with --endpoint may already have it from an earlier `npm start`.
    const created = db.send(
      new CreateTableCommand({
        TableName: table,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: REGISTER_KEY_ATTRIBUTE, AttributeType: 'S' }],
        KeySchema: [{ AttributeName: REGISTER_KEY_ATTRIBUTE, KeyType: 'HASH' }],
      }),
    )
    await created.catch((err: unknown) => {
      if (!(err instanceof Error && err.name === 'ResourceInUseException')) throw err
    })
    await db.send(
      new UpdateTimeToLiveCommand({
        TableName: table,
        TimeToLiveSpecification: { AttributeName: REGISTER_TTL_ATTRIBUTE, Enabled: true },
      }),
    )
  } finally {
    db.destroy()
  }
}

/** The invalidation function's own handler, configured from the plan, writing the emulator's register. */
function localInvalidationHandler(plan: StackPlan, region: string, motoEndpoint: string) {
  const env = Object.fromEntries(
    Object.entries(invalidationEnvironment(plan)).map(([k, v]) => [k, String(v)]),
  )
  const config = loadInvalidationConfig(
    { ...env, AWS_REGION: region },
    compiledDocuments(plan).invalidationJson,
  )
  const deps = createInvalidationDeps(config, {
    endpoint: motoEndpoint,
    credentials: { ...MOTO_CREDENTIALS },
    log: createMemoryLog(),
    metrics: createMemoryMetrics(),
  })
  return { handler: createInvalidationHandler(deps), destroy: () => deps.destroy() }
}

export async function startLocalStack(opts: LocalStackOptions = {}): Promise<LocalStack> {
  const region = opts.region ?? 'us-east-1'
  const overrides = JSON.stringify(opts.paramOverrides ?? {})
  const plan = planStack(
    loadStageDeclarations('local', undefined, { [LOCAL_PARAM_OVERRIDES_VAR]: overrides }),
  )
  // This stack's identity (its API proves it answers, not another stack's) and its run directory, marked as
  // this process's: the esbuild work dir lives in it, and the servers it starts are recorded there, so a later
  // stack cleans up after this one if it is killed (scripts/lib/leftovers.ts).
  const stackId = randomUUID()
  const runDir = join(REPO_ROOT, '.tmp', `stack-${stackId.slice(0, 8)}`)
  mkdirSync(runDir, { recursive: true })
  markOwned(runDir)
  const stateDir = opts.stateDir ?? runDir
  mkdirSync(stateDir, { recursive: true })
  const cleanups: (() => Promise<void>)[] = [
    () => {
      if (runDir !== stateDir) rmSync(runDir, { recursive: true, force: true })
      return Promise.resolve()
    },
  ]
  let stopping: Promise<void> | undefined
  /** Stops everything this call started; a second call (a second Ctrl-C) waits for the first to finish. */
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      for (const c of cleanups.reverse()) await c().catch(() => undefined)
      cleanups.length = 0
    })())
  try {
    let moto: MotoServer | undefined
    if (opts.motoEndpoint === undefined) {
      moto = await startMoto({ logDir: stateDir, ownerDir: runDir })
      const started = moto
      cleanups.push(() => started.stop())
    }
    const motoEndpoint = opts.motoEndpoint ?? (moto as MotoServer).endpoint
    const clientConfig = { region, endpoint: motoEndpoint, credentials: MOTO_CREDENTIALS, maxAttempts: 2 }
    const sm = new SecretsManagerClient(clientConfig)
    const kms = new KMSClient(clientConfig)
    cleanups.push(() => {
      sm.destroy()
      kms.destroy()
      return Promise.resolve()
    })

    const key = await kms.send(
      new CreateKeyCommand({ Description: 'secret-broker local: encrypts the brokered secrets' }),
    )
    const keyId = key.KeyMetadata?.KeyId as string
    await kms.send(
      new CreateAliasCommand({
        AliasName: `alias/secret-broker-local-${randomUUID().slice(0, 8)}`,
        TargetKeyId: keyId,
      }),
    )

    let pg: PostgresCluster | undefined
    if (opts.postgres === true) {
      pg = await startPostgresCluster()
      const started = pg
      cleanups.push(() => started.stop())
    }
    let engines: DemoEngines | undefined
    let iamFields = new Map<string, Record<string, string>>()
    if (opts.demoEngines === true) {
      engines = await startDemoEngines(plan)
      const started = engines
      cleanups.push(() => started.stop())
      iamFields = await provisionDemoIamUsers(plan, motoEndpoint, region)
    }
    const values = new Map<string, Record<string, unknown>>()
    for (const m of plan.managed) {
      const pw = await sm.send(
        new GetRandomPasswordCommand({
          PasswordLength: m.passwordLength,
          ExcludeCharacters: m.excludeCharacters,
          RequireEachIncludedType: false,
        }),
      )
      const pgFields =
        pg !== undefined && m.fields['engine'] === 'postgres' ? { host: pg.host, port: pg.port } : {}
      const value = {
        username: m.username,
        password: pw.RandomPassword as string,
        ...m.fields,
        ...pgFields,
        ...(engines === undefined ? {} : demoEngineFields(engines, plan, m)),
        ...(iamFields.get(m.logicalName) ?? {}),
        ...(opts.secretFields?.(m) ?? {}),
      }
      values.set(m.logicalName, value)
      await sm.send(
        new CreateSecretCommand({
          Name: m.awsName,
          KmsKeyId: keyId,
          SecretString: JSON.stringify(value),
          Tags: [
            { Key: 'secret-broker:stage', Value: 'local' },
            { Key: 'secret-broker:name', Value: m.logicalName },
          ],
        }),
      )
    }

    if (opts.rotation === true || opts.postgres === true) {
      await prepareMotoForRotation(motoEndpoint, region)
      for (const m of plan.managed)
        if (m.rotation !== undefined) await enableRotation(motoEndpoint, m.awsName, region)
    }
    if (pg !== undefined) {
      await provisionDemoDatabase(
        pg,
        plan,
        Object.fromEntries([...values].map(([k, v]) => [k, { password: String(v['password']) }])),
      )
    }
    if (engines !== undefined)
      await provisionDemoEngines(
        engines,
        plan,
        new Map([...values].map(([k, v]) => [k, String(v['password'])])),
      )
    if (opts.beforeServe !== undefined) await opts.beforeServe({ motoEndpoint, plan, values })

    const table = registerTable(plan)
    await createRegister(motoEndpoint, region, table)
    const eventsLog = join(stateDir, 'events.jsonl')
    let events: LocalEventSource | undefined
    if (opts.events !== false) {
      const invalidation = localInvalidationHandler(plan, region, motoEndpoint)
      events = await startLocalEventSource({
        motoEndpoint,
        region,
        accountId: plan.decl.params.accountId,
        deliver: invalidation.handler,
        logFile: eventsLog,
        ...(opts.eventIntervalMs === undefined ? {} : { intervalMs: opts.eventIntervalMs }),
      })
      const started = events
      cleanups.push(async () => {
        await started.stop()
        invalidation.destroy()
      })
    }
    const registerEndpoint =
      typeof opts.registerEndpoint === 'function'
        ? await opts.registerEndpoint(motoEndpoint)
        : (opts.registerEndpoint ?? motoEndpoint)

    const upstreamEndpoint =
      typeof opts.upstreamEndpoint === 'function'
        ? await opts.upstreamEndpoint(motoEndpoint)
        : (opts.upstreamEndpoint ?? motoEndpoint)
    let httpPort = opts.httpPort ?? (await freePort())
    // Users get long-term keys, roles a 12-hour session (local-consumers.ts); the secret also names the
    // API's host:port, which a signature must be made for.
    const consumers = mintLocalConsumers(plan.decl.params.localConsumers ?? [], { now: Date.now() })
    await sm.send(
      new CreateSecretCommand({
        Name: plan.localConsumersSecretName,
        KmsKeyId: keyId,
        SecretString: JSON.stringify(localConsumerKeysDocument(consumers, httpPort)),
      }),
    )
    const auditFile = join(stateDir, 'audit.jsonl')
    const offlineLog = join(stateDir, 'offline.log')
    const workDir = relative(REPO_ROOT, join(runDir, 'esbuild'))
    // Runs after every attempt's serverless-offline has stopped (clean-ups run last first).
    cleanups.push(() => {
      rmSync(join(REPO_ROOT, workDir), { recursive: true, force: true })
      return Promise.resolve()
    })
    for (let attempt = 1; ; attempt++) {
      const lambdaPort = await freePort()
      const env = functionEnvironment(process.env, {
        AWS_ENDPOINT_URL: upstreamEndpoint,
        // The register is read from the emulator directly (or through a test's fault proxy of its own).
        AWS_ENDPOINT_URL_DYNAMODB: registerEndpoint,
        AWS_REGION: region,
        AWS_DEFAULT_REGION: region,
        AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
        BROKER_AUDIT_FILE: auditFile,
        BROKER_LOCAL_STACK_ID: stackId,
        [LOCAL_PARAM_OVERRIDES_VAR]: overrides,
        SECRET_BROKER_ESBUILD_WORK_DIR: workDir,
        SECRET_BROKER_ESBUILD_WATCH: opts.watch === true ? 'on' : 'off',
      })
      const logStart = fileSize(offlineLog)
      const offline: Started = startProcess(
        process.execPath,
        [
          join(REPO_ROOT, 'node_modules', 'serverless', 'bin', 'serverless.js'),
          'offline',
          'start',
          '--stage',
          'local',
          '--localEnvironment',
          '--httpPort',
          String(httpPort),
          '--lambdaPort',
          String(lambdaPort),
        ],
        { cwd: REPO_ROOT, env, logFile: offlineLog, ownerDir: runDir, ownerCommand: 'serverless.js' },
      )
      cleanups.push(() => offline.stop())
      const apiUrl = `http://127.0.0.1:${httpPort}`
      // Serving means this stack's own API answers: /health names the stack (another stack on the port, or
      // a stranger, does not), and a serverless-offline that died (EADDRINUSE…) is reported with its reason.
      let portTaken = false
      try {
        await waitFor(
          // A stranger on the port may accept and never answer: each look gives up after 2 s.
          async () =>
            (await fetch(`${apiUrl}/health`, { signal: AbortSignal.timeout(2000) })).headers.get(
              LOCAL_STACK_HEADER,
            ) === stackId,
          {
            timeoutMs: 120_000,
            what: `serverless-offline on ${apiUrl} (log: ${offlineLog})`,
            intervalMs: 250,
            // serverless-offline does not exit when its port is taken: it logs EADDRINUSE and waits.
            abortIf: () => {
              const refused = refusedPort(offlineLog, logStart)
              portTaken = refused !== undefined
              if (offline.child.exitCode === null && !portTaken) return undefined
              return offlineExitReason(offlineLog, refused, httpPort, lambdaPort)
            },
          },
        )
        break
      } catch (err) {
        // Another program took the port after it was found free (two `npm start` at once, say): when the
        // port was only a preference, serve on a free one, and name it in the consumers' keys.
        if (!(portTaken && (opts.httpPort === undefined || opts.httpPortFallback === true) && attempt < 3))
          throw err
        await offline.stop()
        httpPort = await freePort()
        await sm.send(
          new PutSecretValueCommand({
            SecretId: plan.localConsumersSecretName,
            SecretString: JSON.stringify(localConsumerKeysDocument(consumers, httpPort)),
          }),
        )
      }
    }
    const apiUrl = `http://127.0.0.1:${httpPort}`
    return {
      apiUrl,
      motoEndpoint,
      upstreamEndpoint,
      region,
      plan,
      consumers,
      secretNames: new Map(plan.managed.map((m) => [m.logicalName, m.awsName])),
      auditFile,
      offlineLog,
      stateDir,
      postgres: pg === undefined ? undefined : { host: pg.host, port: pg.port, logFile: pg.logFile },
      registerTable: table,
      events,
      eventsLog,
      demoEngines:
        engines === undefined
          ? undefined
          : {
              mariadb:
                engines.mariadb === undefined
                  ? undefined
                  : { host: engines.mariadb.host, port: engines.mariadb.port },
              redis:
                engines.redis === undefined
                  ? undefined
                  : { host: engines.redis.host, port: engines.redis.port },
              skipped: engines.skipped,
            },
      stop,
    }
  } catch (err) {
    await stop()
    throw err
  }
}

/** The header the local stage's /health answers with: the id of the stack that started it. */
export const LOCAL_STACK_HEADER = 'x-broker-local-stack'

/**
 * The functions' environment: the parent's, without anything that could point the SDK elsewhere (endpoint
 * variables for any service, profiles, config and credential files, session tokens) or set the broker's
 * configuration, then the stack's own values. Whatever AWS_* variables the developer's shell carries, the
 * functions talk only to this stack's emulator.
 */
export function functionEnvironment(
  parent: Readonly<Record<string, string | undefined>>,
  own: Readonly<Record<string, string>>,
): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(parent)) {
    if (v === undefined || k.startsWith('BROKER_') || k.startsWith('AWS_')) continue
    env[k] = v
  }
  // No shared config or credentials file may add an endpoint_url, a profile or credentials.
  Object.assign(env, {
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    ...QUIET_TOOL_ENV,
    ...own,
  })
  return env
}

/** Why serverless-offline exited, from its log: a port in use is named as such. */
/** Bytes already in the log, so that an attempt reads only what it wrote itself. */
function fileSize(file: string): number {
  try {
    return statSync(file).size
  } catch {
    return 0
  }
}

function logSince(logFile: string, from: number): string {
  try {
    return readFileSync(logFile).subarray(from).toString('utf8')
  } catch {
    return '' // no log yet
  }
}

/** The port serverless-offline could not bind (EADDRINUSE), -1 when its log does not name it, else undefined. */
function refusedPort(logFile: string, from: number): number | undefined {
  const log = logSince(logFile, from)
  if (!/EADDRINUSE/.test(log)) return undefined
  const port = /EADDRINUSE[^\n]*?:(\d+)/.exec(log)?.[1]
  return port === undefined ? -1 : Number(port)
}

function offlineExitReason(
  logFile: string,
  refused: number | undefined,
  httpPort: number,
  lambdaPort: number,
): string {
  if (refused === undefined) return `it exited (see ${logFile})`
  if (refused === lambdaPort) return `its internal port ${lambdaPort} was taken (EADDRINUSE); try again`
  return `port ${httpPort} is already in use (EADDRINUSE): choose another with --port`
}
