/**
 * Registering a model backend from outside the package: `canned:NAME` answers from a list of replies
 * given in the options (a stand-in for any service with its own API). Once registered, a spec with its
 * prefix works everywhere a `--model` spec does, and `createChatModel` wraps it like the built-in
 * backends: reply checks (size cap, JSON re-validation), retries, rate limits, the response cache and
 * the cost ledger.
 *
 *   npx tsx examples/custom-backend.ts [CACHE_DIR]
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CostLedger,
  createChatModel,
  registerModelBackend,
  type ChatModel,
  type ChatRequest,
  type ChatResponse,
} from 'toolalpaca/models';

interface CannedSpec {
  name: string;
}

interface CannedOptions {
  /** Replies given in turn (the last one repeats). */
  replies?: string[];
}

registerModelBackend<CannedSpec, CannedOptions>({
  prefix: 'canned',
  syntax: ['canned:NAME'],
  // An in-process answerer: no retries with backoff, only the per-call timeout.
  kind: 'local',
  parse(rest) {
    if (!/^[a-z0-9-]+$/.test(rest)) throw new Error('NAME is lower-case letters, digits and -');
    return { name: rest };
  },
  format: (spec) => `canned:${spec.name}`,
  async create(spec, { id, options }): Promise<ChatModel> {
    const replies = options.replies ?? ['(no replies configured)'];
    let next = 0;
    return {
      id,
      backend: 'canned',
      // Names where the answers come from: messages and the response cache use it.
      endpoint: `canned:${spec.name}`,
      async chat(request: ChatRequest): Promise<ChatResponse> {
        const text = replies[Math.min(next++, replies.length - 1)] ?? '';
        const prompt = request.messages.map((message) => message.content).join(' ');
        return {
          text,
          toolCalls: [],
          finishReason: 'stop',
          usage: { promptTokens: Math.ceil(prompt.length / 4), completionTokens: Math.ceil(text.length / 4) },
          latencyMs: 0,
          cached: false,
          model: id,
        };
      },
    };
  },
});

const cacheDir = process.argv[2] ?? mkdtempSync(join(tmpdir(), 'toolalpaca-example-'));
const ledger = new CostLedger();
const model = await createChatModel('canned:greeter', {
  cacheDir,
  ledger,
  backends: { canned: { replies: ['{"greeting": "hello"}', 'second reply'] } },
});
try {
  const request: ChatRequest = {
    messages: [{ role: 'user', content: 'Greet me as JSON.' }],
    jsonSchema: {
      schema: { type: 'object', properties: { greeting: { type: 'string' } }, required: ['greeting'] },
    },
  };
  const first = await model.chat(request, { stage: 'example' });
  const again = await model.chat(request, { stage: 'example' });
  console.log(`first: ${first.text} (json ${JSON.stringify(first.json)}, cached ${first.cached})`);
  console.log(`again: ${again.text} (cached ${again.cached})`);
  console.log(`cache: ${JSON.stringify(model.cacheStats())}`);
  process.stdout.write(ledger.format());
} finally {
  await model.close();
}
