// ESLint: typescript-eslint's type-checked rules over the whole tree (docs/development.md, "Lint and format").
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Glue files: the only ones that may import `vscode` (plain modules are tested without VS Code).
const GLUE = [
  'extension/extension.ts',
  'extension/services.ts',
  'extension/settings.ts',
  'extension/commands/**',
  'extension/ui/**',
  'extension/chat/participant.ts',
  'extension/chat/tools.ts',
  'extension/chat/workspaceDefaults.ts',
  'extension/auth/githubSignIn.ts',
  'extension/auth/plainHttpConsent.ts',
  'extension/git/vscodeGit.ts',
  'test/e2e/host/**',
];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.cache/', 'test-results/', 'media/', '**/*.js', '**/*.cjs', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      // Fastify plugins and handlers are async by contract, with or without an await inside.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // Sanitizers and their tests match control characters on purpose: that is their job.
      'no-control-regex': 'off',
      'no-restricted-imports': [
        'error',
        { paths: [{ name: 'vscode', message: 'Only glue files (eslint.config.js GLUE) import vscode: pass what this module needs in.' }] },
      ],
    },
  },
  { files: GLUE, rules: { 'no-restricted-imports': 'off' } },
  {
    // Tests, scripts and benchmarks read untyped JSON from what they test and assert on it: the assertions are the check.
    files: ['test/**', 'scripts/**', 'bench/**'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      // assert.equal(stub.method, …) and spies hand methods around without calling them.
      '@typescript-eslint/unbound-method': 'off',
    },
  },
);
