import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'
import { httpEnvironment, planStack, rotationEnvironment } from '../../../infra/stack'
import { loadStageDeclarations, REPO_ROOT } from '../../../infra/stage-declarations'
import {
  KNOWN_ENV_KEYS,
  SETTINGS,
  settingsFor,
  STRUCTURAL_ENV,
  type Setting,
} from '../../../src/contract/settings'
import { loadHttpConfig } from '../../../src/lib/config'
import { ConfigError } from '../../../src/lib/errors'
import { loadRotationConfig } from '../../../src/rotation/rotation-config'
import { renderSettingsTable, TABLE_BEGIN, TABLE_END } from '../../../scripts/lib/settings-table'

const settings = Object.entries(SETTINGS) as [keyof typeof SETTINGS, Setting][]
/** The documents a bundled function carries (they are not settings, and not in the environment). */
const CATALOG_JSON = '{"secrets":[]}'
const ROTATION_JSON = '{"pgSslMode":"disable","targets":[]}'

describe('the settings contract', () => {
  it('is what README.md shows in its configuration table (npm run docs:settings rewrites it)', () => {
    // Arrange
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8')
    // Act
    const block = readme.slice(readme.indexOf(TABLE_BEGIN), readme.indexOf(TABLE_END) + TABLE_END.length)
    // Assert
    expect(block).toBe(renderSettingsTable())
  })

  it('is the only place defaults live: no stage in serverless.yml restates a default', () => {
    const doc = parse(readFileSync(join(REPO_ROOT, 'serverless.yml'), 'utf8'), { logLevel: 'silent' }) as {
      params: Record<string, Record<string, unknown>>
    }
    const defaultFor = (stage: string, s: Setting): unknown =>
      (s.kind === 'enum' ? (s.stageDefaults as Record<string, unknown> | undefined)?.[stage] : undefined) ??
      s.default
    const restated = Object.entries(doc.params).flatMap(([stage, params]) =>
      settings
        .filter(([name, s]) => params[name] !== undefined && params[name] === defaultFor(stage, s))
        .map(([name]) => `params.${stage}.${name}`),
    )
    expect(restated).toEqual([])
  })

  it.each(['local', 'dev', 'prod'])(
    'gives the %s functions exactly the variables the contract routes to them',
    (stage) => {
      const plan = planStack(loadStageDeclarations(stage))
      const expected = (fn: 'http' | 'rotation'): string[] => settingsFor(fn).map(([, s]) => s.env as string)
      const http = Object.keys(httpEnvironment(plan)).filter((k) => k.startsWith('BROKER_'))
      const rotation = Object.keys(rotationEnvironment(plan)).filter((k) => k.startsWith('BROKER_'))
      expect(http.filter((k) => !(k in STRUCTURAL_ENV)).sort()).toEqual(expected('http').sort())
      expect(rotation.filter((k) => !(k in STRUCTURAL_ENV)).sort()).toEqual(expected('rotation').sort())
      for (const k of [...http, ...rotation]) expect(KNOWN_ENV_KEYS.has(k)).toBe(true)
    },
  )

  it('reads every variable of both function kinds back to its declared default when unset', () => {
    const http = loadHttpConfig(
      { BROKER_STAGE: 'dev', BROKER_ACCOUNT_ID: '123456789012', AWS_REGION: 'us-east-1' },
      CATALOG_JSON,
    )
    const rotation = loadRotationConfig({ BROKER_STAGE: 'dev', AWS_REGION: 'us-east-1' }, ROTATION_JSON)
    expect(http.cacheTtlMs).toBe(SETTINGS.cacheTtlSeconds.default * 1000)
    expect(http.upstreamMaxAttempts).toBe(SETTINGS.upstreamMaxAttempts.default)
    expect(rotation.upstreamTimeoutMs).toBe(SETTINGS.upstreamTimeoutMs.default)
    expect(rotation.upstreamMaxAttempts).toBe(SETTINGS.upstreamMaxAttempts.default)
    expect(rotation.pgConnectTimeoutMs).toBe(SETTINGS.pgConnectTimeoutMs.default)
  })

  it.each(settings.filter(([, s]) => s.kind === 'int' && s.env !== undefined))(
    'refuses %s one past its range, in the function and in the stage declarations, naming the range',
    (name, s) => {
      const int = s as Extract<Setting, { kind: 'int' }>
      const env = {
        BROKER_STAGE: 'dev',
        BROKER_ACCOUNT_ID: '123456789012',
        AWS_REGION: 'us-east-1',
        [int.env as string]: String(int.max + 1),
      }
      const load =
        int.functions?.includes('http') === true
          ? () => loadHttpConfig(env, CATALOG_JSON)
          : () => loadRotationConfig(env, ROTATION_JSON)
      expect(load).toThrow(new ConfigError(`${int.env as string} must be an integer ${int.min}–${int.max}`))
      expect(() =>
        loadStageDeclarations('local', undefined, {
          SECRET_BROKER_LOCAL_PARAMS: JSON.stringify({ [name]: int.max + 1 }),
        }),
      ).toThrow(`params.local.${name}: an integer ${int.min}–${int.max}`)
    },
  )
})
