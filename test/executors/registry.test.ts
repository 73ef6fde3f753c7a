/**
 * The executor registry: built-in kinds registered by name, custom kinds added from outside with their
 * own group of options, chains built from any registered kinds; and examples/custom-executor.ts compiled
 * with `tsc --strict` against the built package in an empty project, then run.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { httpFunction } from '../../src/core/http-binding.js';
import type { Tool } from '../../src/core/tool.js';
import type { Observation, ToolExecutor } from '../../src/executors/executor.js';
import {
  createExecutor,
  executorNames,
  findExecutor,
  registerExecutor,
  unregisterExecutor,
} from '../../src/executors/registry.js';
import { parseExecutorFlag } from '../../src/cli/executor-options.js';
import { makeTempDir, repoRoot } from '../helpers/paths.js';

const run = promisify(execFile);

const tool: Tool = {
  name: 'Clock',
  description: '',
  auth: [],
  servers: ['https://clock.example.com'],
  functions: [
    httpFunction({
      name: 'now',
      nameDerived: false,
      method: 'get',
      path: '/now',
      parameters: [],
      response: { status: '200', schema: { type: 'object', properties: { t: { type: 'integer' } } } },
    }),
  ],
};

function constant(kind: string, body: unknown, status = 200): ToolExecutor {
  return {
    kind,
    async execute(): Promise<Observation> {
      return { status, body, headers: {}, source: 'replay', latencyMs: 0 };
    },
  };
}

describe('executor registry', () => {
  test('the built-in kinds are registered, in the order help texts list them', async () => {
    assert.deepEqual(executorNames().slice(0, 7), [
      'schema',
      'simulated',
      'replay',
      'real',
      'mcp',
      'chain',
      'stabletoolbench',
    ]);
    for (const name of ['schema', 'replay', 'real', 'mcp'])
      assert.equal((await createExecutor(name)).kind, name);
    await assert.rejects(createExecutor('simulated'), /the simulated executor needs a model/);
  });

  test('a custom kind gets its own group of options, and chains can use it', async () => {
    const seen: unknown[] = [];
    registerExecutor<{ t: number }>({
      name: 'fixed-clock',
      create(options) {
        seen.push(options);
        return constant('fixed-clock', { t: options?.t ?? 0 });
      },
    });
    try {
      const alone = await createExecutor('fixed-clock', { 'fixed-clock': { t: 42 }, schema: {} });
      assert.deepEqual((await alone.execute(tool, 'now', {})).body, { t: 42 });
      assert.deepEqual(seen, [{ t: 42 }]);

      const chain = await createExecutor('chain', {
        'fixed-clock': { t: 7 },
        chain: { order: ['fixed-clock', 'schema'] },
      });
      assert.deepEqual((await chain.execute(tool, 'now', {})).body, { t: 7 });
      assert.equal(parseExecutorFlag('fixed-clock', 'schema'), 'fixed-clock');
      await assert.rejects(
        createExecutor('nope'),
        /expected one of: schema, simulated, replay, real, mcp, chain, stabletoolbench, fixed-clock/,
      );
    } finally {
      assert.equal(unregisterExecutor('fixed-clock'), true);
    }
    assert.equal(findExecutor('fixed-clock'), undefined);
    assert.throws(() => parseExecutorFlag('fixed-clock', 'schema'), /unknown executor "fixed-clock"/);
  });

  test('a chain falls through a custom kind that cannot answer', async () => {
    registerExecutor({ name: 'always-down', create: () => constant('always-down', 'down', 503) });
    try {
      const chain = await createExecutor('chain', { chain: { order: ['always-down', 'schema'] } });
      const o = await chain.execute(tool, 'now', {});
      assert.equal(o.source, 'schema');
      await assert.rejects(
        createExecutor('chain', { chain: { order: ['chain'] } }),
        /an executor chain cannot contain a chain/,
      );
    } finally {
      unregisterExecutor('always-down');
    }
  });

  test('a taken name is refused unless replacing on purpose; names are checked', async () => {
    const schema = findExecutor('schema');
    assert.ok(schema);
    assert.throws(
      () => registerExecutor({ name: 'schema', create: () => constant('x', null) }),
      /an executor named 'schema' is already registered/,
    );
    registerExecutor({ name: 'schema', create: () => constant('replaced', null) }, { replace: true });
    try {
      assert.equal((await createExecutor('schema')).kind, 'replaced');
    } finally {
      registerExecutor(schema, { replace: true });
    }
    assert.equal((await createExecutor('schema')).kind, 'schema');
    assert.throws(
      () => registerExecutor({ name: 'Bad Name', create: () => constant('x', null) }),
      /lower-case/,
    );
  });
});

describe('examples/custom-executor.ts', () => {
  test('compiles with tsc --strict against the built package from an empty project, and runs', async () => {
    const dir = makeTempDir('toolalpaca-example-');
    mkdirSync(join(dir, 'node_modules', '@types'), { recursive: true });
    symlinkSync(repoRoot, join(dir, 'node_modules', 'toolalpaca'), 'dir');
    symlinkSync(
      join(repoRoot, 'node_modules', '@types', 'node'),
      join(dir, 'node_modules', '@types', 'node'),
      'dir',
    );
    copyFileSync(join(repoRoot, 'examples', 'custom-executor.ts'), join(dir, 'custom-executor.ts'));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module', private: true }));
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2022',
          types: ['node'],
          skipLibCheck: true,
          outDir: 'out',
          rootDir: '.',
        },
        files: ['custom-executor.ts'],
      }),
    );
    const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
    await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: dir });
    const { stdout } = await run(process.execPath, [join(dir, 'out', 'custom-executor.js')], { cwd: dir });
    const lines = stdout.trim().split('\n');
    assert.equal(lines[0], 'current: 200 from replay: {"temperature":21.5}');
    assert.match(lines[1] ?? '', /^forecast: 200 from schema: \[/);
  });
});
