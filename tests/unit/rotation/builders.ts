import {
  DescribeSecretCommand,
  GetRandomPasswordCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager'
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock'
import { createMemoryLog, type MemoryLog } from '../../../src/lib/logger'
import type { Clock } from '../../../src/lib/clock'
import type { RotationTarget } from '../../../src/rotation/rotation-config'
import type { RotationDeps, RotationEvent } from '../../../src/rotation/run-rotation-step'
import type { FakePostgres } from './fake-postgres'

export { FakeAuthError, FakeConnectionRefused, FakePostgres } from './fake-postgres'

/** Builders and fakes for the rotation unit tests: an in-memory Secrets Manager behind aws-sdk-client-mock, a fake PostgreSQL. */
export const SECRET_NAME = 'secret-broker/test/app/db'
export const SECRET_ARN = `arn:aws:secretsmanager:us-east-1:123456789012:secret:${SECRET_NAME}-AbCdEf`
export const MASTER_ARN =
  'arn:aws:secretsmanager:us-east-1:123456789012:secret:secret-broker/test/app/db-master-XyZaBc'
export const CURRENT_ID = '11111111-1111-4111-8111-111111111111'
export const TOKEN = '22222222-2222-4222-8222-222222222222'
export const OTHER_TOKEN = '33333333-3333-4333-8333-333333333333'
/** Every test password carries this marker, so a leak into a log or a message can be searched for. */
export const CANARY = 'CANARYx9q'

export class FakeClock implements Clock {
  constructor(private t = 1_800_000_000_000) {}
  now(): number {
    return this.t
  }
  advance(ms: number): void {
    this.t += ms
  }
}

export function aRotationEvent(over: Partial<RotationEvent> = {}): RotationEvent {
  return { Step: 'createSecret', SecretId: SECRET_ARN, ClientRequestToken: TOKEN, ...over }
}

export function aTarget(over: Partial<RotationTarget> = {}): RotationTarget {
  return {
    secretId: SECRET_ARN,
    strategy: 'postgres-single-user',
    passwordLength: 24,
    excludeCharacters: '/@"',
    masterSecretId: undefined,
    ...over,
  }
}

export function aPgSecret(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    engine: 'postgres',
    username: 'app_user',
    password: `${CANARY}-current-pw`,
    host: 'db.internal',
    port: 5432,
    dbname: 'app',
    ...over,
  }
}

interface Version {
  value: string | undefined
  stages: string[]
}

/**
 * Secrets Manager semantics the rotation relies on (labels unique, AWSCURRENT moves leave AWSPREVIOUS,
 * RemoveFromVersionId required), implemented over aws-sdk-client-mock so tests can still match on inputs.
 */
export class FakeSecretsManager {
  readonly client = new SecretsManagerClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
  })
  readonly mock: AwsClientStub<SecretsManagerClient> = mockClient(this.client)
  readonly versions = new Map<string, Version>()
  rotationEnabled: boolean | undefined = true
  generated = 0
  /** The master secret's AWSCURRENT text at MASTER_ARN; undefined: it does not exist. */
  master: string | undefined = JSON.stringify(
    aPgSecret({ username: 'admin_user', password: `${CANARY}-master-pw` }),
  )

  constructor() {
    this.install()
  }

  install(): void {
    this.mock.reset()
    this.mock.on(DescribeSecretCommand).callsFake((input: { SecretId: string }) => {
      this.checkId(input.SecretId)
      return {
        ARN: SECRET_ARN,
        Name: SECRET_NAME,
        ...(this.rotationEnabled === undefined ? {} : { RotationEnabled: this.rotationEnabled }),
        VersionIdsToStages: Object.fromEntries([...this.versions].map(([id, v]) => [id, [...v.stages]])),
      }
    })
    this.mock
      .on(GetSecretValueCommand)
      .callsFake((input: { SecretId: string; VersionId?: string; VersionStage?: string }) => {
        if (input.SecretId === MASTER_ARN) {
          if (this.master === undefined || input.VersionStage !== 'AWSCURRENT')
            throw new ResourceNotFoundException({
              message: "Secrets Manager can't find the specified secret.",
              $metadata: { httpStatusCode: 400 },
            })
          return { SecretString: this.master }
        }
        this.checkId(input.SecretId)
        const entry: [string, Version | undefined] | undefined =
          input.VersionId !== undefined
            ? [input.VersionId, this.versions.get(input.VersionId)]
            : [...this.versions].find(([, v]) => v.stages.includes(input.VersionStage ?? 'AWSCURRENT'))
        const v = entry?.[1]
        if (
          v === undefined ||
          (input.VersionStage !== undefined && !v.stages.includes(input.VersionStage)) ||
          v.value === undefined
        ) {
          throw new ResourceNotFoundException({ message: 'not found', $metadata: {} })
        }
        return { ARN: SECRET_ARN, VersionId: entry?.[0], SecretString: v.value, VersionStages: [...v.stages] }
      })
    this.mock
      .on(PutSecretValueCommand)
      .callsFake((input: { ClientRequestToken: string; SecretString: string; VersionStages: string[] }) => {
        for (const label of input.VersionStages) this.dropLabel(label)
        const existing = this.versions.get(input.ClientRequestToken)
        this.versions.set(input.ClientRequestToken, {
          value: input.SecretString,
          stages: [...(existing?.stages ?? []), ...input.VersionStages],
        })
        return { ARN: SECRET_ARN, VersionId: input.ClientRequestToken, VersionStages: input.VersionStages }
      })
    this.mock
      .on(UpdateSecretVersionStageCommand)
      .callsFake(
        (input: { VersionStage: string; MoveToVersionId?: string; RemoveFromVersionId?: string }) => {
          const holder = [...this.versions].find(([, v]) => v.stages.includes(input.VersionStage))?.[0]
          if (
            input.MoveToVersionId !== undefined &&
            holder !== undefined &&
            holder !== input.MoveToVersionId &&
            input.RemoveFromVersionId !== holder
          ) {
            throw new Error('InvalidParameterException: RemoveFromVersionId')
          }
          if (input.RemoveFromVersionId !== undefined) {
            const v = this.versions.get(input.RemoveFromVersionId)
            if (v?.stages.includes(input.VersionStage) !== true)
              throw new Error('InvalidParameterException: stage not on version')
            v.stages = v.stages.filter((s) => s !== input.VersionStage)
            if (input.VersionStage === 'AWSCURRENT' && input.MoveToVersionId !== undefined) {
              this.dropLabel('AWSPREVIOUS')
              v.stages.push('AWSPREVIOUS')
            }
          }
          if (input.MoveToVersionId !== undefined)
            this.versions.get(input.MoveToVersionId)?.stages.push(input.VersionStage)
          return { ARN: SECRET_ARN }
        },
      )
    this.mock.on(GetRandomPasswordCommand).callsFake((input: { PasswordLength: number }) => {
      this.generated++
      const pw = `${CANARY}-gen${this.generated}-`
      return { RandomPassword: pw.padEnd(input.PasswordLength, 'x').slice(0, input.PasswordLength) }
    })
  }

  private checkId(id: string): void {
    if (id !== SECRET_ARN && id !== SECRET_NAME)
      throw new ResourceNotFoundException({ message: 'not found', $metadata: {} })
  }

  private dropLabel(label: string): void {
    for (const v of this.versions.values()) v.stages = v.stages.filter((s) => s !== label)
  }

  put(id: string, value: Record<string, unknown> | string | undefined, stages: string[]): void {
    this.versions.set(id, {
      value: value === undefined || typeof value === 'string' ? value : JSON.stringify(value),
      stages,
    })
  }

  raw(id: string): string | undefined {
    return this.versions.get(id)?.value
  }

  /** A secret with a current value and this token as RotateSecret's value-less AWSPENDING stub. */
  static rotating(current: Record<string, unknown> | string = aPgSecret()): FakeSecretsManager {
    const sm = new FakeSecretsManager()
    sm.put(CURRENT_ID, current, ['AWSCURRENT'])
    sm.put(TOKEN, undefined, ['AWSPENDING'])
    return sm
  }

  stages(): Record<string, string[]> {
    return Object.fromEntries([...this.versions].map(([id, v]) => [id, v.stages]))
  }

  value(id: string): Record<string, unknown> | undefined {
    const raw = this.versions.get(id)?.value
    return raw === undefined ? undefined : (JSON.parse(raw) as Record<string, unknown>)
  }
}

export interface TestDeps extends RotationDeps {
  readonly log: MemoryLog
  readonly clock: FakeClock
}

export function someDeps(
  sm: FakeSecretsManager,
  db: FakePostgres,
  target: RotationTarget = aTarget(),
): TestDeps {
  let n = 0
  return {
    sm: sm.client,
    targets: [target],
    passwords: {
      generate: ({ length }) => {
        n++
        return Promise.resolve(`${CANARY}-new${n}-`.padEnd(length, 'y').slice(0, length))
      },
    },
    connectAs: db.connectAs,
    randomBytes: (size) => Buffer.alloc(size, 7),
    clock: new FakeClock(),
    log: createMemoryLog(),
  }
}
