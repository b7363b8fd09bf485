// ESLint flat config: typescript-eslint's recommended rules over the TypeScript and the
// .mjs scripts, plus a few type-aware rules for src/ and test/.
// Formatting is Prettier's job (`prettier --check` in `npm run lint`); eslint-config-prettier
// turns off every rule that would fight it.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['dist/', 'node_modules/', '.keelhaul/', 'test-artifacts/', 'bench/results/', 'docs/', 'fixtures/', 'images/', 'compose/'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      globals: { ...globals.node },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // The code drops a key with rest destructuring (`const { kind: _kind, ...rest } = x`)
      // and marks a deliberately unused binding with a leading underscore.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  {
    // Type-aware rules where a tsconfig gives the type information: src/ is the
    // program tsconfig.json describes and test/ has test/tsconfig.json (which extends it), so the
    // project service finds a program for every file without a default project.
    files: ['src/**/*.ts', 'test/**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // A promise nobody awaits or catches is how an outage handler or a cleanup step
      // silently fails (or crashes the process with an unhandled rejection).
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false, attributes: false } }],
    },
  },
  prettier,
);
