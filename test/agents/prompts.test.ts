import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BUILTIN_PROMPT_FUNCTIONS } from '../../src/agents/builtin-tools.js';
import {
  PROMPT_LAYOUT_NAMES,
  getPromptLayout,
  toolPromptFunctions,
  type PromptContext,
} from '../../src/agents/prompts/index.js';
import type { Tool } from '../../src/core/tool.js';
import type { ToolAlpacaRecord } from '../../src/core/toolalpaca-record.js';
import { InputError } from '../../src/core/errors.js';
import { readToolAlpacaFile, recordToTool } from '../../src/formats/toolalpaca-json.js';
import { sharedData } from '../helpers/paths.js';

let tools: { record: ToolAlpacaRecord; tool: Tool }[] = [];

before(async () => {
  const records = await readToolAlpacaFile(sharedData('toolalpaca/eval_simulated.json'));
  tools = await Promise.all(records.map(async (record) => ({ record, tool: await recordToTool(record) })));
});

function contextOf(record: ToolAlpacaRecord, tool: Tool, steps: PromptContext['steps'] = []): PromptContext {
  return {
    functions: [BUILTIN_PROMPT_FUNCTIONS.getDetails, ...toolPromptFunctions(tool, record)],
    input: record.Instructions?.[0] ?? 'question',
    steps,
  };
}

function fullPrompt(name: string, ctx: PromptContext): string {
  const layout = getPromptLayout(name);
  return `${layout.system?.(ctx) ?? ''}${layout.render(ctx)}`;
}

describe('prompt layouts', () => {
  test('listed functions follow Function_Projection and carry the NL docs; components go on the last one', () => {
    for (const { record, tool } of tools) {
      const fns = toolPromptFunctions(tool, record);
      const names = Object.keys(record.Function_Projection ?? {});
      assert.deepEqual(
        fns.map((f) => f.name),
        names,
      );
      fns.forEach((fn, i) => {
        const base = record.Function_Description?.[fn.name] ?? '';
        const expected = i === fns.length - 1 ? base + (record.Function_Description?.components ?? '') : base;
        assert.equal(fn.description, expected, `${record.Name}.${fn.name}`);
      });
    }
  });

  for (const name of PROMPT_LAYOUT_NAMES) {
    test(`${name}: every function is listed and named in "one of [...]"`, () => {
      for (const { record, tool } of tools) {
        const ctx = contextOf(record, tool);
        const prompt = fullPrompt(name, ctx);
        const names = ctx.functions.map((f) => f.name);
        if (name !== 'lean') {
          assert.ok(prompt.includes(`one of [${names.join(', ')}]`), `${name} ${record.Name}`);
          for (const fn of ctx.functions) assert.ok(prompt.includes(`${fn.name}: ${fn.description}`));
        } else {
          for (const fn of ctx.functions)
            assert.ok(prompt.includes(`\n${fn.name}(`), `${record.Name} ${fn.name}`);
        }
        assert.ok(prompt.includes(ctx.input));
      }
    });
  }

  test('train_v1 is ToolAlpaca\'s zero-shot prompt: prefix, tools, format, "Question: ...\\nThought:"', () => {
    const { record, tool } = tools.find((t) => t.record.Name === 'Axolotl') ?? assert.fail('no Axolotl');
    const ctx = contextOf(record, tool);
    const prompt = getPromptLayout('train_v1').render(ctx);
    const parts = prompt.split('\n\n');
    assert.ok(parts[0]?.startsWith("Anser the user's question with the help of tools."));
    assert.ok(parts[0]?.endsWith('You have access to the following tools:'));
    assert.ok(parts[1]?.startsWith('getDetails: If the user'));
    assert.ok(
      prompt.includes(
        `getRandomAxolotlImage: ${record.Function_Description?.getRandomAxolotlImage ?? ''}\nsearchAxolotlImages: `,
      ),
    );
    assert.ok(prompt.endsWith(`Begin!\n\nQuestion: ${ctx.input}\nThought:`));
    assert.deepEqual(getPromptLayout('train_v1').stopSequences, ['\nObservation:', '\n\tObservation:']);
  });

  test('scratchpad: each step text, the observation and the next Thought label', () => {
    const { record, tool } = tools[0] ?? assert.fail('no tools');
    const steps = [
      {
        text: ' I look.\nAction: getRandomAxolotlImage\nAction Input: {}',
        observation: 'Status Code: 200. Response: {}',
      },
    ];
    const ctx = contextOf(record, tool, steps);
    assert.ok(
      getPromptLayout('train_v2')
        .render(ctx)
        .endsWith(
          `Question: ${ctx.input}\nThought: I look.\nAction: getRandomAxolotlImage\nAction Input: {}\nObservation: Status Code: 200. Response: {}\nThought:`,
        ),
    );
    const testV1 = getPromptLayout('test_v1');
    assert.ok(
      testV1
        .render(ctx)
        .endsWith(
          `USER: ${ctx.input}\nASSISTANT Thought:${steps[0]?.text}\nASSISTANT Observation: ${steps[0]?.observation}\nASSISTANT Thought:`,
        ),
    );
    assert.deepEqual(testV1.stopSequences, ['\nASSISTANT Observation:', '\n\tASSISTANT Observation:']);
    // test_v2 uses the Question suffix, as ToolAlpaca's prompt table has it.
    assert.ok(getPromptLayout('test_v2').render(ctx).includes(`Question: ${ctx.input}\nThought:`));
  });

  test('braces in the instruction are not placeholders', () => {
    const { record, tool } = tools[0] ?? assert.fail('no tools');
    const ctx = { ...contextOf(record, tool), input: 'use {agent_scratchpad} and {input} literally' };
    assert.ok(
      getPromptLayout('train_v1')
        .render(ctx)
        .endsWith('Question: use {agent_scratchpad} and {input} literally\nThought:'),
    );
  });

  test('lean lists parameters with types, enums and optional marks', () => {
    const { record, tool } = tools.find((t) => t.record.Name === 'Axolotl') ?? assert.fail('no Axolotl');
    const system = getPromptLayout('lean').system?.(contextOf(record, tool)) ?? '';
    assert.match(
      system,
      /\nsearchAxolotlImages\(color\?: wild\|leucistic\|albino, gender\?: male\|female, size\?: small\|medium\|large, page\?: integer\) - Search/,
    );
    assert.match(system, /\ngetDetails\(Question: string\)/);
  });

  test('lean is at most 0.6x of train_v1 on the shared eval tools (characters, per tool and in total)', () => {
    let train = 0;
    let leanTotal = 0;
    for (const { record, tool } of tools) {
      const ctx = contextOf(record, tool);
      const t = fullPrompt('train_v1', ctx).length;
      const l = fullPrompt('lean', ctx).length;
      assert.ok(l <= 0.6 * t, `${record.Name}: lean ${l} vs train_v1 ${t}`);
      train += t;
      leanTotal += l;
    }
    assert.ok(leanTotal <= 0.6 * train);
  });

  test('unknown layout names are an InputError listing the valid ones', () => {
    assert.throws(
      () => getPromptLayout('train_v9'),
      (e: unknown) => e instanceof InputError && /train_v1, train_v2/.test(e.message),
    );
  });
});
