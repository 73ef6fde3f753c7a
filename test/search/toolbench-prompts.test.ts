/**
 * ToolBench's prompt set read from the shared copies of its prompt module and one of its ChatGPT DFSDT
 * answers: the system, user and diversity messages rendered by this project are byte-identical to the
 * ones in ToolBench's own answer files, and `solve --prompt-set toolbench` sends them (fake server).
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Tool } from '../../src/core/tool.js';
import { pythonStringConstants } from '../../src/datasets/python-constants.js';
import { toolOfFunction } from '../../src/formats/toolbench.js';
import { runSolveCommand } from '../../src/cli/solve.js';
import { loadToolBenchPromptSet, readToolBenchPromptTexts } from '../../src/search/toolbench-prompts.js';
import type { SolverPromptSet } from '../../src/search/prompts.js';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { makeTempDir, sharedData } from '../helpers/paths.js';

const PROMPTS_DIR = sharedData('toolbench_prompts');
const ANSWER_57 = sharedData('toolbench_example/answer/G1_answer/57_ChatGPT_DFS_woFilter_w2.json');
const files = { dir: PROMPTS_DIR, answer: ANSWER_57 };

interface Message {
  role: string;
  content: string | null;
}
interface ExampleAnswer {
  answer_generation: { query: string; function: { name: string }[]; train_messages: Message[][] };
}

function example(path: string): ExampleAnswer {
  return JSON.parse(readFileSync(path, 'utf8')) as ExampleAnswer;
}

/** The tools of an example answer, described as its own system message lists them. */
function toolsOf(answer: ExampleAnswer): Tool[] {
  const system = answer.answer_generation.train_messages[0]?.[0]?.content ?? '';
  const names = [
    ...new Set(
      answer.answer_generation.function.filter((f) => f.name !== 'Finish').map((f) => toolOfFunction(f.name)),
    ),
  ];
  return names.map((name, k) => {
    const line = system.split('\n').find((l) => l.startsWith(`${k + 1}.${name}: `)) ?? '';
    const description = line.slice(`${k + 1}.${name}: `.length);
    return {
      name,
      description: description === 'None' ? '' : description,
      auth: [],
      servers: [],
      functions: [],
    } as unknown as Tool;
  });
}

let prompts: SolverPromptSet;

describe('python string constants', () => {
  test('module-level string assignments: quotes, prefixes, escapes, concatenation; others skipped', () => {
    const source = [
      'import os',
      "A = 'single \\'q\\' \\n'",
      'B = """triple',
      'line {slot}"""',
      "C = r'raw \\n kept'",
      'D = ("part one "',
      '     "part two")',
      'E = f"{x} is not a constant"',
      'def f():',
      '    G = "indented, not module level"',
      'F = "tab\\tand \\x41\\u00e9"  # a comment',
      'H = "a" + "b"',
      'X = {"I": "inside a dict"}',
    ].join('\n');
    const constants = pythonStringConstants(source);
    assert.equal(constants.get('A'), "single 'q' \n");
    assert.equal(constants.get('B'), 'triple\nline {slot}');
    assert.equal(constants.get('C'), 'raw \\n kept');
    assert.equal(constants.get('D'), 'part one part two');
    assert.equal(constants.get('F'), 'tab\tand Aé');
    for (const name of ['E', 'G', 'H', 'I', 'X']) assert.equal(constants.has(name), false, name);
  });

  test("ToolBench's shared module yields its three prompts with their slots", () => {
    const react = pythonStringConstants(readFileSync(join(PROMPTS_DIR, 'ReAct_prompts.py'), 'utf8'));
    const tree = pythonStringConstants(readFileSync(join(PROMPTS_DIR, 'Tree_search_prompts.py'), 'utf8'));
    assert.match(react.get('FORMAT_INSTRUCTIONS_SYSTEM_FUNCTION') ?? '', /\{task_description\}$/);
    assert.match(react.get('FORMAT_INSTRUCTIONS_USER_FUNCTION') ?? '', /\{input_description\}/);
    assert.match(tree.get('DIVERSITY_PROMPT') ?? '', /\{previous_candidate\}/);
  });
});

describe("ToolBench's prompt set (ToolLLaMA's input format)", () => {
  before(async () => {
    prompts = await loadToolBenchPromptSet(files);
  });

  test("system and user messages equal those of ToolBench's own answers, byte for byte", () => {
    for (const name of ['G1_answer/57', 'G1_answer/10', 'G2_answer/102', 'G3_answer/13']) {
      const answer = example(sharedData(`toolbench_example/answer/${name}_ChatGPT_DFS_woFilter_w2.json`));
      const [system, user] = answer.answer_generation.train_messages[0] ?? [];
      assert.equal(prompts.system(toolsOf(answer)), system?.content, `${name}: system`);
      assert.equal(prompts.user(answer.answer_generation.query), user?.content, `${name}: user`);
    }
  });

  test("the diversity message equals ToolBench's, with the earlier candidates and the former observation", () => {
    const conversation = example(ANSWER_57).answer_generation.train_messages.find((messages) =>
      messages.some((m, i) => i > 1 && m.role === 'user'),
    );
    const at = conversation?.findIndex((m, i) => i > 1 && m.role === 'user') ?? -1;
    const original = conversation?.[at]?.content ?? assert.fail('no diversity message in the example');
    const observation = conversation?.[at - 1]?.content ?? '';
    // The candidates as ToolBench listed them (the JSON list inside the message).
    const listText = original.slice(original.indexOf('\n[\n') + 1, original.indexOf('\n]\n') + 2);
    const candidates = (JSON.parse(listText) as Record<string, string>[]).map((c) => ({
      name: c.name ?? '',
      arguments: c.arguments ?? '',
      function_output: c.function_output ?? '',
    }));
    assert.equal(prompts.diversity(candidates, observation), original);
  });

  test('the Finish function is the one ToolLLaMA was trained with', async () => {
    const texts = await readToolBenchPromptTexts(files);
    const finish = example(ANSWER_57).answer_generation.function.at(-1);
    assert.deepEqual(texts.finish, finish);
    assert.deepEqual(prompts.finish, texts.finish);
  });

  test('missing files and constants are one-line input errors naming the file', async () => {
    const empty = makeTempDir();
    await assert.rejects(loadToolBenchPromptSet({ dir: empty }), (error: Error) =>
      /ReAct_prompts\.py: ToolBench's ReAct prompts not found; run `toolalpaca datasets fetch toolbench-prompts`/.test(
        error.message,
      ),
    );
  });
});

describe('solve --prompt-set toolbench', () => {
  let server: FakeOpenAI;
  before(async () => {
    server = await startFakeOpenAI();
  });
  after(async () => {
    await server.close();
  });
  beforeEach(() => server.reset());

  test("sends ToolBench's system, user, diversity prompts and Finish function", async () => {
    process.env.OPENAI_API_KEY ??= 'test-key';
    const texts = await readToolBenchPromptTexts(files);
    server.script(
      { toolCalls: [{ name: 'transfermarkt_search_for_theclique', arguments: '{"name":"messi"}' }] },
      { toolCalls: [{ name: 'songkick_concert_for_theclique', arguments: '{"id_conc":"1"}' }] },
      { toolCalls: [{ name: 'Finish', arguments: '{"return_type":"give_up_and_restart"}' }] },
      { toolCalls: [{ name: 'Finish', arguments: '{"return_type":"give_answer","final_answer":"ok"}' }] },
    );
    // The prompt folder as `datasets fetch toolbench-prompts` lays it out: module files and the answer.
    const dir = makeTempDir();
    const fetched = join(dir, 'prompts');
    const { fetchDataset } = await import('../../src/datasets/fetch.js');
    await fetchDataset('toolbench-prompts', fetched, { from: sharedData('.') });
    const out = join(dir, 'answers');
    const summary = await runSolveCommand(
      {
        tasks: sharedData('stabletoolbench/G1_instruction.json'),
        model: 'openai:fake-model',
        baseUrl: server.baseUrl,
        cache: false,
        maxRetries: '0',
        out,
        limit: '1',
        promptSet: 'toolbench',
        toolbenchPrompts: fetched,
      },
      {
        stdout: { write: () => true },
        stderr: { write: () => true, isTTY: false },
        cwd: dir,
        env: { CI: 'true' },
      },
    );
    assert.equal(summary.answered, 1);
    const [first, second, , fourth] = server.chatRequests();
    const system = String(first?.messages?.[0]?.content);
    const [head] = texts.system.split('{task_description}');
    assert.ok(system.startsWith(`${head}${texts.taskHeader}1.theclique: None\n`), system.slice(0, 300));
    const query = String(first?.messages?.[1]?.content);
    assert.equal(query, texts.user.replace('{input_description}', query.split('\n')[1] ?? ''));
    const finish = first?.tools?.find((t) => t.function.name === 'Finish');
    assert.equal(finish?.function.description, texts.finish.description);
    // The give-up under the concert step sends DFSDT back to the search step, expanded again with the
    // diversity prompt: the concert candidate, then the search step's own observation.
    const searchObservation = String(second?.messages?.at(-1)?.content);
    const diversity = String(fourth?.messages?.at(-1)?.content);
    const [diversityHead, diversityTail] = texts.diversity.split('{previous_candidate}');
    assert.ok(
      diversity.startsWith(`${diversityHead}[\n  {\n    "name": "songkick_concert_for_theclique",`),
      diversity,
    );
    assert.ok(
      diversity.endsWith(
        `"mento-carlo-action-value": 0.0\n  }\n]\n${texts.observationLead}${searchObservation}\n${diversityTail}`,
      ),
      diversity,
    );
    const written = JSON.parse(readFileSync(join(out, '588_DFS_woFilter_w2.json'), 'utf8')) as {
      prompt_set: string;
      answer_generation: { function: { name: string; description: string }[] };
    };
    assert.equal(written.prompt_set, 'toolbench');
    assert.equal(written.answer_generation.function.at(-1)?.description, texts.finish.description);
  });
});
