import { randomUUID } from 'node:crypto'
import { mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { CreateAliasCommand, CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms'
import {
  CreateSecretCommand,
  GetRandomPasswordCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager'
import { planStack, type ManagedSecret, type StackPlan } from '../../infra/stack'
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

export async function startLocalStack(opts: LocalStackOptions = {}): Promise<LocalStack> {
  const region = opts.region ?? 'us-east-1'
  const overrides = JSON.stringify(opts.paramOverrides ?? {})
  const plan = planStack(
    loadStageDeclarations('local', undefined, { [LOCAL_PARAM_OVERRIDES_VAR]: overrides }),
  )
  const stateDir = opts.stateDir ?? join(REPO_ROOT, '.tmp', `stack-${randomUUID().slice(0, 8)}`)
  mkdirSync(stateDir, { recursive: true })
  const cleanups: (() => Promise<void>)[] = []
  const stop = async (): Promise<void> => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined)
    cleanups.length = 0
  }
  try {
    let moto: MotoServer | undefined
    if (opts.motoEndpoint === undefined) {
      moto = await startMoto({ logDir: stateDir })
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
      pg = await startPostgresCluster({ port: 5432 })
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

    const upstreamEndpoint =
      typeof opts.upstreamEndpoint === 'function'
        ? await opts.upstreamEndpoint(motoEndpoint)
        : (opts.upstreamEndpoint ?? motoEndpoint)
    const httpPort = opts.httpPort ?? (await freePort())
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
    const lambdaPort = await freePort()
    const auditFile = join(stateDir, 'audit.jsonl')
    const offlineLog = join(stateDir, 'offline.log')
    const workDir = join('.esbuild', `stack-${randomUUID().slice(0, 8)}`)
    const env: Record<string, string> = {}
    for (const [k, v] of Object.entries(process.env))
      if (v !== undefined && !k.startsWith('BROKER_')) env[k] = v
    Object.assign(env, {
      AWS_ENDPOINT_URL: upstreamEndpoint,
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
      AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
      BROKER_AUDIT_FILE: auditFile,
      [LOCAL_PARAM_OVERRIDES_VAR]: overrides,
      SECRET_BROKER_ESBUILD_WORK_DIR: workDir,
      SECRET_BROKER_ESBUILD_WATCH: opts.watch === true ? 'on' : 'off',
      ...QUIET_TOOL_ENV,
    })
    delete env['AWS_PROFILE']
    delete env['AWS_SESSION_TOKEN']
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
      { cwd: REPO_ROOT, env, logFile: offlineLog },
    )
    cleanups.push(async () => {
      await offline.stop()
      rmSync(join(REPO_ROOT, workDir), { recursive: true, force: true })
    })
    const apiUrl = `http://127.0.0.1:${httpPort}`
    await waitFor(async () => (await fetch(`${apiUrl}/health`)).status === 200, {
      timeoutMs: 120_000,
      what: `serverless-offline on ${apiUrl} (log: ${offlineLog})`,
      intervalMs: 250,
      abortIf: () =>
        offline.child.exitCode === null ? undefined : `it exited with code ${offline.child.exitCode}`,
    })
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
