import { readdirSync, readFileSync } from 'node:fs';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Package boundaries: the folder list is the dependency graph. A service
// imports libraries only (their public entry or `/internal`), never another
// service; a library never imports a service; nobody reaches into another
// package's files. One block per service, so that its own tests may import it.
const services = readdirSync(new URL('./services', import.meta.url)).map((dir) => ({
  dir,
  name: JSON.parse(readFileSync(new URL(`./services/${dir}/package.json`, import.meta.url), 'utf8'))
    .name,
}));
const deepImports = {
  group: ['@rfw/*/src', '@rfw/*/src/**', '@rfw/*/dist/**', '**/libs/*/src/**', '**/services/**'],
  message: "Import a package by its name ('@rfw/x' or '@rfw/x/internal'), not its files.",
};
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
const boundaries = [
  {
    files: ['libs/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            deepImports,
            {
              group: ['@rfw/service-*'],
              message: 'A library never imports a service: move the shared code into a library.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['libs/core/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@rfw/*'], message: '@rfw/core knows nothing of the other packages.' },
          ],
        },
      ],
    },
  },
  ...services.map(({ dir, name }) => ({
    files: [`services/${dir}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            deepImports,
            {
              regex: `^@rfw/service-(?!${escape(name.slice('@rfw/service-'.length))}$)`,
              message:
                'A service never imports another service: move the shared contract into a library.',
            },
          ],
        },
      ],
    },
  })),
  {
    files: ['examples/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            deepImports,
            {
              group: ['@rfw/*/internal', '../../*'],
              message:
                'An example uses only the public entry points, as a user outside this repository would.',
            },
          ],
        },
      ],
    },
  },
];

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      '.data/**',
      'bench-results/**',
      '**/*.cjs',
      'services/monitor/public/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true },
      ],
    },
  },
  ...boundaries,
  {
    // node:test's it() returns a promise that the runner itself awaits.
    files: ['examples/*/test/**/*.ts'],
    rules: { '@typescript-eslint/no-floating-promises': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
      },
    },
  },
);
