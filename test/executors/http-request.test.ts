import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { httpBindingOf, httpFunction, type HttpFunctionFields } from '../../src/core/http-binding.js';
import type { HttpBinding, Tool, ToolFunction } from '../../src/core/tool.js';
import { checkArguments, validateArguments } from '../../src/executors/arguments.js';
import { buildHttpRequest, toCurl } from '../../src/executors/http-request.js';
import { loadOpenApi, openApiToTool } from '../../src/formats/openapi.js';

function fn(partial: Partial<HttpFunctionFields> & Pick<HttpFunctionFields, 'name' | 'path'>): ToolFunction {
  return httpFunction({ nameDerived: false, method: 'get', parameters: [], ...partial });
}

/** The function's HTTP binding (every function here has one). */
function http(f: ToolFunction): HttpBinding {
  return httpBindingOf(f) ?? assert.fail(`${f.name} has no HTTP binding`);
}

function tool(functions: ToolFunction[], servers = ['https://api.example.com/v1/']): Tool {
  return { name: 'Example', description: '', auth: [], servers, functions };
}

const everyLocation = fn({
  name: 'updateThing',
  method: 'post',
  path: '/things/{thingId}/parts/{part}',
  parameters: [
    { name: 'thingId', in: 'path', required: true, schema: { type: 'integer' } },
    { name: 'part', in: 'path', required: true, schema: { type: 'string' } },
    { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1 } },
    { name: 'tags', in: 'query', required: false, schema: { type: 'array', items: { type: 'string' } } },
    { name: 'X-Trace', in: 'header', required: false, schema: { type: 'string' } },
    { name: 'session', in: 'cookie', required: false, schema: { type: 'string' } },
  ],
  requestBody: {
    required: true,
    contentType: 'application/json',
    schema: {
      type: 'object',
      properties: {
        color: { type: 'string', enum: ['wild', 'leucistic', 'albino'] },
        size: { type: 'number' },
        owner: {
          type: 'object',
          properties: { name: { type: 'string' } },
          required: ['name'],
        },
      },
      required: ['color'],
    },
  },
});

describe('buildHttpRequest', () => {
  test('places path, query, header, cookie and JSON body arguments', () => {
    const t = tool([everyLocation]);
    const args = {
      thingId: 42,
      part: 'a b/c?',
      limit: 5,
      tags: ['x', 'y z'],
      'X-Trace': 'trace-1',
      session: 's1',
      color: 'wild',
      owner: { name: 'Ann' },
    };
    assert.deepEqual(validateArguments(everyLocation, args), []);
    const req = buildHttpRequest(t, http(everyLocation), args);
    assert.equal(req.method, 'POST');
    const url = new URL(req.url);
    assert.equal(url.origin, 'https://api.example.com');
    // Path parameters are URL-encoded, so '/' and '?' in a value stay inside the segment.
    assert.equal(url.pathname, '/v1/things/42/parts/a%20b%2Fc%3F');
    assert.equal(url.searchParams.get('limit'), '5');
    assert.deepEqual(url.searchParams.getAll('tags'), ['x', 'y z']);
    assert.equal(req.headers['X-Trace'], 'trace-1');
    assert.equal(req.headers['Content-Type'], 'application/json');
    assert.deepEqual(req.cookies, { session: 's1' });
    assert.deepEqual(JSON.parse(req.body ?? ''), { color: 'wild', owner: { name: 'Ann' } });
    assert.deepEqual(req.bodyValue, { color: 'wild', owner: { name: 'Ann' } });
  });

  test('a base URL override replaces the server; paths without a leading slash are joined', () => {
    const f = fn({
      name: 'getFruit',
      path: 'api/fruit/{name}',
      parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }],
    });
    const req = buildHttpRequest(tool([f], ['https://www.fruityvice.com']), http(f), { name: 'apple' });
    assert.equal(req.url, 'https://www.fruityvice.com/api/fruit/apple');
    const local = buildHttpRequest(tool([f]), http(f), { name: 'kiwi' }, 'http://127.0.0.1:9999/base');
    assert.equal(local.url, 'http://127.0.0.1:9999/base/api/fruit/kiwi');
    assert.equal(local.body, undefined);
  });

  test('Swagger formData maps to an urlencoded form body', async () => {
    const spec = await loadOpenApi(
      {
        swagger: '2.0',
        info: { title: 'Forms', version: '1' },
        host: 'forms.example.com',
        paths: {
          '/submit': {
            post: {
              operationId: 'submit',
              consumes: ['application/x-www-form-urlencoded'],
              parameters: [
                { name: 'name', in: 'formData', type: 'string', required: true },
                { name: 'age', in: 'formData', type: 'integer' },
                { name: 'verbose', in: 'query', type: 'boolean' },
              ],
              responses: { 200: { description: 'ok' } },
            },
          },
        },
      },
      'forms',
    );
    const t = openApiToTool(spec);
    const f = t.functions[0] as ToolFunction;
    const check = checkArguments(f, { name: 'Zoë & co', age: '30', verbose: 'true' });
    assert.deepEqual(check.errors, []);
    assert.deepEqual(check.args, { name: 'Zoë & co', age: 30, verbose: true });
    const req = buildHttpRequest(t, http(f), check.args);
    assert.equal(req.url, 'https://forms.example.com/submit?verbose=true');
    assert.equal(req.headers['Content-Type'], 'application/x-www-form-urlencoded');
    assert.deepEqual(Object.fromEntries(new URLSearchParams(req.body ?? '')), {
      name: 'Zoë & co',
      age: '30',
    });
  });

  test('multipart bodies use a fixed boundary; a non-object body is the `body` argument', () => {
    const multipart = fn({
      name: 'upload',
      method: 'post',
      path: '/upload',
      requestBody: {
        required: true,
        contentType: 'multipart/form-data',
        schema: { type: 'object', properties: { title: { type: 'string' } } },
      },
    });
    const req = buildHttpRequest(tool([multipart]), http(multipart), { title: 'hello' });
    assert.match(req.headers['Content-Type'] ?? '', /^multipart\/form-data; boundary=/);
    assert.match(req.body ?? '', /name="title"\r\n\r\nhello\r\n/);

    const list = fn({
      name: 'bulk',
      method: 'post',
      path: '/bulk',
      requestBody: {
        required: true,
        contentType: 'application/json',
        schema: { type: 'array', items: { type: 'integer' } },
      },
    });
    assert.deepEqual(validateArguments(list, {}), ["Missing required parameter 'body'"]);
    assert.deepEqual(validateArguments(list, { body: [1, 'x'] }), [
      `Parameter 'body[1]' must be integer, got "x"`,
    ]);
    assert.equal(buildHttpRequest(tool([list]), http(list), { body: [1, 2] }).body, '[1,2]');
  });

  test('toCurl renders method, URL, headers, cookies and body, shell-quoted', () => {
    const t = tool([everyLocation]);
    const req = buildHttpRequest(t, http(everyLocation), {
      thingId: 1,
      part: "it's",
      'X-Trace': 'abc',
      session: 's',
      color: 'albino',
    });
    const curl = toCurl(req);
    assert.equal(
      curl,
      `curl -X POST 'https://api.example.com/v1/things/1/parts/it'\\''s' -H 'Content-Type: application/json' -H 'X-Trace: abc' -b 'session=s' -d '{"color":"albino"}'`,
    );
  });
});
