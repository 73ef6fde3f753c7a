/**
 * Instructions of a kind: the `--kinds` list, the split of a tool's instructions over the kinds, each
 * kind's own request, the parsing of its reply (what the kind needs, checked against the tool), and
 * `generateInstructions` with kinds against the fake server (Instruction_Kinds aligned, kinds interleaved).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../../src/core/errors.js';
import type { Tool } from '../../src/core/tool.js';
import { INSTANCE_KINDS, type ToolAlpacaRecord } from '../../src/core/toolalpaca-record.js';
import { readToolAlpacaFile, recordToTool } from '../../src/formats/toolalpaca-json.js';
import { createChatModel } from '../../src/models/create-model.js';
import type { ChatModel } from '../../src/models/chat-model.js';
import {
  kindInstructionPrompt,
  kindQuotas,
  kindReplySchema,
  parseKindReply,
  parseKinds,
} from '../../src/pipeline/instruction-kinds.js';
import { generateInstructions, instructionPrompt } from '../../src/pipeline/instructions.js';
import { startFakeOpenAI, promptText, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { sharedData } from '../helpers/paths.js';

let record: ToolAlpacaRecord;
let tool: Tool;

before(async () => {
  const records = await readToolAlpacaFile(sharedData('toolalpaca/eval_simulated.json'));
  record = records.find((r) => r.Name === 'Axolotl') ?? assert.fail('no Axolotl');
  tool = await recordToTool(record);
});

describe('the --kinds list and quotas', () => {
  test('kinds in the order given, repeats dropped; an unknown kind is one line naming it', () => {
    assert.deepEqual(parseKinds('parallel, single,parallel'), ['parallel', 'single']);
    assert.throws(
      () => parseKinds('single,parallel-multiple'),
      (error: unknown) => {
        assert.ok(error instanceof InputError);
        assert.match(error.message, /unknown kind "parallel-multiple"; expected one of single, multi-step/);
        assert.doesNotMatch(error.message, /\n/);
        return true;
      },
    );
    assert.throws(() => parseKinds(' , '), InputError);
  });

  test('an even split, earlier kinds take the rest', () => {
    assert.deepEqual(
      [...kindQuotas(['single', 'parallel', 'irrelevance'], 7)],
      [
        ['single', 3],
        ['parallel', 2],
        ['irrelevance', 2],
      ],
    );
    assert.deepEqual(
      [...kindQuotas(['single', 'parallel'], 1)],
      [
        ['single', 1],
        ['parallel', 0],
      ],
    );
  });
});

describe('each kind has its own request', () => {
  test('every prompt names its kind and its rule, and differs from the others and from the default', () => {
    const prompts = INSTANCE_KINDS.map((kind) => kindInstructionPrompt(record, kind, 2));
    assert.equal(new Set(prompts).size, INSTANCE_KINDS.length);
    for (const [i, kind] of INSTANCE_KINDS.entries()) {
      assert.match(prompts[i] ?? '', new RegExp(`of the kind "${kind}"`));
      assert.ok(prompts[i]?.includes(`Name: ${record.Name}`));
      assert.notEqual(prompts[i], instructionPrompt(record, 2));
    }
    assert.match(prompts[3] ?? '', /none of the API's functions can do/);
    assert.match(prompts[4] ?? '', /"argument": "argumentName"/);
    assert.match(prompts[5] ?? '', /"followUp"/);
    assert.match(kindInstructionPrompt(record, 'single', 2, ['Old one.']), /- Old one\./);
  });

  test('the reply schemas: strings, or objects with what the kind needs', () => {
    assert.deepEqual(
      (kindReplySchema('missing-info').properties as { instructions: { items: { required: string[] } } })
        .instructions.items.required,
      ['request', 'function', 'argument', 'value'],
    );
    assert.deepEqual(
      (kindReplySchema('multi-turn').properties as { instructions: { items: { required: string[] } } })
        .instructions.items.required,
      ['request', 'followUp'],
    );
  });
});

describe('parsing a kind reply', () => {
  test('string kinds: strings (or objects with a request) become candidates of the kind', () => {
    const parsed = parseKindReply(
      JSON.stringify({ instructions: ['Get wild and albino pictures.', { request: 'Facts please.' }, 3] }),
      'parallel',
    );
    assert.deepEqual(parsed.candidates, [
      { instruction: 'Get wild and albino pictures.', spec: { kind: 'parallel' } },
      { instruction: 'Facts please.', spec: { kind: 'parallel' } },
    ]);
    assert.deepEqual(parsed.rejected, { malformed: 1 });
    assert.deepEqual(parseKindReply('not json at all', 'single'), { candidates: [], rejected: {} });
  });

  test('missing-info: the left-out argument is recorded, checked against the tool', () => {
    const reply = JSON.stringify({
      instructions: [
        {
          request: 'Find axolotl pictures.',
          function: 'searchAxolotlImages',
          argument: 'color',
          value: 'wild',
        },
        { request: 'Find more.', function: 'noSuchFunction', argument: 'color', value: 'x' },
        { request: 'Find again.', function: 'searchAxolotlImages', argument: 'mood', value: 'x' },
        { request: 'No argument named.' },
      ],
    });
    const parsed = parseKindReply(reply, 'missing-info', tool);
    assert.deepEqual(parsed.candidates, [
      {
        instruction: 'Find axolotl pictures.',
        spec: {
          kind: 'missing-info',
          missing: { function: 'searchAxolotlImages', argument: 'color', value: 'wild' },
        },
      },
    ]);
    assert.deepEqual(parsed.rejected, { 'unknown-function': 1, 'unknown-argument': 1, malformed: 1 });
    // Without the tool only the shape is checked.
    assert.equal(parseKindReply(reply, 'missing-info').candidates.length, 3);
  });

  test('multi-turn: the follow-up is recorded; an item without one is rejected', () => {
    const parsed = parseKindReply(
      JSON.stringify({
        instructions: [
          { request: 'Show wild axolotls.', followUp: 'And albino ones?' },
          { request: 'Alone.' },
        ],
      }),
      'multi-turn',
    );
    assert.deepEqual(parsed.candidates, [
      { instruction: 'Show wild axolotls.', spec: { kind: 'multi-turn', followUp: 'And albino ones?' } },
    ]);
    assert.deepEqual(parsed.rejected, { malformed: 1 });
  });
});

describe('generateInstructions with kinds (fake server)', () => {
  let server: FakeOpenAI;
  let model: ChatModel & { close(): Promise<void> };

  before(async () => {
    server = await startFakeOpenAI();
    model = await createChatModel('openai:fake-model', {
      openai: { baseUrl: server.baseUrl, apiKey: 'k' },
      noCache: true,
      maxRetries: 0,
    });
  });
  after(async () => {
    await model.close();
    await server.close();
  });

  test('one request per kind, Instruction_Kinds aligned, kinds interleaved, existing ones kept', async () => {
    server.setDefault((body) => {
      const text = promptText(body);
      const kind = /of the kind "([a-z-]+)"/.exec(text)?.[1];
      const items: Record<string, unknown[]> = {
        single: ['Show me one random axolotl picture.', 'Give me a single fact about axolotl diets.'],
        irrelevance: ['Book me a table at a seafood restaurant in Lisbon.', 'Translate my CV into German.'],
        'missing-info': [
          {
            request: 'Find axolotl pictures for my slides.',
            function: 'searchAxolotlImages',
            argument: 'color',
            value: 'golden',
          },
          {
            request: 'Search axolotl photos of a certain size.',
            function: 'searchAxolotlImages',
            argument: 'size',
            value: 'large',
          },
        ],
      };
      return { text: JSON.stringify({ instructions: items[kind ?? ''] ?? [] }) };
    });
    const input = { ...record, Instructions: ['An existing request about axolotls.'] };
    const result = await generateInstructions([input], {
      model,
      perTool: 5,
      kinds: ['single', 'irrelevance', 'missing-info'],
      tools: [tool],
      concurrency: 1,
    });
    const out = result.records[0];
    assert.deepEqual(out?.Instructions, [
      'An existing request about axolotls.',
      'Show me one random axolotl picture.',
      'Book me a table at a seafood restaurant in Lisbon.',
      'Find axolotl pictures for my slides.',
      'Give me a single fact about axolotl diets.',
    ]);
    assert.deepEqual(out?.Instruction_Kinds, [
      null,
      { kind: 'single' },
      { kind: 'irrelevance' },
      {
        kind: 'missing-info',
        missing: { function: 'searchAxolotlImages', argument: 'color', value: 'golden' },
      },
      { kind: 'single' },
    ]);
    // Instruction_Kinds comes right after Instructions.
    const keys = Object.keys(out ?? {});
    assert.equal(keys.indexOf('Instruction_Kinds'), keys.indexOf('Instructions') + 1);
    assert.deepEqual(result.reports[0]?.kinds, { single: 2, irrelevance: 1, 'missing-info': 1 });
    assert.equal(result.reports[0]?.kept, 4);
    // Three requests, one per kind, each with its own prompt.
    const prompts = server.chatRequests().map((body) => promptText(body));
    assert.equal(prompts.length, 3);
    assert.deepEqual(
      prompts.map((p) => /of the kind "([a-z-]+)"/.exec(p)?.[1]),
      ['single', 'irrelevance', 'missing-info'],
    );
  });

  test('without kinds the request is the default prompt and no kind is written', async () => {
    server.reset();
    server.setDefault(() => ({ text: JSON.stringify({ instructions: ['Show me a random axolotl.'] }) }));
    const result = await generateInstructions([{ ...record, Instructions: [] }], { model, perTool: 1 });
    assert.equal(result.records[0]?.Instruction_Kinds, undefined);
    assert.equal(result.reports[0]?.kinds, undefined);
    assert.equal(
      promptText(server.chatRequests()[0] ?? {}),
      instructionPrompt({ ...record, Instructions: [] }, 1, []),
    );
  });
});
