/**
 * No native module at import: the package root, every public subpath and the CLI start without loading
 * node-llama-cpp or better-sqlite3; they load only when a llama model or the response cache is used.
 * Without node-llama-cpp installed (an optional dependency), a llama: spec is one line saying how to
 * install it. Each case runs node in a child process with a module hook that logs every module loaded
 * (ESM through a resolve hook, CommonJS from the require cache at exit).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { startFakeOpenAI } from '../helpers/fake-openai-server.js';
import { makeTempDir, repoRoot } from '../helpers/paths.js';

const execFileAsync = promisify(execFile);

const HOOKS = `
import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  if (process.env.HIDE_LLAMA === '1' && (specifier === 'node-llama-cpp' || specifier.startsWith('node-llama-cpp/'))) {
    const error = new Error(\`Cannot find package '\${specifier}' imported from \${context.parentURL}\`);
    error.code = 'ERR_MODULE_NOT_FOUND';
    throw error;
  }
  const resolved = await next(specifier, context);
  appendFileSync(process.env.LOAD_LOG, resolved.url + '\\n');
  return resolved;
}
`;

const REGISTER = `
import { register, createRequire } from 'node:module';
import { appendFileSync } from 'node:fs';
register('./hooks.mjs', import.meta.url);
const cjs = createRequire(import.meta.url).cache;
process.on('exit', () => appendFileSync(process.env.LOAD_LOG, Object.keys(cjs).join('\\n') + '\\n'));
`;

interface Loaded {
  modules: string[];
  stdout: string;
  stderr: string;
  code: number;
}

/** Runs `args` under the logging hook and returns every module it loaded. */
async function loadedBy(args: string[], env: Record<string, string> = {}): Promise<Loaded> {
  const dir = makeTempDir('toolalpaca-native-');
  writeFileSync(join(dir, 'hooks.mjs'), HOOKS);
  writeFileSync(join(dir, 'register.mjs'), REGISTER);
  const log = join(dir, 'loaded.txt');
  writeFileSync(log, '');
  let stdout: string;
  let stderr: string;
  let code = 0;
  try {
    ({ stdout, stderr } = await execFileAsync(
      process.execPath,
      ['--import', pathToFileURL(join(dir, 'register.mjs')).href, ...args],
      { cwd: dir, env: { ...process.env, ...env, LOAD_LOG: log } },
    ));
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    code = failed.code ?? 1;
    stdout = failed.stdout ?? '';
    stderr = failed.stderr ?? '';
  }
  return { modules: readFileSync(log, 'utf8').split('\n').filter(Boolean), stdout, stderr, code };
}

const isLlama = (url: string): boolean => /node_modules\/(node-llama-cpp|@node-llama-cpp)\//.test(url);
const isSqlite = (url: string): boolean => /node_modules\/better-sqlite3\//.test(url);

const dist = (path: string): string => pathToFileURL(join(repoRoot, 'dist', path)).href;
const evalScript = (code: string): string[] => ['--input-type=module', '-e', code];

describe('no native module at import', () => {
  test('importing the package root and every public subpath loads neither node-llama-cpp nor better-sqlite3', async () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
      exports: Record<string, string | { import: string }>;
    };
    const entries = Object.entries(pkg.exports).flatMap(([subpath, target]) =>
      typeof target === 'string' ? [] : [{ subpath, url: pathToFileURL(join(repoRoot, target.import)).href }],
    );
    for (const subpath of ['./testing', './verify', './mcp', './serve', './view', './queue']) {
      assert.ok(
        entries.some((entry) => entry.subpath === subpath),
        `toolalpaca/${subpath.slice(2)} is exported`,
      );
    }
    const imports = entries.map(({ url }) => `await import(${JSON.stringify(url)});`).join(' ');
    const loaded = await loadedBy(evalScript(`${imports} console.log('ok');`));
    assert.equal(loaded.stdout.trim(), 'ok', loaded.stderr);
    for (const { url } of entries) assert.ok(loaded.modules.includes(url), `the hook saw ${url}`);
    assert.deepEqual(loaded.modules.filter(isLlama), []);
    assert.deepEqual(loaded.modules.filter(isSqlite), []);
  });

  test('they load when used: the cache opens better-sqlite3, the llama runtime node-llama-cpp', async () => {
    const dir = makeTempDir();
    const loaded = await loadedBy(
      evalScript(`
        const { openResponseCache } = await import(${JSON.stringify(dist('models/index.js'))});
        openResponseCache(${JSON.stringify(dir)}).close();
        await import(${JSON.stringify(dist('models/llama-cpp/runtime.js'))});
        console.log('ok');`),
    );
    assert.equal(loaded.stdout.trim(), 'ok', loaded.stderr);
    assert.ok(loaded.modules.some(isSqlite), 'better-sqlite3 was loaded');
    assert.ok(loaded.modules.some(isLlama), 'node-llama-cpp was loaded');
  });

  test('the CLI talks to an OpenAI-compatible server without loading node-llama-cpp', async () => {
    const server = await startFakeOpenAI();
    try {
      const loaded = await loadedBy(
        [join(repoRoot, 'bin', 'toolalpaca.js'), 'chat', '--model', 'openai:fake-model', 'hi'],
        { OPENAI_BASE_URL: server.baseUrl },
      );
      assert.equal(loaded.code, 0, loaded.stderr);
      assert.deepEqual(loaded.modules.filter(isLlama), []);
    } finally {
      await server.close();
    }
  });

  test('without node-llama-cpp installed, llama: is one line saying how to install it (exit 2)', async () => {
    const loaded = await loadedBy(
      [join(repoRoot, 'bin', 'toolalpaca.js'), 'chat', '--model', 'llama:/models/none.gguf', 'hi'],
      { HIDE_LLAMA: '1' },
    );
    assert.equal(loaded.code, 2, loaded.stderr);
    assert.equal(
      loaded.stderr,
      'toolalpaca: llama: models need the optional package node-llama-cpp, which is not installed: run `npm install node-llama-cpp` (or install without --omit=optional)\n',
    );
  });
});
