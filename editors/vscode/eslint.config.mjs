// @ts-check
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

const nodeGlobals = {
  process: 'readonly',
  console: 'readonly',
  require: 'readonly',
  module: 'writable',
  __dirname: 'readonly',
  Buffer: 'readonly',
  setTimeout: 'readonly',
};

export default tseslint.config(
  { ignores: ['out/', 'dist/', 'node_modules/', '*.vsix'] },
  eslint.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      eqeqeq: ['error', 'always'],
    },
  },
  {
    // The pure modules run under plain node and in the tests: VS Code's API must not leak in.
    files: ['src/pure/**/*.ts', 'test/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [{ name: 'vscode', message: 'pure modules must not import vscode' }] }],
    },
  },
  {
    // node:test's describe()/it() return promises the runner itself awaits.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-floating-promises': 'off' },
  },
  {
    files: ['*.mjs'],
    languageOptions: { globals: nodeGlobals },
  },
  {
    // The smoke harness: plain CommonJS scripts run by node.
    files: ['smoke/**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: nodeGlobals },
    rules: { eqeqeq: ['error', 'always'] },
  },
);
