/**
 * Checkpoints without a chat template through the compiled CLI: `eval run` (ToolAlpaca's released
 * models: the test_v1 layout continued as raw text) and `solve` (ToolLLaMA: ToolBench's prompt set
 * through the toolllama template, whose system-message texts come from a stand-in of ToolBench's
 * toolbench/utils.py written here), both on the fake server's /v1/completions.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pythonStringConstants } from '../../src/datasets/python-constants.js';
import { evalWorld, goldenByInstruction } from '../eval/eval-world.js';
import { startFakeOpenAI, type FakeOpenAI, type FakeRequestBody } from '../helpers/fake-openai-server.js';
import { runCli } from '../helpers/cli.js';
import { makeTempDir, sharedData } from '../helpers/paths.js';
import { toolBenchUtilsStandIn } from '../helpers/template-sources.js';

const REAL = sharedData('toolalpaca/eval_real.json');
const TASKS = sharedData('stabletoolbench/G1_instruction.json');

/** The completion's prompt as a one-message chat body, for responders written for chat. */
function asChat(body: FakeRequestBody): FakeRequestBody {
  const prompt = typeof body.prompt === 'string' ? body.prompt : '';
  return { ...body, messages: [{ role: 'user', content: prompt }] };
}

describe('text: backend through the CLI', () => {
  let server: FakeOpenAI;
  before(async () => {
    server = await startFakeOpenAI();
  });
  after(() => server.close());

  test('eval run with a ToolAlpaca checkpoint: test_v1 prompts continued on /v1/completions', async () => {
    server.reset();
    const records = JSON.parse(readFileSync(REAL, 'utf8')) as Parameters<typeof goldenByInstruction>[0];
    const world = evalWorld({ golden: goldenByInstruction(records) });
    server.setCompletionDefault((body) => world(asChat(body)));
    const dir = makeTempDir();
    const run = join(dir, 'run.json');
    const result = await runCli(
      [
        'eval',
        'run',
        '--tools',
        REAL,
        '--out',
        run,
        '--executor',
        'schema',
        '--limit',
        '3',
        '--prompt',
        'test_v1',
        '--model',
        'text:ToolAlpaca-7B',
        '--template',
        'toolalpaca',
        '--base-url',
        server.baseUrl,
        '--no-cache',
      ],
      { cwd: dir, timeoutMs: 90_000 },
    );
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /3\/3 instructions/);
    assert.match(result.stderr, /text:ToolAlpaca-7B/);
    const sent = server.completionRequests();
    assert.ok(sent.length >= 3, `${sent.length} completion requests`);
    assert.equal(server.chatRequests().length, 0, 'the assistant never used chat completions');
    for (const body of sent) {
      assert.equal(body.model, 'ToolAlpaca-7B');
      // The raw agent prompt, ending where the model continues; the layout's stop sequences are sent.
      assert.match(String(body.prompt), /ASSISTANT Thought:$/);
      assert.ok((body.stop as string[]).includes('\nASSISTANT Observation:'));
    }
  });

  test('solve with ToolLLaMA: ToolBench prompts rendered by the toolllama template, replies read as calls', async () => {
    server.reset();
    const dir = makeTempDir();
    // ToolBench's prompt module and an example answer, as `datasets fetch toolbench-prompts` lays them out.
    const prompts = join(dir, 'toolbench-prompts');
    mkdirSync(prompts);
    for (const file of ['ReAct_prompts.py', 'Tree_search_prompts.py']) {
      copyFileSync(sharedData(`toolbench_prompts/${file}`), join(prompts, file));
    }
    copyFileSync(
      sharedData('toolbench_example/answer/G1_answer/57_ChatGPT_DFS_woFilter_w2.json'),
      join(prompts, '57_ChatGPT_DFS_woFilter_w2.json'),
    );
    // The stand-in's anchor is a line of ToolBench's own system prompt, read at run time.
    const react = pythonStringConstants(readFileSync(join(prompts, 'ReAct_prompts.py'), 'utf8'));
    const anchor = (react.get('FORMAT_INSTRUCTIONS_SYSTEM_FUNCTION') ?? '').split('\n')[0] ?? '';
    assert.ok(anchor.length > 10);
    const utils = join(dir, 'utils.py');
    writeFileSync(utils, toolBenchUtilsStandIn(anchor));

    server.setCompletionDefault((body) => {
      const prompt = String(body.prompt);
      if (prompt.includes('\nFunction: ')) {
        return {
          text: '\nThought: I have what I need.\nAction: Finish\nAction Input: {"return_type": "give_answer", "final_answer": "Done."}',
        };
      }
      const name = /'name': '([^']+)'/.exec(prompt)?.[1] ?? 'Finish';
      return { text: `\nThought: Let me call ${name}.\nAction: ${name}\nAction Input: {}` };
    });
    const out = join(dir, 'answers');
    const result = await runCli(
      [
        'solve',
        '--tasks',
        TASKS,
        '--solver',
        'react',
        '--limit',
        '2',
        '--prompt-set',
        'toolbench',
        '--toolbench-prompts',
        prompts,
        '--model',
        'text:ToolLLaMA-2-7b-v2',
        '--template',
        'toolllama',
        '--template-source',
        utils,
        '--base-url',
        server.baseUrl,
        '--no-cache',
        '--out',
        out,
        '--json',
      ],
      { cwd: dir, timeoutMs: 90_000, env: { CI: 'true' } },
    );
    assert.equal(result.code, 0, result.stderr);
    assert.equal((JSON.parse(result.stdout) as { written: number }).written, 2);
    assert.equal(readdirSync(out).filter((f) => f.endsWith('_CoT@1.json')).length, 2);
    const sent = server.completionRequests();
    assert.ok(sent.length >= 4, `${sent.length} completion requests`);
    const first = String(sent[0]?.prompt);
    assert.ok(first.startsWith(`System: ${anchor} <NOTE>\n`), first.slice(0, 200));
    assert.match(first, /\n<FUNCTIONS>: \[\{'name': '/);
    assert.match(first, /\nUser: [\s\S]+\nAssistant:\n$/);
    const later = sent.map((b) => String(b.prompt)).find((p) => p.includes('\nFunction: '));
    assert.ok(later !== undefined, 'a later prompt carries the observation');
    assert.match(
      later,
      /\nAssistant: Thought: Let me call [^\n]+\nAction: [^\n]+\nAction Input: \{\}\nFunction: /,
    );
  });
});
