/**
 * The cache can never lie: answers are keyed by the endpoint that gave them (the normalised base URL,
 * or the GGUF file's content hash), caches written before that stay readable by replay only, and the
 * hash of a model file is computed once per path, size and mtime.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { cacheDbPath, canonicalJson, openResponseCache, requestHash } from '../../src/models/cache.js';
import type { ChatRequest } from '../../src/models/chat-model.js';
import { createChatModel } from '../../src/models/create-model.js';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { makeTempDir } from '../helpers/paths.js';
import { writeTinyGguf } from '../helpers/tiny-gguf.js';

const request: ChatRequest = {
  messages: [{ role: 'user', content: 'Which checkpoint are you?' }],
  temperature: 0,
};

describe('cache identity: servers', () => {
  let oldServer: FakeOpenAI;
  let newServer: FakeOpenAI;
  before(async () => {
    oldServer = await startFakeOpenAI();
    newServer = await startFakeOpenAI();
    oldServer.setDefault(() => ({ text: 'the old checkpoint' }));
    newServer.setDefault(() => ({ text: 'the new checkpoint' }));
  });
  after(async () => {
    await oldServer.close();
    await newServer.close();
  });

  test('the same model name at another URL never gets the old answers; the same URL spelt otherwise does', async () => {
    const cacheDir = makeTempDir();
    const ask = async (baseUrl: string): Promise<{ text: string; cached: boolean }> => {
      const model = await createChatModel('openai:fake-model', { cacheDir, openai: { baseUrl } });
      try {
        const { text, cached } = await model.chat(request);
        return { text, cached };
      } finally {
        await model.close();
      }
    };
    assert.deepEqual(await ask(oldServer.baseUrl), { text: 'the old checkpoint', cached: false });
    assert.equal((await ask(oldServer.baseUrl)).cached, true);
    assert.deepEqual(await ask(newServer.baseUrl), { text: 'the new checkpoint', cached: false });
    // One server, another spelling of its URL: one identity.
    const respelt = `${newServer.origin.replace('127.0.0.1', '127.0.0.1')}/v1/`;
    assert.deepEqual(await ask(respelt), { text: 'the new checkpoint', cached: true });
    assert.equal(oldServer.chatRequests().length, 1);
    assert.equal(newServer.chatRequests().length, 1);
  });
});

/** Writes a schema-1 cache (before endpoint identity) holding one answer to `request`. */
function writeLegacyCache(dir: string, text: string): void {
  const require = createRequire(import.meta.url);
  const Database = require('better-sqlite3') as new (path: string) => {
    exec(sql: string): void;
    pragma(sql: string): unknown;
    prepare(sql: string): { run(...args: unknown[]): unknown };
    close(): void;
  };
  const db = new Database(cacheDbPath(dir));
  db.exec(`CREATE TABLE responses (key TEXT PRIMARY KEY, request_hash TEXT NOT NULL, backend TEXT NOT NULL,
    model TEXT NOT NULL, stage TEXT, created_at INTEGER NOT NULL, response TEXT NOT NULL)`);
  db.pragma('user_version = 1');
  const oldKey = createHash('sha256')
    .update(canonicalJson({ v: 1, backend: 'openai', model: 'openai:fake-model', request }))
    .digest('hex');
  const response = {
    text,
    toolCalls: [],
    finishReason: 'stop',
    usage: { promptTokens: 3, completionTokens: 2 },
    latencyMs: 10,
    cached: false,
    model: 'openai:fake-model',
  };
  db.prepare('INSERT INTO responses VALUES (?, ?, ?, ?, ?, ?, ?)').run(
    oldKey,
    requestHash(request),
    'openai',
    'openai:fake-model',
    'old',
    Date.now(),
    JSON.stringify(response),
  );
  db.close();
}

describe('cache identity: caches from before', () => {
  test('a schema-1 cache is migrated in place: live calls never reuse its rows, replay still reads them', async () => {
    const server = await startFakeOpenAI();
    server.setDefault(() => ({ text: 'asked again' }));
    const cacheDir = makeTempDir();
    writeLegacyCache(cacheDir, 'recorded before identities');
    try {
      const live = await createChatModel('openai:fake-model', {
        cacheDir,
        openai: { baseUrl: server.baseUrl },
      });
      const reply = await live.chat(request);
      await live.close();
      assert.deepEqual([reply.text, reply.cached], ['asked again', false]);
      assert.equal(server.chatRequests().length, 1, 'the old row was not used for a live call');

      const cache = openResponseCache(cacheDir);
      const stats = cache.stats();
      cache.close();
      assert.equal(stats.rows, 2);
      assert.equal(stats.legacyRows, 1);

      for (const spec of ['replay:', 'replay:openai:fake-model']) {
        const replay = await createChatModel(spec, { cacheDir });
        const replayed = await replay.chat(request);
        await replay.close();
        // The most recent recording answers: the one made just now.
        assert.equal(replayed.text, 'asked again', spec);
      }
    } finally {
      await server.close();
    }
  });
});

describe('cache identity: GGUF files', () => {
  test('the content hash is remembered per path, size and mtime, and follows the content', async () => {
    const dir = makeTempDir();
    const file = join(dir, 'model.gguf');
    writeFileSync(file, 'first checkpoint');
    // Whole seconds, so that setting the same mtime again gives the very same stat.
    const mtime = new Date(1_700_000_000_000);
    utimesSync(file, mtime, mtime);
    const cache = openResponseCache(dir);
    try {
      const sha = (text: string): string => createHash('sha256').update(text).digest('hex');
      assert.equal(await cache.fileHash(file), sha('first checkpoint'));
      // Same path, size and mtime: remembered, not read again (the content changed behind its back).
      writeFileSync(file, 'other checkpoint');
      utimesSync(file, mtime, mtime);
      assert.equal(await cache.fileHash(file), sha('first checkpoint'));
      // A new mtime (a new checkpoint written): hashed again.
      utimesSync(file, new Date(mtime.getTime() + 5000), new Date(mtime.getTime() + 5000));
      assert.equal(await cache.fileHash(file), sha('other checkpoint'));
    } finally {
      cache.close();
    }
  });

  test('llama: a new checkpoint written at the same path is a cache miss', async () => {
    const dir = makeTempDir();
    const cacheDir = join(dir, 'cache');
    const path = join(dir, 'tiny.gguf');
    await writeTinyGguf(path, { seed: 5 });
    const ask = async (file: string): Promise<boolean> => {
      const model = await createChatModel(`llama:${file}`, {
        cacheDir,
        llama: { threads: 1, asciiOnly: true },
      });
      try {
        return (await model.chat({ ...request, maxTokens: 4 })).cached;
      } finally {
        await model.close();
      }
    };
    assert.equal(await ask(path), false);
    assert.equal(await ask(path), true);
    await writeTinyGguf(path, { seed: 6 });
    utimesSync(path, new Date(Date.now() + 10_000), new Date(Date.now() + 10_000));
    assert.equal(await ask(path), false, 'other weights at the same path');
  });
});
