import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The layering of docs/architecture.md, checked: each folder of src/ may import only the folders listed
 * for it (data flows one way: core ← models ← … ← cli), nothing imports src/cli, and a few packages stay
 * in the one folder that adapts them. Folders not listed (verify/ and view/, leaves beside cli/)
 * import any folder but cli/.
 */
const LAYERS = {
  core: [],
  models: ['core'],
  mcp: ['core'],
  run: ['core', 'models'],
  formats: ['core', 'run', 'mcp'],
  executors: ['core', 'formats', 'models', 'mcp'],
  agents: ['core', 'formats', 'models', 'executors'],
  datasets: ['core'],
  search: ['core', 'formats', 'models', 'executors', 'agents', 'datasets'],
  pipeline: ['core', 'formats', 'models', 'executors', 'agents', 'search', 'run'],
  retrieval: ['core', 'formats', 'models'],
  export: ['core', 'formats', 'agents', 'pipeline', 'run'],
  eval: ['core', 'formats', 'models', 'executors', 'agents', 'pipeline', 'run', 'datasets'],
  train: ['core'],
  serve: ['core', 'formats', 'executors', 'mcp'],
  testing: ['core', 'models', 'executors'],
};
/** Packages adapted in one folder only. */
const PACKAGE_HOMES = {
  zod: 'core',
  commander: 'cli',
  fastify: 'serve',
  'node-llama-cpp': 'models',
  '@readme/openapi-parser': 'formats',
  'json-schema-faker': 'executors',
};

function restrictedImports(folder) {
  const allowed = LAYERS[folder];
  const banned =
    allowed === undefined
      ? ['cli']
      : [...Object.keys(LAYERS), 'cli'].filter((f) => f !== folder && !allowed.includes(f));
  const patterns = banned.map((name) => ({
    // A relative import that climbs out of the folder into `name` (e.g. '../agents/episode.js').
    regex: `^(\\.\\./)+${name}(/|\\.js$)`,
    message: `src/${folder} may not import src/${name} (docs/architecture.md: layering)`,
  }));
  const paths = Object.entries(PACKAGE_HOMES)
    .filter(([, home]) => allowed !== undefined && home !== folder)
    .map(([name, home]) => ({ name, message: `${name} is used in src/${home} only` }));
  return ['error', { paths, patterns }];
}

const layering = [
  // Files of src/ outside the listed folders: nothing imports the CLI.
  {
    files: ['src/**/*.ts'],
    ignores: ['src/cli/**'],
    rules: { 'no-restricted-imports': restrictedImports('(other)') },
  },
  ...Object.keys(LAYERS).map((folder) => ({
    files: [`src/${folder}/**/*.ts`],
    rules: { 'no-restricted-imports': restrictedImports(folder) },
  })),
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.tmp-*'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        Buffer: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
        fetch: 'readonly',
        performance: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        TextEncoder: 'readonly',
        TextDecoder: 'readonly',
        structuredClone: 'readonly',
        setImmediate: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  ...layering,
);
