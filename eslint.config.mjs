// ESLint: typescript-eslint strictTypeChecked, with the rules STYLE.md asks for.
import tseslint from 'typescript-eslint'
import jest from 'eslint-plugin-jest'

/** Nothing outside tests imports tests/: what tools, the benchmark and tests share lives in scripts/lib. */
const NO_TESTS = {
  group: ['**/tests/**', '../tests/*', '../../tests/*'],
  message: 'Nothing imports tests/: move what is shared to scripts/lib.',
}
const NO_HANDLERS = {
  group: ['**/handlers/*'],
  message: 'Nothing imports a handler: handlers are entry points.',
}
/** The broker does not depend on its consumers' package (the package depends on the broker's contract). */
const NO_CLIENT = {
  group: ['**/packages/**', '@secret-broker/*'],
  message: 'The broker does not import the consumer package.',
}
/** lib/secrets is entered through its index only. */
const SECRETS_DOOR = {
  group: [
    '**/lib/secrets/*',
    '../secrets/*',
    './secrets/*',
    '!**/lib/secrets/index',
    '!../secrets/index',
    '!./secrets/index',
  ],
  message: 'Import the secrets core through its index (src/lib/secrets), not its files.',
}

/** src/rotation is entered through its index only. */
const ROTATION_DOOR = {
  group: [
    '**/src/rotation/*',
    '**/src/rotation/**',
    '../rotation/*',
    '../rotation/**',
    '!**/src/rotation/index',
    '!../rotation/index',
  ],
  message: 'Import the rotation core through its index (src/rotation), not its files.',
}

function importRules() {
  const edge = {
    allowTypeImports: true,
    group: ['aws-lambda'],
    message: 'Import event types with `import type` from aws-lambda only at the HTTP edge.',
  }
  return [
    {
      files: ['src/**/*.ts'],
      ignores: ['src/lib/secrets/**', 'src/rotation/**', 'src/invalidation/**'],
      rules: {
        'no-console': 'error',
        'no-restricted-imports': [
          'error',
          { patterns: [NO_TESTS, NO_HANDLERS, NO_CLIENT, SECRETS_DOOR, ROTATION_DOOR, edge] },
        ],
      },
    },
    {
      files: ['src/lib/secrets/**/*.ts', 'src/rotation/**/*.ts', 'src/invalidation/**/*.ts'],
      rules: {
        'no-console': 'error',
        'no-restricted-imports': [
          'error',
          {
            patterns: [
              NO_TESTS,
              {
                group: ['**/handlers/*', '**/middleware/*', '**/lib/http/*', '../http/*'],
                message: 'The core does not depend on the HTTP edge.',
              },
              { group: ['aws-lambda'], message: 'The core knows nothing of Lambda events.' },
              {
                group: [
                  '../lib/secrets',
                  '../lib/secrets/*',
                  '../../lib/secrets',
                  '../../lib/secrets/*',
                  '**/rotation/*',
                ],
                message: 'Rotation and the read path share only the contract (src/contract) and lib basics.',
              },
            ],
          },
        ],
      },
    },
    {
      // The consumer package builds on its own: from the repository it takes only the wire contract and the
      // name grammar, which its build bundles (one declaration, shared with the handlers).
      files: ['packages/client/src/**/*.ts'],
      rules: {
        'no-console': 'error',
        'no-restricted-imports': [
          'error',
          {
            patterns: [
              {
                regex: '^(\\.\\./){3,}(?!src/contract/(wire|secret-name)$)',
                message:
                  'The client package takes only src/contract/wire and src/contract/secret-name from the repository.',
              },
            ],
          },
        ],
      },
    },
    {
      files: ['scripts/**/*.ts', 'bench/**/*.ts', 'infra/**/*.ts'],
      rules: {
        'no-restricted-imports': [
          'error',
          { patterns: [NO_TESTS, NO_HANDLERS, SECRETS_DOOR, ROTATION_DOOR] },
        ],
      },
    },
  ]
}

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      '.serverless/',
      '.esbuild/',
      'coverage/',
      '.tmp/',
      '.broker/',
      'bench/results/',
      'packages/*/dist/',
      '**/*.cjs',
      '**/*.mjs',
    ],
  },
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true },
      ],
      '@typescript-eslint/no-unnecessary-condition': 'off', // noUncheckedIndexedAccess makes defensive checks necessary
      '@typescript-eslint/no-extraneous-class': 'off',
      '@typescript-eslint/no-confusing-void-expression': 'off', // noisy for one-line arrow callbacks
    },
  },
  // Import rules (STYLE.md §1, §14): arrows point inwards and one way; a folder is entered through its index.
  ...importRules(),
  {
    files: ['tests/**/*.ts'],
    ...jest.configs['flat/recommended'],
    rules: {
      ...jest.configs['flat/recommended'].rules,
      'jest/no-focused-tests': 'error',
      'jest/no-disabled-tests': 'error',
      'jest/expect-expect': ['error', { assertFunctionNames: ['expect', 'expect*', 'assert*'] }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/unbound-method': 'off',
      // Tests read JSON bodies and assert on them; property tests assert on the case at hand.
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unnecessary-type-parameters': 'off',
      '@typescript-eslint/consistent-type-imports': ['error', { disallowTypeAnnotations: false }],
      'jest/no-conditional-expect': 'off',
    },
  },
)
