// Jest 30 with @swc/jest: TypeScript and the ESM-only @middy/* packages are compiled to CommonJS.
// Unit tests touch no network; integration tests start their own moto/PostgreSQL/serverless-offline on loopback.
'use strict'
const transform = {
  '^.+\\.(t|j|mj)s$': [
    '@swc/jest',
    {
      jsc: { parser: { syntax: 'typescript' }, target: 'es2022', keepClassNames: true },
      module: { type: 'commonjs' },
    },
  ],
}
const common = {
  testEnvironment: 'node',
  transform,
  transformIgnorePatterns: ['/node_modules/(?!(@middy)/)'],
  setupFilesAfterEnv: ['<rootDir>/tests/support/jest-setup.ts', '<rootDir>/tests/support/suite-output.ts'],
}
module.exports = {
  // Two suites at a time. Jest's default (cores - 1) runs one at a time on a 2-core machine, and most suites
  // wait on servers they started (moto, PostgreSQL, serverless-offline): two at a time nearly halves the run.
  // Suites share no state: free ports, their own state and output folders, one bundling folder per packaging.
  maxWorkers: 2,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/tests/unit/**/*.test.ts'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/tests/integration/**/*.test.ts'],
      slowTestThreshold: 30,
    },
    {
      ...common,
      displayName: 'adversarial',
      testMatch: ['<rootDir>/tests/adversarial/**/*.test.ts'],
      slowTestThreshold: 60,
    },
  ],
}
