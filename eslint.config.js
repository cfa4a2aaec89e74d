// Lint rules, including the project's import rule (docs/architecture.md): translate/ imports only api/;
// controller/, tracker/ and logs/ import translate/, api/ and ports/, never an adapter or an SDK; adapters implement
// ports/; only main.ts and cli/ wire adapters in. Promises are checked with type information: a promise nobody
// awaits or handles, or one passed where a plain callback is expected, loses its errors.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const SDKS = ['@kubernetes/*', '@google-cloud/*', '@grpc/*', 'google-gax', 'google-auth-library'];
const sdkPatterns = SDKS.map((group) => ({
  group: [group],
  message: 'SDKs are used only in src/adapters (and src/emulator).',
}));
const noAdapters = {
  group: ['**/adapters/**'],
  message: 'Adapters are wired in only by src/main.ts and src/cli.',
};
const noEmulator = { group: ['**/emulator/**'], message: 'The emulator is not part of the product core.' };

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bench-results/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
    },
  },
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
        fetch: 'readonly',
        queueMicrotask: 'readonly',
        setImmediate: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['src/translate/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...sdkPatterns,
            {
              group: [
                '**/ports/**',
                '**/controller/**',
                '**/tracker/**',
                '**/adapters/**',
                '**/cli/**',
                '**/emulator/**',
                'node:fs*',
                'node:http*',
                'node:net',
                'node:dns',
                'node:child_process',
                'node:worker_threads',
                'node:process',
                'node:timers*',
                'fs',
                'http',
                'https',
                'net',
                'child_process',
              ],
              message:
                'src/translate is pure: it imports only src/api, itself and computation-only modules (node:crypto).',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/api/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['../*', '!../api/*'], message: 'src/api depends on nothing.' },
            ...sdkPatterns,
          ],
        },
      ],
    },
  },
  {
    files: ['src/controller/**/*.ts', 'src/tracker/**/*.ts', 'src/logs/**/*.ts', 'src/ports/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [...sdkPatterns, noAdapters, noEmulator] }] },
  },
  {
    files: ['src/adapters/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/controller/**', '**/tracker/**', '**/cli/**', '**/emulator/**'],
              message: 'Adapters implement ports; they do not call the controller.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/emulator/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '/(controller|tracker)/|/adapters/(?!batch/wireForm\\.js$)',
              message:
                'The emulator stands alone (it may use src/api types and the Batch wire form conversion).',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'scripts/**/*.{ts,mjs,js}', 'bin/**/*.js'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
);
