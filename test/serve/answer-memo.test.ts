/**
 * The memo of answers from a deterministic executor: what makes two requests the same call (route, URL,
 * argument headers and cookies), what is never reused (bodies, rejections, failures, non-deterministic
 * executors), and that the access checks still come first.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { httpFunction } from '../../src/core/http-binding.js';
import type { Tool } from '../../src/core/tool.js';
import type { ExecutionContext, Observation, ToolExecutor } from '../../src/executors/executor.js';
import { createSchemaExecutor } from '../../src/executors/schema-executor.js';
import { createAnswerMemo } from '../../src/serve/answer-memo.js';
import { createToolServer } from '../../src/serve/index.js';
import type { Answer } from '../../src/serve/reply.js';

const tool: Tool = {
  name: 'Shop',
  description: 'A shop.',
  auth: [],
  servers: ['https://shop.example.com'],
  functions: [
    httpFunction({
      name: 'item',
      method: 'get',
      path: '/items/{id}',
      parameters: [
        { name: 'id', in: 'path', required: true, schema: { type: 'string' } },
        { name: 'q', in: 'query', required: false, schema: { type: 'string' } },
        { name: 'X-Mode', in: 'header', required: false, schema: { type: 'string' } },
        { name: 'session', in: 'cookie', required: false, schema: { type: 'string' } },
        { name: 'limit', in: 'query', required: false, schema: { type: 'integer' } },
      ],
      response: {
        status: '200',
        contentType: 'application/json',
        schema: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
      },
    }),
    httpFunction({
      name: 'save',
      method: 'post',
      path: '/items',
      parameters: [],
      requestBody: {
        required: true,
        contentType: 'application/json',
        schema: { type: 'object', properties: { name: { type: 'string' } } },
      },
    }),
  ],
};

/** The schema executor, counting its calls; `deterministic` as given. */
function counting(deterministic: boolean): ToolExecutor & { calls: number } {
  const inner = createSchemaExecutor();
  const executor = {
    kind: 'schema',
    ...(deterministic ? { deterministic: true } : {}),
    calls: 0,
    execute(t: Tool, name: string, args: Record<string, unknown>, context?: ExecutionContext) {
      executor.calls++;
      return inner.execute(t, name, args, context);
    },
  };
  return executor;
}

describe('answers of a deterministic executor are reused', () => {
  test('the schema executor says it is deterministic', () => {
    assert.equal(createSchemaExecutor().deterministic, true);
  });

  test('the same route, URL, argument headers and cookies: one call, the same answer', async () => {
    const executor = counting(true);
    const lines: string[] = [];
    const server = await createToolServer([tool], executor, { log: (line) => lines.push(line) });
    try {
      const get = (url: string, headers: Record<string, string> = {}) =>
        server.app.inject({ method: 'GET', url, headers });
      const first = await get('/Shop/items/7?q=a', { 'x-mode': 'm', cookie: 'session=s1' });
      const again = await get('/Shop/items/7?q=a', { 'x-mode': 'm', cookie: 'session=s1' });
      assert.equal(first.statusCode, 200, first.body);
      assert.equal(executor.calls, 1);
      assert.equal(again.body, first.body);
      assert.equal(again.headers['content-type'], first.headers['content-type']);
      assert.equal(again.headers['x-toolalpaca-source'], 'schema');
      assert.equal(lines.at(-1)?.endsWith(' schema'), true, lines.at(-1));
      // HEAD shares the GET route's answers.
      const head = await server.app.inject({
        method: 'HEAD',
        url: '/Shop/items/7?q=a',
        headers: { 'x-mode': 'm', cookie: 'session=s1' },
      });
      assert.equal(head.statusCode, 200);
      assert.equal(head.body, '');
      assert.equal(head.headers['content-length'], String(Buffer.byteLength(first.body)));
      assert.equal(executor.calls, 1);
      // Any input that can carry an argument makes another call.
      const others: [string, Record<string, string>][] = [
        ['/Shop/items/8?q=a', { 'x-mode': 'm', cookie: 'session=s1' }],
        ['/Shop/items/7?q=b', { 'x-mode': 'm', cookie: 'session=s1' }],
        ['/Shop/items/7?q=a', { 'x-mode': 'n', cookie: 'session=s1' }],
        ['/Shop/items/7?q=a', { 'x-mode': 'm', cookie: 'session=s2' }],
        ['/Shop/items/7?q=a', { cookie: 'session=s1' }],
      ];
      for (const [index, [url, headers]] of others.entries()) {
        assert.equal((await get(url, headers)).statusCode, 200);
        assert.equal(executor.calls, 2 + index, `${url} ${JSON.stringify(headers)}`);
      }
      // Headers that carry no argument do not matter.
      await get('/Shop/items/7?q=a', { 'x-mode': 'm', cookie: 'session=s1', 'user-agent': 'other' });
      assert.equal(executor.calls, 1 + others.length);
    } finally {
      await server.close();
    }
  });

  test('warnings of a reused answer are sent again', async () => {
    const executor = counting(true);
    const server = await createToolServer([tool], executor);
    try {
      for (let i = 0; i < 2; i++) {
        const response = await server.app.inject({ method: 'GET', url: '/Shop/items/7?extra=1' });
        assert.equal(response.statusCode, 200);
        assert.match(String(response.headers['x-toolalpaca-warnings']), /Unknown parameter 'extra'/);
      }
      assert.equal(executor.calls, 1);
    } finally {
      await server.close();
    }
  });

  test('not reused: other executors, memo size 0, request bodies, rejections and failures', async () => {
    for (const [executor, options] of [
      [counting(false), {}],
      [counting(true), { answerMemoSize: 0 }],
    ] as const) {
      const server = await createToolServer([tool], executor, options);
      try {
        for (let i = 0; i < 2; i++) await server.app.inject({ method: 'GET', url: '/Shop/items/7' });
        assert.equal(executor.calls, 2);
      } finally {
        await server.close();
      }
    }
    const executor = counting(true);
    const server = await createToolServer([tool], executor);
    try {
      for (let i = 0; i < 2; i++) {
        const saved = await server.app.inject({ method: 'POST', url: '/Shop/items', payload: { name: 'a' } });
        assert.equal(saved.statusCode, 200, saved.body);
        // Rejected by the argument check: the executor is never called, and the answer is not kept.
        const invalid = await server.app.inject({ method: 'GET', url: '/Shop/items/7?limit=ten' });
        assert.equal(invalid.statusCode, 400);
      }
      assert.equal(executor.calls, 2);
    } finally {
      await server.close();
    }
    let failures = 0;
    const failing: ToolExecutor = {
      kind: 'failing',
      deterministic: true,
      async execute(): Promise<Observation> {
        failures++;
        return { status: 502, body: undefined, headers: {}, source: 'schema', latencyMs: 0, error: 'down' };
      },
    };
    const failingServer = await createToolServer([tool], failing);
    try {
      for (let i = 0; i < 2; i++) {
        const response = await failingServer.app.inject({ method: 'GET', url: '/Shop/items/7' });
        assert.equal(response.statusCode, 502);
      }
      assert.equal(failures, 2);
    } finally {
      await failingServer.close();
    }
  });

  test('the access checks come before a reused answer', async () => {
    const token = 'memo-token-0123456789';
    const executor = counting(true);
    const server = await createToolServer([tool], executor, { token });
    try {
      const url = '/Shop/items/7';
      const authorization = `Bearer ${token}`;
      const ok = await server.app.inject({ method: 'GET', url, headers: { authorization } });
      assert.equal(ok.statusCode, 200);
      assert.equal((await server.app.inject({ method: 'GET', url })).statusCode, 401);
      const wrongHost = await server.app.inject({
        method: 'GET',
        url,
        headers: { authorization, host: 'evil.example' },
      });
      assert.equal(wrongHost.statusCode, 421);
      const crossSite = await server.app.inject({
        method: 'GET',
        url,
        headers: { authorization, origin: 'https://evil.example' },
      });
      assert.equal(crossSite.statusCode, 403);
      assert.equal(executor.calls, 1);
    } finally {
      await server.close();
    }
  });
});

describe('answer memo bounds', () => {
  const answer = (payload: string, reusable = true): Answer => ({
    status: 200,
    headers: {},
    payload,
    source: 'schema',
    reusable,
  });

  test('the oldest answers go first, by entries and by characters; large and non-reusable ones are not kept', () => {
    const memo = createAnswerMemo(2, 100);
    assert.ok(memo);
    memo.set('a', answer('1'));
    memo.set('b', answer('2'));
    memo.set('c', answer('3'));
    assert.equal(memo.get('a'), undefined);
    assert.equal(memo.get('b')?.payload, '2');
    assert.equal(memo.get('c')?.payload, '3');
    memo.set('d', answer('x'.repeat(60)));
    assert.equal(memo.get('b'), undefined);
    memo.set('e', answer('y'.repeat(60)));
    assert.equal(memo.get('c'), undefined);
    assert.equal(memo.get('d'), undefined);
    assert.equal(memo.get('e')?.payload, 'y'.repeat(60));
    memo.set('f', answer('z', false));
    assert.equal(memo.get('f'), undefined);
    memo.set('g', answer('z'.repeat(2 * 1024 * 1024)));
    assert.equal(memo.get('g'), undefined);
    assert.equal(createAnswerMemo(0), undefined);
  });
});
