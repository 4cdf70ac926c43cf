import type * as ConfigModule from '../../src/lib/config'
import { anHttpConfig } from './builders'

/**
 * For `jest.mock('…/src/lib/config', …)`: handler modules build production deps from the environment when
 * imported, so tests that import a handler's logic give them a valid, environment-free configuration instead.
 */
export function configModuleMock(): typeof ConfigModule {
  const actual = jest.requireActual<typeof ConfigModule>('../../src/lib/config')
  return { ...actual, loadHttpConfig: () => anHttpConfig() }
}
