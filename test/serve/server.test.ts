/**
 * The virtual API server on the 21 shared evaluation tools (ToolAlpaca's eval_simulated + eval_real),
 * answered by the schema executor; requests through fastify's `inject`, plus real sockets where the
 * network matters (graceful close, no outbound connection).
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import assert from 'node:assert/strict';
import { httpBindingOf, httpFunction } from '../../src/core/http-binding.js';
import { compileSchema, schemaErrors } from '../../src/core/json-schema.js';
import type { HttpBinding, Tool, ToolFunction } from '../../src/core/tool.js';
import type { Observation, ToolExecutor } from '../../src/executors/executor.js';
import { argumentSlots } from '../../src/executors/http-request.js';
import { createSchemaExecutor, generateFromSchema } from '../../src/executors/schema-executor.js';
import { createToolServer, type ToolServer } from '../../src/serve/index.js';
import { loadOpenApi, openApiToTool } from '../../src/formats/openapi.js';
import { readToolSource, toolsOfSource } from '../../src/formats/toolalpaca-json.js';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { makeTempDir, repoRoot, sharedData } from '../helpers/paths.js';

type Json = Record<string, unknown>;

/** The function's HTTP binding (every function of the shared tools has one). */
function http(fn: ToolFunction): HttpBinding {
  return httpBindingOf(fn) ?? assert.fail(`${fn.name} has no HTTP binding`);
}

async function loadEvalTools(): Promise<Tool[]> {
  const tools: Tool[] = [];
  for (const file of ['toolalpaca/eval_simulated.json', 'toolalpaca/eval_real.json']) {
    for (const entry of await toolsOfSource(await readToolSource(sharedData(file)))) {
      assert.ok(entry.tool, `${entry.name}: ${entry.error ?? ''}`);
      tools.push(entry.tool);
    }
  }
  return tools;
}

/** Arguments valid for `fn`: required ones only, or every parameter and body property. */
function validArgs(fn: ToolFunction, all: boolean, seed: number): Json {
  const args: Json = {};
  const params = new Map(http(fn).parameters.map((p) => [p.name, p]));
  const body = http(fn).requestBody?.schema;
  const bodyProps = (body?.properties ?? {}) as Record<string, Json>;
  const bodyRequired = Array.isArray(body?.required) ? (body.required as string[]) : [];
  let n = seed;
  for (const [name, slot] of argumentSlots(http(fn))) {
    const param = params.get(name);
    const schema = param?.schema ?? (slot === 'body' ? body : bodyProps[name]) ?? {};
    const required = param?.required ?? (slot === 'body' ? true : bodyRequired.includes(name));
    if (!required && !all) continue;
    let value = generateFromSchema(schema, n++);
    // An empty path segment would be another route.
    if (slot === 'path' && (value === '' || value === null)) value = 'x';
    args[name] = value;
  }
  return args;
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The HTTP request for a call, placed as the spec says (path, query, header, cookie, JSON body). */
function httpCall(
  tool: Tool,
  fn: ToolFunction,
  args: Json,
): { method: string; url: string; headers: Record<string, string>; payload?: string } {
  const binding = http(fn);
  const slots = argumentSlots(binding);
  let path = (binding.path.startsWith('/') ? binding.path : `/${binding.path}`).replace(
    /\{([^}]+)\}/g,
    (_, name: string) => encodeURIComponent(text(args[name])),
  );
  path = `/${encodeURIComponent(tool.name)}${path}`;
  const query = new URLSearchParams();
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  const bodyProps: Json = {};
  let body: unknown;
  for (const [name, value] of Object.entries(args)) {
    switch (slots.get(name)) {
      case 'query':
        if (Array.isArray(value)) for (const item of value) query.append(name, text(item));
        else query.append(name, text(value));
        break;
      case 'header':
        headers[name] = text(value);
        break;
      case 'cookie':
        cookies.push(`${name}=${encodeURIComponent(text(value))}`);
        break;
      case 'body-property':
        bodyProps[name] = value;
        break;
      case 'body':
        body = value;
        break;
      default:
        break;
    }
  }
  if (cookies.length > 0) headers.cookie = cookies.join('; ');
  if (
    binding.requestBody &&
    body === undefined &&
    (Object.keys(bodyProps).length > 0 || binding.requestBody.required)
  ) {
    body = bodyProps;
  }
  const q = query.toString();
  const call: { method: string; url: string; headers: Record<string, string>; payload?: string } = {
    method: binding.method.toUpperCase(),
    url: q === '' ? path : `${path}?${q}`,
    headers,
  };
  if (body !== undefined) {
    headers['content-type'] = binding.requestBody?.contentType ?? 'application/json';
    call.payload = JSON.stringify(body);
  }
  return call;
}

describe('virtual API server on the 21 shared evaluation tools', () => {
  let tools: Tool[];
  let server: ToolServer;
  const executor = createSchemaExecutor();
  const lines: string[] = [];

  before(async () => {
    tools = await loadEvalTools();
    server = await createToolServer(tools, executor, { log: (line) => lines.push(line) });
  });
  after(async () => {
    await server?.close();
  });

  test('loads all 21 tools', () => {
    assert.equal(tools.length, 21);
  });

  test('every function answers a valid call with 2xx and a body valid against its response schema', async () => {
    let checked = 0;
    for (const tool of tools) {
      for (const fn of tool.functions) {
        for (const all of [false, true]) {
          const args = validArgs(fn, all, checked + 1);
          const call = httpCall(tool, fn, args);
          const where = `${tool.name}.${fn.name} ${call.method} ${call.url}`;
          const response = await server.app.inject(call as never);
          assert.ok(
            response.statusCode >= 200 && response.statusCode < 300,
            `${where}: ${response.statusCode} ${response.body}`,
          );
          assert.equal(response.headers['x-toolalpaca-source'], 'schema', where);
          const contentType = String(response.headers['content-type']);
          const body: unknown = /json/.test(contentType) ? JSON.parse(response.body) : response.body;
          const schema = fn.outputSchema;
          if (schema !== undefined) {
            const validate = compileSchema(schema);
            assert.ok(validate(body), `${where}: ${schemaErrors(validate, 'body').join('; ')}`);
          }
          // The server passed the same arguments the direct call gets: the schema executor seeds its
          // fake data from the canonical arguments, so the bodies are equal. (Cataas' /cat/{id} and
          // /cat/{tag} share one route; the first function answers.)
          if (!(tool.name === 'Cataas' && fn.name === 'findCatByTag')) {
            const direct = await executor.execute(tool, fn.name, args);
            assert.equal(direct.status, response.statusCode, where);
            assert.deepEqual(body, direct.body, where);
          }
          checked++;
        }
      }
    }
    assert.equal(checked, 2 * tools.reduce((sum, tool) => sum + tool.functions.length, 0));
  });

  test('a missing required parameter or a wrong type gets 400 with the reasons', async () => {
    let checked = 0;
    for (const tool of tools) {
      for (const fn of tool.functions) {
        const required = http(fn).parameters.find((p) => p.required && p.in === 'query');
        if (required === undefined) continue;
        const args = validArgs(fn, false, 7);
        delete args[required.name];
        const response = await server.app.inject(httpCall(tool, fn, args) as never);
        assert.equal(response.statusCode, 400, `${tool.name}.${fn.name}: ${response.body}`);
        const body = JSON.parse(response.body) as Json;
        assert.equal(body.error, 'invalid request');
        assert.ok(Array.isArray(body.details));
        assert.ok(
          (body.details as string[]).includes(`Missing required parameter '${required.name}'`),
          response.body,
        );
        checked++;
      }
    }
    assert.ok(checked >= 20, `only ${checked} functions with a required query parameter`);

    const wrongType = await server.app.inject({
      method: 'GET',
      url: '/Nager.Date/api/v3/PublicHolidays/twenty/DE',
    });
    assert.equal(wrongType.statusCode, 400);
    assert.deepEqual(JSON.parse(wrongType.body), {
      error: 'invalid request',
      function: 'PublicHolidayPublicHolidaysV3',
      details: [`Parameter 'year' must be integer, got "twenty"`],
    });

    const badEnum = await server.app.inject({
      method: 'POST',
      url: `/${encodeURIComponent('Améthyste')}/generateAvatar?userId=42`,
      payload: { style: 'baroque' },
    });
    assert.equal(badEnum.statusCode, 400);
    const details = (JSON.parse(badEnum.body) as { details: string[] }).details;
    assert.match(details.join('\n'), /Parameter 'style' must be one of \[.*\], got "baroque"/);
  });

  test('unknown tool and unknown path get 404 JSON listing what exists', async () => {
    const tool404 = await server.app.inject({ method: 'GET', url: '/NoSuchTool/x' });
    assert.equal(tool404.statusCode, 404);
    const toolBody = JSON.parse(tool404.body) as { error: string; tools: { name: string; url: string }[] };
    assert.match(toolBody.error, /unknown tool 'NoSuchTool'/);
    assert.deepEqual(
      toolBody.tools.map((t) => t.name),
      tools.map((t) => t.name),
    );
    assert.ok(toolBody.tools.every((t) => t.url.startsWith(server.url)));

    const path404 = await server.app.inject({ method: 'GET', url: '/Nager.Date/api/v3/Nothing' });
    assert.equal(path404.statusCode, 404);
    const pathBody = JSON.parse(path404.body) as {
      routes: { method: string; path: string; function: string }[];
    };
    const nager = tools.find((t) => t.name === 'Nager.Date');
    assert.deepEqual(
      pathBody.routes.map((r) => r.function),
      nager?.functions.map((f) => f.name),
    );
    assert.ok(
      pathBody.routes.some((r) => r.path === '/Nager.Date/api/v3/PublicHolidays/{year}/{countryCode}'),
    );

    const wrongMethod = await server.app.inject({ method: 'DELETE', url: '/Nager.Date/api/v3/Version' });
    assert.equal(wrongMethod.statusCode, 405);
    assert.equal(wrongMethod.headers.allow, 'GET, HEAD');
  });

  test('tool names with spaces and non-ASCII letters and paths without a leading slash are routed', async () => {
    const spaced = await server.app.inject({ method: 'GET', url: '/Abstract%20Public%20Holidays/countries' });
    assert.equal(spaced.statusCode, 200, spaced.body);
    const accented = await server.app.inject({
      method: 'GET',
      url: '/A%20B%C3%ADblia%20Digital/getBibleLanguages',
    });
    assert.equal(accented.statusCode, 200, accented.body);
    const fruit = await server.app.inject({ method: 'GET', url: '/Fruityvice/api/fruit/banana' });
    assert.equal(fruit.statusCode, 200, fruit.body);
    assert.ok(Array.isArray(JSON.parse(fruit.body)) || typeof JSON.parse(fruit.body) === 'object');
  });

  test('openapi.json points at this server and loads back', async () => {
    for (const tool of tools) {
      const prefix = `/${encodeURIComponent(tool.name)}`;
      const response = await server.app.inject({ method: 'GET', url: `${prefix}/openapi.json` });
      assert.equal(response.statusCode, 200, tool.name);
      const doc = JSON.parse(response.body) as Json;
      assert.deepEqual(
        (doc.servers as { url: string }[]).map((s) => s.url),
        [`${server.url}${prefix}`],
      );
      const loaded = openApiToTool(await loadOpenApi(doc, `${tool.name} openapi.json`));
      assert.deepEqual(
        loaded.functions.map((f) => `${http(f).method} ${http(f).path} ${f.name}`),
        tool.functions.map((f) => `${http(f).method} ${http(f).path} ${f.name}`),
      );
    }
  });

  test('ai-plugin.json has the ChatGPT plugin manifest shape', async () => {
    const response = await server.app.inject({
      method: 'GET',
      url: '/Nager.Date/.well-known/ai-plugin.json',
    });
    assert.equal(response.statusCode, 200);
    const manifest = JSON.parse(response.body) as Json;
    for (const key of [
      'schema_version',
      'name_for_human',
      'name_for_model',
      'description_for_human',
      'description_for_model',
      'logo_url',
      'contact_email',
      'legal_info_url',
    ]) {
      assert.equal(typeof manifest[key], 'string', key);
    }
    assert.deepEqual(manifest.auth, { type: 'none' });
    assert.equal((manifest.api as Json).type, 'openapi');
    assert.equal((manifest.api as Json).url, `${server.url}/Nager.Date/openapi.json`);
    assert.match(String(manifest.name_for_model), /^[A-Za-z0-9_]+$/);
    const logo = await server.app.inject({ method: 'GET', url: '/Nager.Date/logo.png' });
    assert.equal(logo.statusCode, 200);
    assert.equal(logo.headers['content-type'], 'image/png');
  });

  test('healthz', async () => {
    const response = await server.app.inject({ method: 'GET', url: '/healthz' });
    assert.equal(response.statusCode, 200);
    assert.deepEqual(JSON.parse(response.body), { status: 'ok', tools: 21, executor: 'schema' });
  });

  test('one log line per request: METHOD path status ms source', async () => {
    lines.length = 0;
    await server.app.inject({ method: 'GET', url: '/chucknorris.io/jokes/random?x=1' });
    await server.app.inject({ method: 'GET', url: '/chucknorris.io/jokes/search' });
    assert.equal(lines.length, 2);
    assert.match(lines[0] ?? '', /^GET \/chucknorris\.io\/jokes\/random 200 \d+\.\d+ms schema$/);
    assert.match(lines[1] ?? '', /^GET \/chucknorris\.io\/jokes\/search 400 \d+\.\d+ms validation$/);
  });
});

describe('virtual API server: limits, failures and shutdown', () => {
  let tools: Tool[];
  before(async () => {
    tools = await loadEvalTools();
  });

  test('a body over the limit gets 413', async () => {
    const server = await createToolServer(tools, createSchemaExecutor(), { bodyLimit: 1000 });
    try {
      const small = await server.app.inject({
        method: 'POST',
        url: '/Lob.com/verifyUSAddress',
        payload: { addressLine1: '1 Main St', city: 'Springfield', state: 'IL', zipCode: '62701' },
      });
      assert.notEqual(small.statusCode, 413);
      const big = await server.app.inject({
        method: 'POST',
        url: '/Lob.com/verifyUSAddress',
        payload: { addressLine1: 'x'.repeat(5000) },
      });
      assert.equal(big.statusCode, 413);
      assert.deepEqual(JSON.parse(big.body), { error: 'request body too large', limitBytes: 1000 });
    } finally {
      await server.close();
    }
  });

  test('an executor failure (model gave up) becomes 502 with the reason', async () => {
    const failing: ToolExecutor = {
      kind: 'failing',
      async execute(): Promise<Observation> {
        return {
          status: 502,
          body: undefined,
          headers: {},
          source: 'simulated',
          latencyMs: 1,
          error: 'model gave up after 5 attempts: no parsable reply',
        };
      },
    };
    const server = await createToolServer(tools, failing);
    try {
      const response = await server.app.inject({ method: 'GET', url: '/Nager.Date/api/v3/Version' });
      assert.equal(response.statusCode, 502);
      assert.deepEqual(JSON.parse(response.body), {
        error: 'tool call failed',
        reason: 'model gave up after 5 attempts: no parsable reply',
        source: 'simulated',
      });
    } finally {
      await server.close();
    }
  });

  test('close() lets a request in flight finish', async () => {
    let started!: () => void;
    const inFlight = new Promise<void>((resolve) => (started = resolve));
    const slow: ToolExecutor = {
      kind: 'slow',
      async execute(): Promise<Observation> {
        started();
        await new Promise((resolve) => setTimeout(resolve, 300));
        return { status: 200, body: { done: true }, headers: {}, source: 'schema', latencyMs: 300 };
      },
    };
    const server = await createToolServer(tools, slow);
    const pending = fetch(`${server.url}/Nager.Date/api/v3/Version`);
    await inFlight;
    const closed = server.close();
    const response = await pending;
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { done: true });
    await closed;
    await assert.rejects(fetch(`${server.url}/healthz`));
  });

  test('a client that leaves aborts the call through the context signal', async () => {
    let started!: () => void;
    const inFlight = new Promise<void>((resolve) => (started = resolve));
    let onAbort!: (reason: unknown) => void;
    const aborted = new Promise<unknown>((resolve) => (onAbort = resolve));
    const waiting: ToolExecutor = {
      kind: 'waiting',
      execute(_tool, _fn, _args, context): Promise<Observation> {
        const signal = context?.signal;
        assert.ok(signal, 'the call has a signal');
        started();
        return new Promise((done) => {
          signal.addEventListener('abort', () => {
            onAbort(signal.reason);
            done({ status: 499, body: null, headers: {}, source: 'schema', latencyMs: 0, error: 'aborted' });
          });
        });
      },
    };
    const server = await createToolServer(tools, waiting);
    try {
      const client = new AbortController();
      const pending = fetch(`${server.url}/Nager.Date/api/v3/Version`, { signal: client.signal }).catch(
        () => undefined,
      );
      await inFlight;
      client.abort();
      await pending;
      assert.match(String(await aborted), /client closed the connection/);
    } finally {
      await server.close();
    }
  });

  test('two tools with one name are refused', async () => {
    const tool = tools[0]!;
    await assert.rejects(createToolServer([tool, tool], createSchemaExecutor()), /two tools are named/);
  });
});

/**
 * Preload for the child process: every `net.Socket#connect` to a host outside loopback is recorded and
 * refused before any packet is sent. fetch (undici), http and tls all connect through it.
 */
const GUARD = `
import net from 'node:net';
const outbound = [];
globalThis.__outbound = outbound;
const original = net.Socket.prototype.connect;
const loopback = (host) =>
  host === undefined || host === 'localhost' || host === '::1' || /^127\\./.test(host) || host === '::ffff:127.0.0.1';
net.Socket.prototype.connect = function (...args) {
  const first = Array.isArray(args[0]) ? args[0][0] : args[0];
  let host, port, path;
  if (typeof first === 'object' && first !== null) ({ host, port, path } = first);
  else if (typeof first === 'number' || /^\\d+$/.test(String(first))) { port = first; host = typeof args[1] === 'string' ? args[1] : undefined; }
  else path = first;
  if (path === undefined && !loopback(host)) {
    outbound.push(String(host) + ':' + String(port));
    throw new Error('outbound connection blocked: ' + host);
  }
  return original.apply(this, args);
};
`;

/**
 * Child: one server per flag set (each through the CLI's startServe), ready lines in order. On a stdin line
 * "report" it prints `RESULT {probeCaught, outbound}`; on "stop" it closes every server and exits 0.
 */
const CHILD = (serveModule: string, flagSets: Json[]): string => `
import net from 'node:net';
import { createInterface } from 'node:readline';
const { startServe } = await import(${JSON.stringify(serveModule)});
// The guard must catch a connection attempt, or this test proves nothing.
try { net.connect({ host: 'outbound-probe.invalid', port: 80 }).on('error', () => {}); } catch {}
const probeCaught = globalThis.__outbound.includes('outbound-probe.invalid:80');
globalThis.__outbound.length = 0;
if (!probeCaught) {
  process.stderr.write('connection guard not active\\n');
  process.exit(1);
}
const io = { stdout: process.stdout, stderr: process.stderr, cwd: process.cwd() };
const running = [];
for (const flags of ${JSON.stringify(flagSets)}) running.push(await startServe(flags, io));
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'report') {
    process.stdout.write('RESULT ' + JSON.stringify({ probeCaught, outbound: globalThis.__outbound }) + '\\n');
  } else if (line === 'stop') {
    for (const r of running) await r.stop();
    process.exit(0);
  }
}
`;

interface GuardReport {
  probeCaught: boolean;
  outbound: string[];
}

interface GuardedChild {
  /** Server URLs, in the order of the flag sets. */
  urls: string[];
  /** Connections recorded so far. */
  report(): Promise<GuardReport>;
  /** Close the servers; resolves to the exit code. */
  stop(): Promise<number | null>;
}

async function spawnGuardedServers(flagSets: Json[], env: Record<string, string>): Promise<GuardedChild> {
  const dir = makeTempDir('toolalpaca-serve-guard-');
  writeFileSync(join(dir, 'guard.mjs'), GUARD);
  const serveModule = pathToFileURL(join(repoRoot, 'src', 'cli', 'serve.ts')).href;
  writeFileSync(join(dir, 'child.mts'), CHILD(serveModule, flagSets));
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--import', pathToFileURL(join(dir, 'guard.mjs')).href, join(dir, 'child.mts')],
    { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  const waiters: (() => void)[] = [];
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    for (const wake of waiters.splice(0)) wake();
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  void exited.then(() => {
    for (const wake of waiters.splice(0)) wake();
  });
  const waitFor = async <T>(find: () => T | undefined, what: string): Promise<T> => {
    const deadline = Date.now() + 60_000; // a guard against a hang; a loaded machine starts tsx slowly
    for (;;) {
      const found = find();
      if (found !== undefined) return found;
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`${what}: ${stderr}`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  };
  const urls = await waitFor(() => {
    const found = [...stdout.matchAll(/serving \d+ tools at (\S+)/g)].map((m) => m[1] ?? '');
    return found.length === flagSets.length ? found : undefined;
  }, 'servers not ready');
  let reports = 0;
  return {
    urls,
    async report() {
      const index = reports++;
      child.stdin.write('report\n');
      const line = await waitFor(
        () => stdout.split('\n').filter((l) => l.startsWith('RESULT '))[index],
        'no report',
      );
      return JSON.parse(line.slice('RESULT '.length)) as GuardReport;
    },
    async stop() {
      child.stdin.write('stop\n');
      return exited;
    },
  };
}

describe('no outbound connection in schema, replay and simulated modes', () => {
  const evalReal = sharedData('toolalpaca/eval_real.json');
  const common = { tools: [evalReal], port: '0', host: '127.0.0.1', quiet: true };
  let fake: FakeOpenAI;
  let child: GuardedChild;
  let urls: Record<'schema' | 'replay' | 'simulated' | 'real', string>;

  // One child process serves all four modes (tsx's start-up is paid once).
  before(async () => {
    fake = await startFakeOpenAI();
    fake.setDefault(() => ({
      text: 'Status Code: 200\nResponse: {"id": "abc", "url": "https://api.chucknorris.io/jokes/abc", "icon_url": "https://x/y.png", "value": "Chuck Norris can divide by zero.", "categories": [], "created_at": "2020-01-05", "updated_at": "2020-01-05"}\nExplanation: a random joke.',
    }));
    const dir = makeTempDir('toolalpaca-serve-replay-');
    const replay = join(dir, 'replay.jsonl');
    const record = {
      tool: 'Nager.Date',
      function: 'PublicHolidayPublicHolidaysV3',
      args: { year: 2024, countryCode: 'DE' },
      observation: {
        status: 200,
        body: [{ date: '2024-01-01', name: 'New Year' }],
        headers: {},
        source: 'real',
        latencyMs: 5,
      },
    };
    writeFileSync(replay, `${JSON.stringify(record)}\n`);
    child = await spawnGuardedServers(
      [
        { ...common, executor: 'schema' },
        { ...common, executor: 'replay', replayFile: replay },
        {
          ...common,
          executor: 'simulated',
          model: 'openai:fake-model',
          baseUrl: fake.baseUrl,
          cache: false,
        },
        { ...common, executor: 'real' },
      ],
      { OPENAI_API_KEY: 'test-key' },
    );
    const [schema = '', replayUrl = '', simulated = '', real = ''] = child.urls;
    urls = { schema, replay: replayUrl, simulated, real };
  });
  after(async () => {
    await child?.stop();
    await fake?.close();
  });

  test('schema mode', async () => {
    for (const path of [
      '/Nager.Date/api/v3/PublicHolidays/2024/DE',
      '/Nager.Date/api/v3/Version',
      '/Free%20Dictionary/api/v2/entries/en/hello',
      '/chucknorris.io/jokes/random',
    ]) {
      const response = await fetch(`${urls.schema}${path}`);
      assert.equal(response.status, 200, path);
      assert.equal(response.headers.get('x-toolalpaca-source'), 'schema');
    }
    const result = await child.report();
    assert.equal(result.probeCaught, true, 'the connection guard did not work');
    assert.deepEqual(result.outbound, []);
  });

  test('replay mode', async () => {
    const hit = await fetch(`${urls.replay}/Nager.Date/api/v3/PublicHolidays/2024/DE`);
    assert.equal(hit.status, 200);
    assert.deepEqual(await hit.json(), [{ date: '2024-01-01', name: 'New Year' }]);
    assert.equal(hit.headers.get('x-toolalpaca-source'), 'replay');
    const miss = await fetch(`${urls.replay}/Nager.Date/api/v3/Version`);
    assert.ok(miss.status >= 400);
    assert.deepEqual((await child.report()).outbound, []);
  });

  test('simulated mode with the model on a local fake server', async () => {
    const response = await fetch(`${urls.simulated}/chucknorris.io/jokes/random`);
    const body = (await response.json()) as Json;
    assert.equal(response.status, 200, JSON.stringify(body));
    assert.equal(response.headers.get('x-toolalpaca-source'), 'simulated');
    assert.equal(body.value, 'Chuck Norris can divide by zero.');
    assert.ok(fake.chatRequests().length > 0, 'the fake model was asked');
    assert.deepEqual((await child.report()).outbound, []);
  });

  test('the guard sees the real executor reach for the tool host (control)', async () => {
    const before = await child.report();
    assert.deepEqual(before.outbound, [], 'the other modes connected out');
    const response = await fetch(`${urls.real}/Nager.Date/api/v3/Version`);
    assert.equal(response.status, 502);
    const result = await child.report();
    assert.ok(
      result.outbound.some((target) => target.startsWith('date.nager.at')),
      `recorded: ${result.outbound.join(', ')}`,
    );
    assert.equal(await child.stop(), 0);
  });
});

describe('virtual API server: access and media types', () => {
  const formTool: Tool = {
    name: 'Forms',
    description: '',
    auth: [],
    servers: ['https://forms.example.com'],
    functions: [
      httpFunction({
        name: 'submit',
        method: 'post',
        path: '/submit',
        parameters: [],
        requestBody: {
          required: true,
          contentType: 'application/x-www-form-urlencoded',
          schema: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
        },
      }),
      httpFunction({
        name: 'save',
        method: 'post',
        path: '/save',
        parameters: [],
        requestBody: {
          required: true,
          contentType: 'application/json',
          schema: { type: 'object', properties: { name: { type: 'string' } } },
        },
      }),
      // Adjacent parameters: routed by the server's own matcher, not by fastify.
      httpFunction({
        name: 'pair',
        method: 'get',
        path: '/pair/{a}{b}',
        parameters: [
          { name: 'a', in: 'path', required: true, schema: { type: 'string' } },
          { name: 'b', in: 'path', required: true, schema: { type: 'string' } },
        ],
      }),
    ],
  };

  test('allowed hosts: names for any port, name:port for one, the public URL host', async () => {
    const server = await createToolServer([formTool], createSchemaExecutor(), {
      allowedHosts: ['tools.lan', 'pinned.lan:9000', '::2'],
      publicUrl: 'https://public.example.org/base',
    });
    try {
      for (const [host, status] of [
        ['tools.lan', 200],
        ['tools.lan:1234', 200],
        ['pinned.lan:9000', 200],
        ['pinned.lan:9001', 421],
        ['pinned.lan', 421],
        ['[::2]:80', 200],
        ['[::1]', 200],
        ['127.0.0.1:1', 200],
        ['public.example.org', 200],
        ['evil.example', 421],
        ['localhost.evil.example', 421],
        ['localhost:80:80', 421],
      ] as const) {
        const response = await server.app.inject({ method: 'GET', url: '/healthz', headers: { host } });
        assert.equal(response.statusCode, status, host);
      }
    } finally {
      await server.close();
    }
  });

  test('a token is checked on every route; off loopback it is required', async () => {
    await assert.rejects(
      createToolServer([formTool], createSchemaExecutor(), { host: '0.0.0.0' }),
      /listening on 0\.0\.0\.0, which is not a loopback address, needs a bearer token/,
    );
    const token = 'library-token-0123456789';
    const server = await createToolServer([formTool], createSchemaExecutor(), { token });
    try {
      for (const url of ['/healthz', '/', '/Forms/openapi.json', '/Forms/pair/xy', '/Nope']) {
        assert.equal((await server.app.inject({ method: 'GET', url })).statusCode, 401, url);
        const ok = await server.app.inject({
          method: 'GET',
          url,
          headers: { authorization: `Bearer ${token}` },
        });
        assert.notEqual(ok.statusCode, 401, url);
      }
    } finally {
      await server.close();
    }
  });

  test('non-JSON bodies only where the spec declares them; HEAD through the own matcher', async () => {
    const server = await createToolServer([formTool], createSchemaExecutor());
    try {
      const form = await server.app.inject({
        method: 'POST',
        url: '/Forms/submit',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'name=Ada',
      });
      assert.equal(form.statusCode, 200, form.body);
      const text = await server.app.inject({
        method: 'POST',
        url: '/Forms/submit',
        headers: { 'content-type': 'text/plain' },
        payload: 'name=Ada',
      });
      assert.equal(text.statusCode, 415);
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/octet-stream']) {
        const refused = await server.app.inject({
          method: 'POST',
          url: '/Forms/save',
          headers: { 'content-type': type },
          payload: '{"name": "Ada"}',
        });
        assert.equal(refused.statusCode, 415, type);
      }
      const json = await server.app.inject({
        method: 'POST',
        url: '/Forms/save',
        headers: { 'content-type': 'application/json; charset=utf-8' },
        payload: '{"name": "Ada"}',
      });
      assert.equal(json.statusCode, 200, json.body);
      const head = await server.app.inject({ method: 'HEAD', url: '/Forms/pair/xy' });
      assert.equal(head.statusCode, 200);
      assert.equal(head.headers['x-toolalpaca-source'], 'schema');
      const wrong = await server.app.inject({ method: 'DELETE', url: '/Forms/pair/xy' });
      assert.equal(wrong.statusCode, 405);
      assert.equal(wrong.headers.allow, 'GET, HEAD');
    } finally {
      await server.close();
    }
  });
});
