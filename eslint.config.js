import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The layering of docs/architecture.md, checked: each folder of src/ may import only the folders listed
 * for it (data flows one way: core ← models ← … ← cli), nothing imports src/cli, and a few packages stay
 * in the one folder that adapts them. A sub-folder (`run/queue`) is a folder of its own: it may import
 * its parent, the parent may not import it, and the folders that may are listed like any other.
 * verify/ and view/ are leaves beside cli/: only the CLI imports them.
 */
const LAYERS = {
  core: [],
  models: ['core'],
  mcp: ['core'],
  run: ['core', 'models'],
  'run/queue': ['core', 'models', 'run'],
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
  verify: ['core', 'models', 'formats', 'executors', 'agents', 'run', 'export', 'eval'],
  view: ['core', 'formats', 'run', 'export', 'eval', 'serve', 'verify'],
};
/** Packages adapted in one folder only (fastify: the two HTTP servers, `serve` and the viewer). */
const PACKAGE_HOMES = {
  zod: ['core'],
  commander: ['cli'],
  fastify: ['serve', 'view'],
  bullmq: ['run/queue'],
  preact: ['view'],
  'node-llama-cpp': ['models'],
  '@readme/openapi-parser': ['formats'],
  'json-schema-faker': ['executors'],
};

const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function restrictedImports(folder) {
  const allowed = LAYERS[folder];
  const banned =
    allowed === undefined
      ? ['cli']
      : [...Object.keys(LAYERS), 'cli'].filter((f) => f !== folder && !allowed.includes(f));
  const patterns = banned.flatMap((name) => {
    const message = `src/${folder} may not import src/${name} (docs/architecture.md: layering)`;
    // A relative import that climbs out of the folder into `name` (e.g. '../agents/episode.js').
    const rules = [{ regex: `^(\\.\\./)+${escape(name)}(/|\\.js$)`, message }];
    // A sub-folder seen from its parent folder ('./queue/queue-url.js' from src/run).
    const [parent, child] = name.split('/');
    if (child !== undefined && parent === folder) {
      rules.push({ regex: `^\\./${escape(child)}(/|\\.js$)`, message });
    }
    return rules;
  });
  const paths = Object.entries(PACKAGE_HOMES)
    .filter(([, homes]) => allowed !== undefined && !homes.includes(folder))
    .map(([name, homes]) => ({
      name,
      message: `${name} is used in ${homes.map((h) => `src/${h}`).join(' and ')} only`,
    }));
  return ['error', { paths, patterns }];
}

const layering = [
  // Files of src/ outside the listed folders: nothing imports the CLI.
  {
    files: ['src/**/*.ts'],
    ignores: ['src/cli/**'],
    rules: { 'no-restricted-imports': restrictedImports('(other)') },
  },
  // In LAYERS order, so a sub-folder's block (run/queue) comes after its parent's and replaces it there.
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
