import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { makeTempDir, sharedData } from '../helpers/paths.js';
import { createChatModel } from '../../src/models/create-model.js';
import { createScriptedChatModel } from '../../src/testing/index.js';
import { readToolAlpacaFile } from '../../src/formats/toolalpaca-json.js';
import type { ToolAlpacaRecord } from '../../src/core/toolalpaca-record.js';
import {
  cleanInstruction,
  generateInstructions,
  instructionPrompt,
  parseInstructionReply,
} from '../../src/pipeline/instructions.js';
import {
  InstructionDeduper,
  instructionSimilarity,
  normalizeInstruction,
} from '../../src/pipeline/similarity.js';

const scripted = createScriptedChatModel();

function promptOf(index: number): string {
  return scripted.calls[index]?.request.messages[0]?.content ?? '';
}

describe('near-duplicate detection', () => {
  test('normalisation lowercases, strips punctuation and collapses whitespace', () => {
    assert.equal(normalizeInstruction('  What’s the   WEATHER, in Paris?! '), 'what s the weather in paris');
  });

  test('ROUGE-L similarity: rewordings are close, different requests are far', () => {
    const a = "What's the weather in Paris today?";
    const b = 'What is the weather in Paris today?';
    assert.ok(instructionSimilarity(a, b) >= 0.7, String(instructionSimilarity(a, b)));
    const c = 'Find me three vegetarian curry recipes that take under 30 minutes.';
    assert.ok(instructionSimilarity(a, c) < 0.3);
    assert.equal(instructionSimilarity(a, a), 1);
  });

  test('the deduper checks against existing instructions and those it kept', () => {
    const deduper = new InstructionDeduper(['Show me the tide times for Brest tomorrow.'], 0.7);
    assert.equal(deduper.offer('show me the tide times for brest tomorrow'), false);
    assert.equal(deduper.offer('When is high tide in Saint-Malo on 3 June?'), true);
    assert.equal(deduper.offer('When is high tide in Saint-Malo on 4 June?'), false);
    assert.equal(deduper.offer(''), false);
  });
});

describe('reply parsing', () => {
  test('JSON object, bare JSON array, and numbered list fallback', () => {
    assert.deepEqual(parseInstructionReply('{"instructions": ["1. First one.", "\\"Second\\""]}'), {
      instructions: ['First one.', 'Second'],
      format: 'json',
    });
    assert.deepEqual(parseInstructionReply('```json\n["a b c", "d e f"]\n```').instructions, [
      'a b c',
      'd e f',
    ]);
    const list = parseInstructionReply(
      'Sure, here are the requests:\n\n1. Find Italian recipes with basil.\n2) "Which books by Ursula K. Le Guin are available?"\n- What time is low tide in Cádiz?\n',
    );
    assert.equal(list.format, 'list');
    assert.deepEqual(list.instructions, [
      'Find Italian recipes with basil.',
      'Which books by Ursula K. Le Guin are available?',
      'What time is low tide in Cádiz?',
    ]);
    assert.equal(cleanInstruction('Instruction 3: Book a table.'), 'Book a table.');
  });
});

let records: ToolAlpacaRecord[];

before(async () => {
  const all = await readToolAlpacaFile(sharedData('toolalpaca/eval_simulated.json'));
  records = all.slice(0, 2).map((r) => ({ ...r, Instructions: [] }));
});

// A scripted model (toolalpaca/testing): what is tested is the stage, not HTTP.
describe('generateInstructions with a scripted model', () => {
  const model = scripted;
  beforeEach(() => scripted.reset());

  test('duplicates are dropped and counted; the model is asked again; list replies are read', async () => {
    const [first, second] = records as [ToolAlpacaRecord, ToolAlpacaRecord];
    scripted.script(
      // Tool 1, round 1: one exact repeat (case/punctuation) and one near-duplicate.
      {
        text: JSON.stringify({
          instructions: [
            'Show me a random axolotl picture I can use as my phone wallpaper.',
            'show me a random axolotl picture i can use as my phone wallpaper!!',
            'Show me a random axolotl picture I could use as my phone wallpaper.',
            'Tell me three surprising facts about how axolotls regrow their limbs.',
          ],
        }),
      },
      // Tool 1, round 2: not JSON, a numbered list; one repeats a kept instruction.
      {
        text: '1. Find axolotl images tagged "leucistic" for my biology class slides.\n2. Tell me three surprising facts about how axolotls regrow their limbs.',
      },
      // Tool 2, round 1: enough at once (extra candidates beyond perTool are dropped).
      {
        text: JSON.stringify({
          instructions: [
            'What anime is similar to Cowboy Bebop?',
            'Who voiced Spike Spiegel in the Japanese version of Cowboy Bebop?',
            'Where can I stream Fullmetal Alchemist: Brotherhood in Canada?',
            'Give me the episode count of Steins;Gate.',
          ],
        }),
      },
    );
    const result = await generateInstructions([first, second], {
      model,
      perTool: 3,
      concurrency: 1,
      seed: 5,
    });
    assert.equal(scripted.pending(), 0);
    const [r1, r2] = result.reports;
    assert.deepEqual(r1, { tool: first.Name, kept: 3, dropped: 3, rounds: 2, total: 3 });
    assert.deepEqual(r2, { tool: second.Name, kept: 3, dropped: 1, rounds: 1, total: 3 });
    assert.deepEqual(result.records[0]?.Instructions, [
      'Show me a random axolotl picture I can use as my phone wallpaper.',
      'Tell me three surprising facts about how axolotls regrow their limbs.',
      'Find axolotl images tagged "leucistic" for my biology class slides.',
    ]);
    assert.equal(result.records[1]?.Instructions?.length, 3);
    assert.equal(result.usage.calls, 3);
    // The prompt carries the tool's name, description and NL documentation, and asks for what is missing.
    const round1 = promptOf(0);
    assert.ok(round1.includes(`Name: ${first.Name}`));
    assert.ok(round1.includes(first.NLDocumentation?.slice(0, 80) ?? '\u0000'));
    assert.match(round1, /Write 3 different requests/);
    const round2 = promptOf(1);
    assert.match(round2, /Write 1 different requests/);
    assert.ok(round2.includes('- Show me a random axolotl picture'), 'round 2 lists what exists');
    // JSON was asked for with a schema.
    const request = scripted.calls[0]?.request;
    assert.ok(request?.jsonSchema !== undefined);
    assert.equal(request?.seed, 5);
  });

  test('existing instructions count toward perTool and are deduplicated against; rounds are bounded', async () => {
    const record = {
      ...(records[0] as ToolAlpacaRecord),
      Instructions: ['Get me five facts about axolotls.'],
    };
    scripted.setDefault(() => ({
      text: JSON.stringify({ instructions: ['Get me 5 facts about axolotls.'] }),
    }));
    const result = await generateInstructions([record], { model, perTool: 3, maxRounds: 2 });
    assert.deepEqual(result.reports[0], { tool: record.Name, kept: 0, dropped: 2, rounds: 2, total: 1 });
    assert.deepEqual(result.records[0]?.Instructions, ['Get me five facts about axolotls.']);
    // A tool that already has enough is not asked about.
    scripted.reset();
    const full = await generateInstructions([record], { model, perTool: 1 });
    assert.equal(full.reports[0]?.rounds, 0);
    assert.equal(scripted.calls.length, 0);
  });

  test('a model error is reported for the tool; others still get instructions', async () => {
    scripted.script({ fault: 'client_error', status: 400, message: 'bad request' });
    scripted.setDefault(() => ({ text: '{"instructions": ["Which anime won the most awards in 2019?"]}' }));
    const result = await generateInstructions(records, { model, perTool: 1, concurrency: 1 });
    assert.match(result.reports[0]?.error ?? '', /bad request|400/);
    assert.equal(result.reports[0]?.kept, 0);
    assert.equal(result.reports[1]?.kept, 1);
  });

  test('the prompt asks for concrete, API-name-free, 1-2 sentence requests', () => {
    const prompt = instructionPrompt(records[0] as ToolAlpacaRecord, 4);
    assert.match(prompt, /one or two sentences/);
    assert.match(prompt, /Never mention the API's name/);
    assert.match(prompt, /placeholders/);
    assert.match(prompt, /several calls/);
  });
});

describe('generateInstructions against the fake server', () => {
  let server: FakeOpenAI;
  before(async () => {
    server = await startFakeOpenAI();
  });
  after(() => server.close());

  test('every round is a new request: a cached model does not answer round 3 with round 2 (no seed given)', async () => {
    // Always the same near-duplicate: round 2 keeps nothing, so round 3 would repeat round 2's request.
    server.setDefault(() => ({ text: JSON.stringify({ instructions: ['Get me 5 facts about axolotls.'] }) }));
    const cached = await createChatModel('openai:fake-model', {
      openai: { baseUrl: server.baseUrl, apiKey: 'k' },
      cacheDir: makeTempDir(),
      maxRetries: 0,
    });
    try {
      const record = { ...(records[0] as ToolAlpacaRecord), Instructions: [] };
      const result = await generateInstructions([record], { model: cached, perTool: 3, maxRounds: 3 });
      assert.equal(result.reports[0]?.rounds, 3);
      assert.equal(result.reports[0]?.total, 1, 'short of the target: the report says so');
      const seeds = server.chatRequests().map((body) => body.seed);
      assert.equal(seeds.length, 3, 'three requests reached the server (none answered from the cache)');
      assert.equal(new Set(seeds).size, 3);
    } finally {
      await cached.close();
    }
  });
});
