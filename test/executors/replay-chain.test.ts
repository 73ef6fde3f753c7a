import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { httpFunction } from '../../src/core/http-binding.js';
import { InputError } from '../../src/core/errors.js';
import type { Tool } from '../../src/core/tool.js';
import { createExecutorChain, createJsonlCache, createMemoryCache } from '../../src/executors/chain.js';
import { createExecutor } from '../../src/executors/create-executor.js';
import type { Observation, ToolExecutor } from '../../src/executors/executor.js';
import {
  createReplayExecutor,
  loadReplayRecords,
  recordObservations,
} from '../../src/executors/replay-executor.js';
import { makeTempDir } from '../helpers/paths.js';

const tool: Tool = {
  name: 'Weather',
  description: 'weather',
  auth: [],
  servers: ['https://weather.example.com'],
  functions: [
    httpFunction({
      name: 'current',
      nameDerived: false,
      method: 'get',
      path: '/current',
      parameters: [
        { name: 'city', in: 'query', required: true, schema: { type: 'string' } },
        { name: 'days', in: 'query', required: false, schema: { type: 'integer' } },
      ],
      response: {
        status: '200',
        contentType: 'application/json',
        schema: { type: 'object', properties: { temp: { type: 'number' } }, required: ['temp'] },
      },
    }),
  ],
};

function observation(status: number, body: unknown, extra: Partial<Observation> = {}): Observation {
  return { status, body, headers: {}, source: 'real', latencyMs: 1, ...extra };
}

/** An executor that answers from a script and counts its calls. */
function scripted(
  kind: string,
  answer: (args: Record<string, unknown>) => Observation | Error,
): ToolExecutor & {
  calls: Record<string, unknown>[];
} {
  const calls: Record<string, unknown>[] = [];
  return {
    kind,
    calls,
    async execute(_tool, _fn, args) {
      calls.push(args);
      const result = answer(args);
      if (result instanceof Error) throw result;
      return result;
    },
  };
}

describe('replay executor', () => {
  test('hits by canonical (tool, function, args), whatever the key order or coercion', async () => {
    const dir = makeTempDir();
    const file = join(dir, 'replay.jsonl');
    await recordObservations(file, [
      {
        tool: 'Weather',
        function: 'current',
        args: { city: 'Oslo', days: 2 },
        observation: observation(200, { temp: -3 }),
      },
      {
        tool: 'Weather',
        function: 'current',
        args: { city: 'Rome' },
        observation: observation(200, { temp: 18 }),
      },
    ]);
    // Appending again: the later line wins.
    await recordObservations(file, [
      {
        tool: 'Weather',
        function: 'current',
        args: { city: 'Rome' },
        observation: observation(200, { temp: 21 }),
      },
    ]);
    assert.equal(readFileSync(file, 'utf8').trim().split('\n').length, 3);
    const replay = createReplayExecutor({ file });
    assert.equal(await replay.size(), 2);
    const oslo = await replay.execute(tool, 'current', { days: '2', city: 'Oslo' });
    assert.equal(oslo.status, 200);
    assert.equal(oslo.source, 'replay');
    assert.deepEqual(oslo.body, { temp: -3 });
    assert.deepEqual((await replay.execute(tool, 'current', { city: 'Rome' })).body, { temp: 21 });
  });

  test('a miss is a 404 observation with an error, or a thrown InputError when configured', async () => {
    const replay = createReplayExecutor({ records: [] });
    const miss = await replay.execute(tool, 'current', { city: 'Paris' });
    assert.equal(miss.status, 404);
    assert.match(miss.error ?? '', /^no recorded observation for Weather\.current \{"city":"Paris"\}/);
    const strict = createReplayExecutor({ records: [], onMiss: 'throw' });
    await assert.rejects(strict.execute(tool, 'current', { city: 'Paris' }), InputError);
    // Invalid calls are rejected before any lookup.
    const invalid = await replay.execute(tool, 'current', {});
    assert.equal(invalid.status, 400);
    assert.deepEqual(invalid.validationErrors, ["Missing required parameter 'city'"]);
  });

  test('broken lines are reported with file and line', async () => {
    const dir = makeTempDir();
    const file = join(dir, 'bad.jsonl');
    writeFileSync(
      file,
      '{"tool":"Weather","function":"current","args":{},"observation":{"status":200}}\n{oops\n',
    );
    await assert.rejects(loadReplayRecords(file), (error: Error) => {
      assert.ok(error instanceof InputError);
      assert.match(error.message, /bad\.jsonl: line 2: invalid JSON/);
      return true;
    });
    await assert.rejects(
      createReplayExecutor({ file: join(dir, 'missing.jsonl') }).execute(tool, 'current', { city: 'x' }),
      /no such file/,
    );
  });
});

describe('executor chain', () => {
  test('falls through on network error, 5xx, 429 and thrown errors; keeps the answering source', async () => {
    const real = scripted('real', (args) =>
      args.city === 'Down'
        ? observation(502, { error: 'x' }, { error: 'network error: ECONNREFUSED' })
        : args.city === 'Busy'
          ? observation(429, 'slow down')
          : args.city === 'Broken'
            ? new Error('boom')
            : observation(200, { temp: 10 }),
    );
    const simulated = scripted('simulated', () => observation(200, { temp: 99 }, { source: 'simulated' }));
    const chain = createExecutorChain([real, simulated]);
    assert.equal((await chain.execute(tool, 'current', { city: 'Up' })).source, 'real');
    assert.equal(simulated.calls.length, 0);
    for (const city of ['Down', 'Busy', 'Broken']) {
      const o = await chain.execute(tool, 'current', { city });
      assert.equal(o.source, 'simulated', city);
      assert.deepEqual(o.body, { temp: 99 });
    }
    assert.equal(simulated.calls.length, 3);
    // A 404 from the API is an answer, not a failure.
    const notFound = createExecutorChain([
      scripted('real', () => observation(404, 'no such city')),
      simulated,
    ]);
    assert.equal((await notFound.execute(tool, 'current', { city: 'Atlantis' })).status, 404);
  });

  test('when every executor fails, the last failure is returned', async () => {
    const chain = createExecutorChain([
      scripted('real', () => observation(503, 'down')),
      createReplayExecutor({ records: [] }),
    ]);
    const o = await chain.execute(tool, 'current', { city: 'Nowhere' });
    assert.equal(o.source, 'replay');
    assert.equal(o.status, 404);
  });

  test('validation happens once, in front: no executor runs for a bad call', async () => {
    const real = scripted('real', () => observation(200, {}));
    const chain = createExecutorChain([real], { cache: createMemoryCache() });
    const o = await chain.execute(tool, 'current', { days: 'two' });
    assert.equal(o.status, 400);
    assert.deepEqual(o.validationErrors, [
      "Missing required parameter 'city'",
      `Parameter 'days' must be integer, got "two"`,
    ]);
    assert.equal(real.calls.length, 0);
  });

  test('a memory cache answers repeats with source "cache" and stores only real answers', async () => {
    const real = scripted('real', (args) =>
      args.city === 'Down' ? observation(500, 'err') : observation(200, { temp: Number(args.days ?? 0) }),
    );
    const schema = await createExecutor('schema');
    const chain = createExecutorChain([real, schema], { cache: createMemoryCache() });
    const first = await chain.execute(tool, 'current', { city: 'Oslo', days: 1, extra: true });
    assert.equal(first.source, 'real');
    assert.deepEqual(first.warnings, ["Unknown parameter 'extra'; allowed: city, days (ignored)"]);
    const again = await chain.execute(tool, 'current', { days: '1', city: 'Oslo' });
    assert.equal(again.source, 'cache');
    assert.deepEqual(again.body, { temp: 1 });
    assert.equal(real.calls.length, 1);
    const down = await chain.execute(tool, 'current', { city: 'Down' });
    assert.equal(down.source, 'schema');
    assert.equal(real.calls.length, 2);
    // The schema answer was cached, the 500 was not.
    assert.equal((await chain.execute(tool, 'current', { city: 'Down' })).source, 'cache');
  });

  test('a JSONL cache records answers that the replay executor later serves', async () => {
    const dir = makeTempDir();
    const file = join(dir, 'cache.jsonl');
    const real = scripted('real', () => observation(200, { temp: 7 }));
    const recording = createExecutorChain([real], { cache: createJsonlCache(file) });
    await recording.execute(tool, 'current', { city: 'Bergen' });
    await recording.execute(tool, 'current', { city: 'Bergen' });
    assert.equal(real.calls.length, 1);
    const records = await loadReplayRecords(file);
    assert.equal(records.length, 1);
    assert.deepEqual(records[0]?.args, { city: 'Bergen' });
    const replayed = await createReplayExecutor({ file }).execute(tool, 'current', { city: 'Bergen' });
    assert.equal(replayed.source, 'replay');
    assert.deepEqual(replayed.body, { temp: 7 });
    // A new chain on the same file starts warm.
    const warm = createExecutorChain([real], { cache: createJsonlCache(file) });
    assert.equal((await warm.execute(tool, 'current', { city: 'Bergen' })).source, 'cache');
    assert.equal(real.calls.length, 1);
  });

  test('createExecutor: known kinds, unknown kind error, simulated loaded lazily', async () => {
    for (const kind of ['schema', 'replay', 'real', 'mcp'] as const) {
      assert.equal((await createExecutor(kind)).kind, kind);
    }
    await assert.rejects(
      createExecutor('psychic'),
      /unknown executor 'psychic'; expected one of: schema, simulated, replay, real, mcp, chain/,
    );
  });
});
