/**
 * The secret-echoing API scenario: a loopback API that echoes its Authorization header, its query and
 * the Basic password (raw, URL-encoded, base64) into every answer, errors included (one path answers
 * 500 with the same echo). generate and eval run (`--executor real --secrets FILE --allow-private`,
 * response cache on) and serve call it; then every output, journal, cache (the SQLite file), log and
 * error message is searched for the secrets in every form.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeOpenAI } from '../helpers/fake-openai-server.js';
import { serve } from '../helpers/serve-process.js';
import { loadGenerationTools } from '../../src/pipeline/generate.js';
import { planCalls, worldResponder } from '../pipeline/fake-agents.js';
import { cli } from './chaos.js';

export const QUERY_KEY = 'rel-q-key/+=Secret&77';
export const PASSWORD = 'rel-pw:odd/+chars=3';

/** Every form a secret could leak in. */
export function secretForms(secret: string): string[] {
  return [
    secret,
    encodeURIComponent(secret),
    new URLSearchParams({ v: secret }).toString().slice(2),
    Buffer.from(secret).toString('base64'),
    Buffer.from(secret).toString('base64url'),
    JSON.stringify(secret).slice(1, -1),
  ];
}

const FORMS = [
  ...new Set([...secretForms(QUERY_KEY), ...secretForms(PASSWORD), ...secretForms(`u:${PASSWORD}`)]),
];

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

function echoSpec(title: string, port: number, security: Record<string, unknown>, path: string): unknown {
  const operation = (id: string) => ({
    operationId: id,
    summary: `Look something up with the ${title}`,
    parameters: [{ name: 'q', in: 'query', required: true, schema: { type: 'string' } }],
    responses: {
      '200': {
        description: 'what the API saw',
        content: { 'application/json': { schema: { type: 'object' } } },
      },
    },
  });
  return {
    openapi: '3.0.3',
    info: { title, version: '1.0', description: `The ${title}: answers questions about trips.` },
    servers: [{ url: `http://127.0.0.1:${port}` }],
    components: { securitySchemes: { auth: security } },
    security: [{ auth: [] }],
    paths: { [path]: { get: operation(`${path.slice(1)}Lookup`) } },
  };
}

export interface SecretFigures {
  runs: number;
  /** Calls the API received carrying a secret (the scenario is only meaningful when > 0). */
  delivered: number;
  /** Files and streams searched. */
  searched: number;
  /** `what: form` for every secret form found. */
  found: string[];
  /** generate's summary on stdout (it names the cache hits). */
  generateSummary: string;
}

export async function secretEchoScenario(dir: string): Promise<SecretFigures> {
  const received: string[] = [];
  const api: Server = createServer((req: IncomingMessage, res) => {
    received.push(JSON.stringify({ url: req.url, headers: req.headers }));
    const basic = String(req.headers.authorization ?? '').replace(/^Basic /, '');
    const password = Buffer.from(basic, 'base64').toString('utf8').split(':').slice(1).join(':');
    const echo = JSON.stringify({
      url: req.url,
      authorization: req.headers.authorization,
      password,
      encoded: encodeURIComponent(password),
      base64: Buffer.from(password).toString('base64'),
    });
    // The Basic API fails every other call, echoing everything in its error body.
    const fail = (req.url ?? '').startsWith('/basic') && received.length % 2 === 0;
    res.writeHead(fail ? 500 : 200, { 'content-type': 'application/json', 'x-echo': echo });
    res.end(fail ? JSON.stringify({ error: echo }) : echo);
  });
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  const port = (api.address() as AddressInfo).port;
  const fake = await startFakeOpenAI();
  const streams: [string, string][] = [];
  try {
    const toolsDir = join(dir, 'tools');
    mkdirSync(toolsDir, { recursive: true });
    writeFileSync(
      join(toolsDir, 'echo-keys.json'),
      JSON.stringify(echoSpec('Echo Keys', port, { type: 'apiKey', in: 'query', name: 'api_key' }, '/keys')),
    );
    writeFileSync(
      join(toolsDir, 'echo-basic.json'),
      JSON.stringify(echoSpec('Echo Basic', port, { type: 'http', scheme: 'basic' }, '/basic')),
    );
    const secrets = join(dir, 'secrets.json');
    writeFileSync(
      secrets,
      JSON.stringify({
        'Echo Keys': { apiKey: QUERY_KEY, hosts: ['127.0.0.1'] },
        'Echo Basic': { apiKey: `u:${PASSWORD}`, hosts: [`127.0.0.1:${port}`] },
      }),
    );
    const { tools } = await loadGenerationTools(toolsDir);
    fake.setDefault(worldResponder(planCalls(tools.map((t) => t.tool))));
    const work = join(dir, 'work');
    mkdirSync(work);
    const common = [
      '--executor',
      'real',
      '--allow-private',
      '--secrets',
      secrets,
      '--model',
      'openai:fake-model',
      '--base-url',
      fake.baseUrl,
      '--cache-dir',
      join(work, 'cache'),
      '--max-steps',
      '3',
    ];
    const corpus = join(work, 'corpus.json');
    const generated = await cli(
      ['generate', '--tools', toolsDir, ...common, '--out', corpus, '--per-tool', '2'],
      work,
    );
    streams.push(['generate stdout', generated.stdout], ['generate stderr', generated.stderr]);
    if (generated.code !== 0) throw new Error(`generate exited ${generated.code}: ${generated.stderr}`);
    const evaluated = await cli(
      ['eval', 'run', '--tools', corpus, ...common, '--out', join(work, 'run.json')],
      work,
    );
    streams.push(['eval run stdout', evaluated.stdout], ['eval run stderr', evaluated.stderr]);
    if (![0, 4].includes(evaluated.code))
      throw new Error(`eval run exited ${evaluated.code}: ${evaluated.stderr}`);

    const served = await serve([
      '--tools',
      toolsDir,
      '--executor',
      'real',
      '--allow-private',
      '--secrets',
      secrets,
      '--port',
      '0',
    ]);
    try {
      for (const path of ['/Echo%20Keys/keys?q=a', '/Echo%20Basic/basic?q=b', '/Echo%20Basic/basic?q=c']) {
        const response = await fetch(`${served.url}${path}`);
        streams.push([`serve ${path} headers`, JSON.stringify([...response.headers])]);
        streams.push([`serve ${path} body`, await response.text()]);
      }
    } finally {
      await served.stop();
    }
    streams.push(['serve stderr', served.stderr()]);
    streams.push(['prompts sent to the model', JSON.stringify(fake.chatRequests())]);

    const found: string[] = [];
    const files = filesUnder(work);
    for (const file of files) {
      const bytes = readFileSync(file);
      for (const form of FORMS) if (bytes.includes(form)) found.push(`${file}: ${form}`);
    }
    for (const [what, text] of streams) {
      for (const form of FORMS) if (text.includes(form)) found.push(`${what}: ${form}`);
    }
    const delivered = received.filter(
      (r) =>
        r.includes(encodeURIComponent(QUERY_KEY)) ||
        r.includes(Buffer.from(`u:${PASSWORD}`).toString('base64')),
    ).length;
    return {
      runs: 3,
      delivered,
      searched: files.length + streams.length,
      found,
      generateSummary: generated.stdout,
    };
  } finally {
    api.closeAllConnections();
    api.close();
    await fake.close();
  }
}
