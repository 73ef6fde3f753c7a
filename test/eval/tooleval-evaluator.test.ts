/**
 * ToolEval judged as StableToolBench's evaluator folders say (the shared copies, read at run time):
 * the judge requests carry each folder's template text, sampling and functions (recorded by the fake
 * OpenAI server), answers are converted as StableToolBench converts them, and `eval tooleval` compares
 * two runs on the queries both answered, printing the coverage.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { runToolevalCommand } from '../../src/cli/tooleval.js';
import { convertAnswer, endsWithFinish, toolSteps } from '../../src/eval/tooleval/converted-answer.js';
import { readEvaluatorFolder, pythonFormat } from '../../src/eval/tooleval/evaluator-folder.js';
import { evaluatorPassRate, evaluatorWinRate } from '../../src/eval/tooleval/evaluator-judge.js';
import { runTooleval } from '../../src/eval/tooleval/run-tooleval.js';
import { readToolBenchAnswer } from '../../src/formats/toolbench.js';
import { createChatModel, type CreatedChatModel } from '../../src/models/create-model.js';
import { runCli } from '../helpers/cli.js';
import { startFakeOpenAI, type FakeOpenAI, type FakeRequestBody } from '../helpers/fake-openai-server.js';
import { makeTempDir, sharedData } from '../helpers/paths.js';

const EVALUATORS = sharedData('stabletoolbench/evaluators');
const folder = (name: string): string => join(EVALUATORS, `tooleval_gpt-3.5-turbo_${name}`);
const ANSWERS = sharedData('toolbench_example/answer/G1_answer');
const answerFile = (id: string): string => join(ANSWERS, `${id}_ChatGPT_DFS_woFilter_w2.json`);

interface ConfigFunction {
  name: string;
  description: string;
  parameters: { properties: Record<string, unknown>; required: string[] };
}
interface Config {
  completions_kwargs: { model: string; temperature: number; max_tokens: number; functions: ConfigFunction[] };
}

/** The folder's config and its template blocks, read here independently of the code under test. */
function folderTexts(name: string): {
  config: Config;
  functions: Map<string, string>;
  messages: { role: string; content: string }[];
} {
  const dir = folder(name);
  const config = parseYaml(readFileSync(join(dir, 'config.yaml'), 'utf8')) as Config;
  const template = readFileSync(join(dir, 'template.txt'), 'utf8');
  const functions = new Map<string, string>();
  for (const m of template.matchAll(
    /<function>\s*<name>(.*?)<\/name>\s*<description>([\s\S]*?)<\/description>/g,
  ))
    functions.set(m[1] ?? '', m[2] ?? '');
  const messages = [...template.matchAll(/<role>(.*?)<\/role>\s*<content>([\s\S]*?)<\/content>/g)].map(
    (m) => ({
      role: m[1] ?? '',
      content: m[2] ?? '',
    }),
  );
  return { config, functions, messages };
}

/** A template with its slots filled (the slots are plain `{name}`s in the published folders). */
function filled(template: string, fields: Record<string, string>): string {
  let out = template;
  for (const [key, value] of Object.entries(fields)) out = out.split(`{${key}}`).join(value);
  return out;
}

function forced(body: FakeRequestBody): string {
  const choice = body.tool_choice;
  return typeof choice === 'object' ? choice.function.name : '';
}

function call(name: string, args: Record<string, unknown>) {
  return { toolCalls: [{ name, arguments: JSON.stringify(args) }] };
}

function userContent(body: FakeRequestBody | undefined): string {
  const content = body?.messages?.find((m) => m.role === 'user')?.content;
  return typeof content === 'string' ? content : '';
}

let server: FakeOpenAI;
let judge: CreatedChatModel;

before(async () => {
  server = await startFakeOpenAI();
  judge = await createChatModel('openai:gpt-3.5-turbo-16k', {
    openai: { baseUrl: server.baseUrl, apiKey: 'k' },
    noCache: true,
    maxRetries: 0,
  });
});
after(async () => {
  await judge.close();
  await server.close();
});
beforeEach(() => server.reset());

describe('StableToolBench answer conversion', () => {
  test('a valid answer: its last conversation as tool nodes, Finish last with an empty response', async () => {
    const record = await readToolBenchAnswer(answerFile('10'));
    const converted = convertAnswer(record);
    assert.equal(converted.query, record.answer.answer_generation.query);
    assert.equal(converted.answer.method, 'ChatGPT_DFS_woFilter_w2');
    assert.equal(converted.available_tools.at(-1)?.name, 'Finish');
    const steps = toolSteps(converted);
    assert.equal(steps.at(-1)?.name, 'Finish');
    assert.equal(steps.at(-1)?.response, '');
    assert.ok(endsWithFinish(converted));
    const calls = (record.answer.answer_generation.train_messages?.at(-1) ?? []).filter(
      (m) => m.function_call !== undefined,
    );
    assert.deepEqual(
      steps.map((s) => s.name),
      calls.map((m) => m.function_call?.name),
    );
    // system, user, then one node per call (assistant text beside a call is dropped, as the original).
    assert.equal(converted.answer.total_steps, 2 + steps.length);
    const [system] = converted.answer.answer_details;
    assert.equal(system?.role, 'system');
    assert.equal(system?.message, '');
    assert.equal(system?.next[0]?.role, 'user');
  });

  test('an invalid DFSDT answer: one root-to-leaf path of its tree, the same on every conversion', async () => {
    const record = await readToolBenchAnswer(answerFile('69'));
    const first = convertAnswer(record);
    assert.deepEqual(convertAnswer(record), first);
    assert.equal(first.answer.final_answer, '');
    const names = new Set(first.available_tools.map((f) => f.name));
    const steps = toolSteps(first);
    assert.ok(steps.length > 0);
    // Each step is one Action with its Action Input (name, arguments and the observation as response).
    assert.ok(
      steps.every((s) => s.response.startsWith('{') && (names.has(s.name) || s.name.endsWith('_news'))),
    );
  });
});

describe('judge requests built from each shared evaluator folder', () => {
  test('default: check_answer_status, parse_answer_status, check_task_solvable as the folder says', async () => {
    const { config, functions } = folderTexts('default');
    const evaluator = await readEvaluatorFolder(folder('default'));
    const record = await readToolBenchAnswer(answerFile('10'));
    const converted = convertAnswer(record);
    const query = converted.query;
    server.setDefault((body) => {
      const name = forced(body);
      if (name === 'check_answer_status') return call(name, { reason: 'r', answer_status: 'Unsure' });
      if (name === 'parse_answer_status') return call(name, { reason: 'r', answer_status: 'Unsolved' });
      return call(name, { reason: 'r', task_status: 'Solvable' });
    });
    const report = await evaluatorPassRate(
      judge,
      evaluator,
      [{ task: { queryId: '10', query, availableTools: converted.available_tools }, converted }],
      { runs: 1 },
    );
    assert.equal(report.perQuery[0]?.runs[0]?.decision, 'Failed');
    const bodies = server.chatRequests();
    assert.deepEqual(bodies.map(forced), [
      'check_answer_status',
      'parse_answer_status',
      'check_task_solvable',
    ]);
    for (const body of bodies) {
      const name = forced(body);
      const declared = config.completions_kwargs.functions.find((f) => f.name === name) ?? assert.fail(name);
      // The folder's model and sampling; no seed on the first run (the original request).
      assert.equal(body.model, config.completions_kwargs.model);
      assert.equal(body.temperature, config.completions_kwargs.temperature);
      assert.equal(body.max_tokens, config.completions_kwargs.max_tokens);
      assert.equal(body.seed, undefined);
      // One function, the one named, with its JSON parameters plus the reason the pass-rate script asks for.
      assert.equal(body.tools?.length, 1);
      const tool = body.tools?.[0]?.function;
      assert.equal(tool?.name, name);
      assert.equal(tool?.description, declared.description);
      const parameters = tool?.parameters as ConfigFunction['parameters'];
      assert.deepEqual(parameters.required, [...declared.parameters.required, 'reason']);
      assert.deepEqual(Object.keys(parameters.properties), [
        ...Object.keys(declared.parameters.properties),
        'reason',
      ]);
      assert.deepEqual(
        parameters.properties.answer_status ?? parameters.properties.task_status,
        declared.parameters.properties.answer_status ?? declared.parameters.properties.task_status,
      );
      assert.equal(body.messages?.length, 1);
    }
    // The template text with its slots filled.
    assert.equal(
      userContent(bodies[0]),
      filled(functions.get('check_answer_status') ?? '', { query, answer: converted.answer.final_answer }),
    );
    const second = userContent(bodies[1]);
    assert.ok(
      second.startsWith(
        filled(functions.get('parse_answer_status') ?? '', { query, answer: '\u0000' }).split('\u0000')[0] ??
          '',
      ),
    );
    // The whole converted answer as Python's json.dumps writes it.
    assert.match(
      second,
      /\{"method": "ChatGPT_DFS_woFilter_w2", "total_steps": \d+, "final_answer": "\{\\n {2}\\"return_type\\"/,
    );
    assert.match(
      second,
      /"answer_details": \[\{"role": "system", "message": "", "next": \[\{"role": "user", "message": "", "next": \[\{"role": "tool", "message": \{"name": /,
    );
    const third = userContent(bodies[2]);
    assert.ok(third.includes(`{"query": ${JSON.stringify(query)}, "available_tools": [{"name": `));
  });

  test('fn: the message template with choose_preference forced', async () => {
    const { config, messages } = folderTexts('fn');
    const evaluator = await readEvaluatorFolder(folder('fn'));
    const reference = convertAnswer(await readToolBenchAnswer(answerFile('10')));
    const candidate = convertAnswer(await readToolBenchAnswer(answerFile('11')));
    server.setDefault((body) => call(forced(body), { preference: 1 }));
    const report = await evaluatorWinRate(
      judge,
      evaluator,
      [
        {
          queryId: '10',
          query: reference.query,
          availableTools: reference.available_tools,
          candidate,
          reference,
        },
      ],
      { runs: 1, coin: () => false },
    );
    // Not shuffled (coin false): index 1 is the candidate.
    assert.equal(report.perQuery[0]?.outcome, 'win');
    const [body] = server.chatRequests();
    assert.equal(forced(body!), 'choose_preference');
    assert.equal(body?.temperature, config.completions_kwargs.temperature);
    assert.equal(body?.max_tokens, config.completions_kwargs.max_tokens);
    assert.deepEqual(
      body?.tools?.map((t) => t.function.name),
      config.completions_kwargs.functions.map((f) => f.name),
    );
    assert.deepEqual(
      body?.tools?.[0]?.function.parameters,
      config.completions_kwargs.functions[0]?.parameters,
    );
    assert.deepEqual(
      body?.messages?.map((m) => m.role),
      messages.map((m) => m.role),
    );
    assert.equal(body?.messages?.[0]?.content, messages[0]?.content);
    const user = userContent(body);
    const [head, rest] = (messages[1]?.content ?? '').split('{task_description}');
    assert.ok(user.startsWith(head ?? ''), 'the template text up to the task');
    assert.ok(user.endsWith((rest ?? '').split('{answers}')[1] ?? ''), 'and after the answers');
    assert.ok(user.includes('[{"total_steps": '), 'the answers as json.dumps, method dropped');
  });

  test('normalized: check_solve_query with its template and sampling, no reason field', async () => {
    const { config, functions } = folderTexts('normalized');
    const evaluator = await readEvaluatorFolder(folder('normalized'));
    const reference = convertAnswer(await readToolBenchAnswer(answerFile('10')));
    const candidate = convertAnswer(await readToolBenchAnswer(answerFile('11')));
    server.setDefault((body) => {
      const solved = userContent(body).includes(
        JSON.parse(reference.answer.final_answer).final_answer.slice(0, 40),
      );
      return call(forced(body), { is_solved: !solved });
    });
    const report = await evaluatorWinRate(
      judge,
      evaluator,
      [
        {
          queryId: '10',
          query: reference.query,
          availableTools: reference.available_tools,
          candidate,
          reference,
        },
      ],
      { runs: 1, coin: () => false },
    );
    // Only the candidate solves the query: it is preferred without further calls.
    assert.equal(report.perQuery[0]?.outcome, 'win');
    const bodies = server.chatRequests();
    assert.deepEqual(bodies.map(forced), ['check_solve_query', 'check_solve_query']);
    const declared = config.completions_kwargs.functions.find((f) => f.name === 'check_solve_query');
    assert.deepEqual(bodies[0]?.tools?.[0]?.function.parameters, declared?.parameters);
    assert.equal(bodies[0]?.temperature, config.completions_kwargs.temperature);
    assert.equal(bodies[0]?.max_tokens, config.completions_kwargs.max_tokens);
    assert.equal(
      userContent(bodies[0]),
      filled(functions.get('check_solve_query') ?? '', {
        query: reference.query,
        final_answer: reference.answer.final_answer,
      }),
    );
  });

  test('a folder whose template lacks a function, and Python format slots, are checked', async () => {
    const broken = makeTempDir();
    copyFileSync(join(folder('default'), 'config.yaml'), join(broken, 'config.yaml'));
    const template = readFileSync(join(folder('default'), 'template.txt'), 'utf8');
    const cut = template.slice(0, template.indexOf('<function>\n<name>select_better_answer'));
    await import('node:fs/promises').then((fs) => fs.writeFile(join(broken, 'template.txt'), cut));
    await assert.rejects(
      readEvaluatorFolder(broken),
      /template\.txt: no <function> block for select_better_answer/,
    );
    assert.equal(pythonFormat('{a} {{b}} {c}', { a: 'x', c: ['y', 1] }, 't'), "x {b} ['y', 1]");
    assert.throws(() => pythonFormat('{missing}', {}, 't'), /\{missing\} has no value/);
  });
});

describe('eval tooleval: coverage and the default evaluator', () => {
  function capture(env: Record<string, string> = {}) {
    let out = '';
    return {
      io: {
        stdout: { write: (t: string) => ((out += t), true) },
        stderr: { write: () => true, isTTY: false },
        cwd: makeTempDir(),
        env: { CI: '1', ...env },
      },
      out: () => out,
    };
  }

  function answerDir(ids: string[]): string {
    const dir = makeTempDir();
    for (const id of ids) copyFileSync(answerFile(id), join(dir, `${id}_ChatGPT_DFS_woFilter_w2.json`));
    return dir;
  }

  const solvedJudge = (body: FakeRequestBody) => {
    const name = forced(body);
    if (name === 'check_answer_status') return call(name, { reason: 'r', answer_status: 'Solved' });
    if (name === 'select_better_answer') return call(name, { reason: 'r', index: 0 });
    return call(name, { reason: 'r', task_status: 'Solvable' });
  };

  test('rates over the queries both runs answered; the coverage says how many', async () => {
    server.setDefault(solvedJudge);
    const c = capture();
    const result = await runToolevalCommand(
      [answerDir(['10', '11', '57'])],
      {
        evaluator: folder('default'),
        baseUrl: server.baseUrl,
        cache: false,
        reference: answerDir(['11', '57', '59']),
        runs: '1',
        rounds: '1',
      },
      c.io,
    );
    assert.deepEqual(result.coverage, { compared: 2, candidate: 3, reference: 3 });
    assert.deepEqual(
      result.passRate?.perQuery.map((v) => v.queryId),
      ['11', '57'],
    );
    assert.equal(result.winRate?.queries, 2);
    assert.equal(result.judge, 'openai:gpt-3.5-turbo-16k');
    assert.equal(result.comparable, true);
    assert.ok(server.chatRequests().every((b) => b.model === 'gpt-3.5-turbo-16k'));
    assert.match(c.out(), /coverage: 2 queries answered by both runs \(candidate answered 3, reference 3\)/);
    assert.doesNotMatch(c.out(), /not comparable/);
  });

  test('two runs that share no query: one line, non-zero exit, no judge call', async () => {
    const r = await runCli(
      [
        'eval',
        'tooleval',
        answerDir(['10']),
        '--reference',
        answerDir(['59']),
        '--evaluator',
        folder('default'),
        '--base-url',
        server.baseUrl,
        '--no-cache',
      ],
      { env: { OPENAI_API_KEY: 'k' } },
    );
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /share no answered query: nothing to compare/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.equal(server.chatRequests().length, 0);
  });

  test('a preference-only evaluator without a reference: the CLI names --reference, the library its option', async () => {
    const r = await runCli(
      [
        'eval',
        'tooleval',
        answerDir(['10']),
        '--evaluator',
        folder('normalized'),
        '--base-url',
        server.baseUrl,
      ],
      { env: { OPENAI_API_KEY: 'k' } },
    );
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /judges preference only: give --reference/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    const evaluator = await readEvaluatorFolder(folder('normalized'));
    await assert.rejects(
      runTooleval({ answers: [await readToolBenchAnswer(answerFile('10'))], judge, evaluator }),
      (error: Error) =>
        /needs reference answers \(option `reference`\)/.test(error.message) && !/--/.test(error.message),
    );
    assert.equal(server.chatRequests().length, 0);
  });

  test('the fetched default evaluator is used when present; otherwise the project prompts say so', async () => {
    const home = makeTempDir();
    const fetched = join(home, 'stabletoolbench-evaluators', 'tooleval_gpt-3.5-turbo_default');
    mkdirSync(fetched, { recursive: true });
    for (const file of ['config.yaml', 'template.txt'])
      copyFileSync(join(folder('default'), file), join(fetched, file));
    server.setDefault(solvedJudge);
    const c = capture({ TOOLALPACA_DATA_DIR: home });
    const result = await runToolevalCommand(
      [answerDir(['10'])],
      { baseUrl: server.baseUrl, cache: false, runs: '1', json: true },
      c.io,
    );
    assert.notEqual(result.evaluator, 'project');
    assert.equal(
      typeof result.evaluator === 'object' ? result.evaluator.name : '',
      'tooleval_gpt-3.5-turbo_default',
    );

    server.reset();
    server.setDefault((body) => {
      const name = body.response_format?.json_schema?.name;
      if (name === 'task_status') return { text: '{"reason":"r","task_status":"Solvable"}' };
      return { text: '{"reason":"r","answer_status":"Solved"}' };
    });
    const empty = capture({ TOOLALPACA_DATA_DIR: makeTempDir() });
    const project = await runToolevalCommand(
      [answerDir(['10'])],
      { judgeModel: 'openai:fake-model', baseUrl: server.baseUrl, cache: false, runs: '1' },
      empty.io,
    );
    assert.equal(project.evaluator, 'project');
    assert.match(empty.out(), /not comparable with published ToolEval figures/);
  });
});
