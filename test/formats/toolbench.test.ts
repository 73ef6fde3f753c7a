/**
 * ToolBench / StableToolBench query files → tasks, ToolBench's naming rules, and answer files read as runs,
 * on the shared data.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { httpBindingOf } from '../../src/core/http-binding.js';
import { RunFileSchema } from '../../src/core/run.js';
import type { RawToolBenchQuery } from '../../src/core/toolbench.js';
import { exampleResponseOf } from '../../src/executors/simulated-executor.js';
import {
  answerFunctionOf,
  answersToRun,
  changeName,
  countTasks,
  importToolBenchFiles,
  mapParameterType,
  mergeTaskTools,
  readToolBenchAnswer,
  readToolBenchAnswers,
  readToolBenchQueries,
  readToolBenchTools,
  standardize,
  taskFunctions,
  toolbenchFunctionName,
  uniqueFunctionName,
  functionToRawApi,
  collectionsOf,
} from '../../src/formats/toolbench.js';
import { makeTempDir, sharedData } from '../helpers/paths.js';

const FILES: [string, number][] = [
  ['G1_instruction', 163],
  ['G1_category', 153],
  ['G1_tool', 158],
  ['G2_instruction', 106],
  ['G3_instruction', 61],
];

async function raw(path: string): Promise<RawToolBenchQuery[]> {
  return JSON.parse(await readFile(path, 'utf8')) as RawToolBenchQuery[];
}

describe('naming (ToolBench rules)', () => {
  test('standardize and change_name', () => {
    assert.equal(standardize('Songkick concert'), 'songkick_concert');
    assert.equal(standardize('  Get--User (v2)!  '), 'get_user_v2');
    assert.equal(standardize('10000+ Anime Quotes'), 'get_10000_anime_quotes');
    assert.equal(
      standardize('Retorna dados do endereço através do CEP'),
      'retorna_dados_do_endere_o_atrav_s_do_cep',
    );
    assert.equal(standardize('___'), '');
    assert.equal(changeName('id'), 'is_id');
    assert.equal(changeName('from'), 'is_from');
    assert.equal(changeName('identity'), 'identity');
    assert.equal(toolbenchFunctionName('ID', 'squake'), 'is_id_for_squake');
  });

  test('names are cut to their last 64 characters', () => {
    const name = toolbenchFunctionName(
      'Yesterday Sure VIP BTTS/Goal Goal',
      'get_168predict_vip_football_predictions',
    );
    assert.equal(name.length, 64);
    assert.ok(name.endsWith('_for_get_168predict_vip_football_predictions'));
    assert.equal(
      name,
      `yesterday_sure_vip_btts_goal_goal_for_get_168predict_vip_football_predictions`.slice(-64),
    );
  });

  test('collisions get a numeric suffix before _for_, still within 64 characters', () => {
    const used = new Set<string>();
    const tool = 'get_168predict_vip_football_predictions';
    const names = [
      'Yesterday Sure VIP BTTS/Goal Goal',
      'Today Sure VIP BTTS/Goal Goal',
      'Tomorrow Sure VIP BTTS/Goal Goal',
    ].map((api) => {
      const n = uniqueFunctionName(api, tool, used);
      used.add(n);
      return n;
    });
    assert.equal(new Set(names).size, 3);
    assert.ok(names.every((n) => n.length <= 64 && n.endsWith(`_for_${tool}`)));
    assert.match(names[1] ?? '', /_2_for_get_168predict/);
    assert.match(names[2] ?? '', /_3_for_get_168predict/);
    // A tool name too long for a suffix before _for_: the suffix goes at the very end.
    const long = 'x'.repeat(70);
    const first = uniqueFunctionName('a', long, new Set());
    const second = uniqueFunctionName('a', long, new Set([first]));
    assert.notEqual(first, second);
    assert.equal(second.length, 64);
  });

  test('parameter types map as ToolBench maps them', () => {
    assert.equal(mapParameterType('NUMBER'), 'integer');
    assert.equal(mapParameterType('STRING'), 'string');
    assert.equal(mapParameterType('BOOLEAN'), 'boolean');
    assert.equal(mapParameterType('ENUM'), 'string');
    assert.equal(mapParameterType('DATE (YYYY-MM-DD)'), 'string');
    assert.equal(mapParameterType('string'), 'string');
  });
});

describe('query files → tasks', () => {
  for (const [name, expected] of FILES) {
    test(`${name}: ${expected} queries; tools and APIs counted`, async () => {
      const path = sharedData(`stabletoolbench/${name}.json`);
      const tasks = await readToolBenchQueries(path);
      assert.equal(tasks.length, expected);
      // Counted independently from the raw file.
      const entries = await raw(path);
      const tools = new Set(
        entries.flatMap((q) => (q.api_list ?? []).map((a) => `${a.category_name}|${a.tool_name}`)),
      );
      const apis = new Set(
        entries.flatMap((q) =>
          (q.api_list ?? []).map((a) => `${a.category_name}|${a.tool_name}|${a.api_name}`),
        ),
      );
      const counts = countTasks(tasks);
      assert.deepEqual(counts, { queries: expected, tools: tools.size, apis: apis.size });
      assert.ok(counts.tools > 0 && counts.apis >= counts.tools);
      for (const [i, task] of tasks.entries()) {
        const entry = entries[i] as RawToolBenchQuery;
        assert.equal(task.queryId, String(entry.query_id));
        assert.equal(task.group, name);
        const names = task.tools.flatMap((t) => t.functions.map((f) => f.name));
        assert.equal(new Set(names).size, names.length, `query ${task.queryId}: function names unique`);
        assert.ok(names.every((n) => n.length <= 64 && /^[A-Za-z0-9_]+$/.test(n)));
        assert.equal(names.length, task.apis.length);
        assert.deepEqual(task.relevantApis, entry['relevant APIs']);
        // Every relevant API is one of the task's APIs.
        for (const [tool, api] of task.relevantApis) {
          assert.ok(
            task.apis.some((a) => a.toolName === tool && a.apiName === api),
            `${task.queryId}: ${tool}/${api}`,
          );
        }
      }
    });
  }

  test('a task: RapidAPI host, required/optional parameters, the template response as the example', async () => {
    const tasks = await readToolBenchQueries(sharedData('stabletoolbench/G1_instruction.json'));
    const task = tasks.find((t) => t.queryId === '588') ?? assert.fail();
    assert.equal(task.tools.length, 1);
    const tool = task.tools[0] ?? assert.fail();
    assert.equal(tool.name, 'theclique');
    assert.equal(tool.category, 'Data');
    assert.deepEqual(tool.servers, ['https://theclique.p.rapidapi.com']);
    assert.equal(tool.auth[0]?.parameterName, 'X-RapidAPI-Key');
    const fn = tool.functions.find((f) => f.name === 'songkick_concert_for_theclique') ?? assert.fail();
    assert.equal(fn.summary, 'Songkick concert');
    assert.equal(
      fn.description,
      'This is the subfunction for tool "theclique", you can use this tool.The description of this function is: "Concert info"',
    );
    assert.deepEqual(httpBindingOf(fn)?.parameters, [
      {
        name: 'id_conc',
        in: 'query',
        required: true,
        schema: { type: 'string', example: '40698227-lumineers-at-aware-super-theatre' },
      },
    ]);
    const entry = (await raw(sharedData('stabletoolbench/G1_instruction.json'))).find(
      (q) => q.query_id === 588,
    );
    const source = entry?.api_list?.find((a) => a.api_name === 'Songkick concert');
    assert.deepEqual(exampleResponseOf(tool, fn), source?.template_response);
    // Finish closes the function list.
    const functions = taskFunctions(task);
    assert.equal(functions.at(-1)?.name, 'Finish');
    assert.equal(functions.length, task.apis.length + 1);
    // Back to an api_list entry with the original names.
    const back = functionToRawApi(tool, fn);
    assert.equal(back.tool_name, 'TheClique');
    assert.equal(back.api_name, 'Songkick concert');
    assert.deepEqual(back.template_response, source?.template_response);
  });

  test('real collisions in G1_instruction get distinct names', async () => {
    const tasks = await readToolBenchQueries(sharedData('stabletoolbench/G1_instruction.json'));
    const task = tasks.find((t) => t.queryId === '27847') ?? assert.fail();
    const names = task.apis
      .filter((a) => a.toolName === '168predict VIP Football Predictions')
      .map((a) => a.functionName);
    assert.equal(new Set(names).size, names.length);
    assert.ok(names.some((n) => /_2_for_/.test(n)));
  });

  test("function JSON and names agree with ToolBench's own answer files", async () => {
    const answers = await readToolBenchAnswers([sharedData('toolbench_example/answer')]);
    const reference = new Map(
      answers.flatMap((a) => a.answer.answer_generation.function.map((f) => [f.name, f] as const)),
    );
    let compared = 0;
    for (const file of ['G1_query', 'G2_query', 'G3_query']) {
      for (const task of await readToolBenchQueries(
        sharedData(`toolbench_example/instruction/${file}.json`),
      )) {
        for (const tool of task.tools) {
          for (const fn of tool.functions) {
            const ref = reference.get(fn.name);
            if (ref === undefined) continue;
            compared++;
            const mine = answerFunctionOf(fn);
            assert.equal(mine.description, ref.description);
            // ToolBench drops optional parameters of a function without required ones (a quirk we do not copy).
            const parameters = httpBindingOf(fn)?.parameters ?? [];
            const hasRequired = parameters.some((p) => p.required);
            if (hasRequired || parameters.length === 0) assert.deepEqual(mine.parameters, ref.parameters);
          }
        }
      }
    }
    assert.ok(compared >= 20, `compared ${compared} functions`);
  });

  test('tools merge across tasks; import writes tasks and OpenAPI tools that read back', async () => {
    const out = makeTempDir();
    const files = FILES.map(([name]) => sharedData(`stabletoolbench/${name}.json`));
    const report = await importToolBenchFiles(files, out);
    const all = (await Promise.all(files.map((f) => readToolBenchQueries(f)))).flat();
    assert.deepEqual({ queries: report.queries, tools: report.tools, apis: report.apis }, countTasks(all));
    assert.equal(report.files.length, 5);
    const tools = await readToolBenchTools(join(out, 'tools'));
    assert.equal(tools.length, mergeTaskTools(all).length);
    assert.equal(tools.length, report.tools);
    assert.equal(
      tools.reduce((n, t) => n + t.functions.length, 0),
      report.apis,
    );
    const theclique = tools.find((t) => t.name === 'theclique') ?? assert.fail();
    const fn = theclique.functions.find((f) => f.name === 'songkick_concert_for_theclique') ?? assert.fail();
    assert.ok(exampleResponseOf(theclique, fn) !== undefined);
    // G3 tools carry their collections; the tasks file reads back.
    assert.ok(tools.some((t) => collectionsOf(t).length > 0));
    const g1 = await readToolBenchQueries(join(out, 'tasks', 'G1_instruction.json'));
    assert.equal(g1.length, 163);
    assert.deepEqual(g1[0]?.tools, all[0]?.tools);
    assert.deepEqual((await readdir(join(out, 'tasks'))).sort(), FILES.map(([n]) => `${n}.json`).sort());
  });

  test('ToolBench example instruction files read too', async () => {
    for (const [file, count] of [
      ['G1_query', 5],
      ['G2_query', 3],
      ['G3_query', 2],
      ['inference_query_demo', 1],
    ] as const) {
      const tasks = await readToolBenchQueries(sharedData(`toolbench_example/instruction/${file}.json`));
      assert.equal(tasks.length, count);
    }
  });

  test('unreadable input is a one-line InputError naming the file', async () => {
    const dir = makeTempDir();
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(dir, 'bad.json'), '{"not": "queries"}');
    await assert.rejects(readToolBenchQueries(join(dir, 'bad.json')), (error: Error) => {
      assert.equal(error.name, 'InputError');
      assert.match(error.message, /bad\.json: not a ToolBench query file/);
      return true;
    });
  });
});

describe('answer files', () => {
  test('every example answer file reads, and as a run', async () => {
    const root = sharedData('toolbench_example/answer');
    const records = await readToolBenchAnswers([root]);
    assert.equal(records.length, 15);
    const first = await readToolBenchAnswer(join(root, 'G1_answer', '10_ChatGPT_DFS_woFilter_w2.json'));
    assert.equal(first.queryId, '10');
    assert.equal(first.method, 'ChatGPT_DFS_woFilter_w2');
    assert.equal(first.answered, true);
    assert.match(first.finalAnswerText, /ACT - Agence Calédonienne de Transit/);
    for (const record of records) {
      const gen = record.answer.answer_generation;
      assert.equal(record.answered, gen.valid_data && gen.finish_type === 'give_answer');
    }
    const run = RunFileSchema.parse(answersToRun(records, { importedFrom: root }));
    assert.equal(run.items.length, 15);
    const item = run.items[0] ?? assert.fail();
    assert.equal(item.status, 'completed');
    assert.equal(item.tool, 'transitaires');
    assert.ok(item.steps.length >= 1);
    assert.ok(item.steps.every((s) => s.action !== 'Finish'));
    assert.equal(item.steps[0]?.action, 'transitaires_for_transitaires');
    assert.equal(
      run.items.filter((i) => i.status === 'completed').length,
      records.filter((r) => r.answered).length,
    );
    // A run without an answer (valid_data false) has no final answer.
    const none = run.items.find((i) => i.status === 'failed' && i.failure?.reason === 'no_answer');
    assert.ok(none !== undefined && none.finalAnswer === undefined);
  });
});
