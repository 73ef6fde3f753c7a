/**
 * ReAct (CoT@1) with a scripted chat model (toolalpaca/testing: HTTP is not what is tested here) on a
 * StableToolBench G1 task with the schema executor: one chain, no backtracking; Finish, the depth and
 * call limits end it.
 */
import { before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AnswerTreeNode, ToolBenchTask } from '../../src/core/toolbench.js';
import { ToolBenchAnswerSchema } from '../../src/core/toolbench.js';
import { createExecutor } from '../../src/executors/registry.js';
import type { ToolExecutor } from '../../src/executors/executor.js';
import { readToolBenchQueries } from '../../src/formats/toolbench.js';
import type { ChatMessage } from '../../src/models/chat-model.js';
import { createReactSolver } from '../../src/search/react.js';
import { createScriptedChatModel } from '../../src/testing/index.js';
import { sharedData } from '../helpers/paths.js';

const model = createScriptedChatModel();
let schema: ToolExecutor;
let task: ToolBenchTask;

/** The messages of the model's call number `index`. */
const messagesOf = (index: number): ChatMessage[] => model.calls[index]?.request.messages ?? [];

const SEARCH = 'transfermarkt_search_for_theclique';

before(async () => {
  schema = await createExecutor('schema');
  const tasks = await readToolBenchQueries(sharedData('stabletoolbench/G1_instruction.json'));
  task = tasks.find((t) => t.queryId === '588') ?? assert.fail('query 588 missing');
});

beforeEach(() => model.reset());

function chainLength(root: AnswerTreeNode): number {
  let n = 0;
  for (let node: AnswerTreeNode | undefined = root; node !== undefined; node = node.children[0]) {
    assert.ok(node.children.length <= 1, 'a chain has one child per node');
    n++;
  }
  return n;
}

describe('ReAct (CoT@1)', () => {
  test('calls, observes and finishes with an answer in one chain', async () => {
    model.script(
      { text: 'Look Messi up.', toolCalls: [{ name: SEARCH, arguments: '{"name":"messi"}' }] },
      {
        toolCalls: [
          { name: 'Finish', arguments: '{"return_type":"give_answer","final_answer":"Messi: Inter Miami."}' },
        ],
      },
    );
    const result = await createReactSolver().solve(task, { model, executor: schema });
    assert.equal(result.finishType, 'give_answer');
    assert.equal(result.finalAnswer, 'Messi: Inter Miami.');
    assert.equal(model.calls.length, 2);
    // The second call sees the first call and its observation, in ToolBench's observation shape.
    const second = messagesOf(1);
    const call = second.at(-2);
    assert.equal(call?.role === 'assistant' ? call.toolCalls?.[0]?.name : undefined, SEARCH);
    const observation = JSON.parse(String(second.at(-1)?.content)) as { error: string; response: string };
    assert.equal(observation.error, '');
    assert.ok(observation.response.length > 0);
    const answer = ToolBenchAnswerSchema.parse(result.answer);
    assert.equal(answer.answer_generation.finish_type, 'give_answer');
    assert.equal(answer.answer_generation.train_messages?.length, 2);
    assert.equal(answer.forward_args?.pass_at, 1);
    // root, Thought, Action, Action Input, Action (Finish), Action Input.
    assert.equal(chainLength(answer.tree?.tree ?? assert.fail()), 6);
  });

  test('an executor error does not end the chain: the model reads it and goes on', async () => {
    const failing: ToolExecutor = {
      kind: 'failing',
      async execute() {
        throw new Error('socket hang up');
      },
    };
    model.script(
      { toolCalls: [{ name: SEARCH, arguments: '{"name":"messi"}' }] },
      {
        toolCalls: [
          {
            name: 'Finish',
            arguments: '{"return_type":"give_answer","final_answer":"The service is down."}',
          },
        ],
      },
    );
    const result = await createReactSolver().solve(task, { model, executor: failing });
    assert.equal(result.finishType, 'give_answer');
    const last = messagesOf(1).at(-1);
    assert.match(String(last?.content), /socket hang up/);
    const failed = ToolBenchAnswerSchema.parse(result.answer).tree?.tree.children[0]?.children[0];
    assert.equal(failed?.observation_code, 12);
    assert.equal(failed?.pruned, false);
  });

  test('a give-up ends the chain (no restart in CoT@1)', async () => {
    model.setDefault(() => ({
      toolCalls: [{ name: 'Finish', arguments: '{"return_type":"give_up_and_restart"}' }],
    }));
    const result = await createReactSolver().solve(task, { model, executor: schema });
    assert.equal(model.calls.length, 1);
    assert.equal(result.finishType, 'give_up');
    assert.equal(result.stopReason, 'give_up');
    assert.equal(ToolBenchAnswerSchema.parse(result.answer).answer_generation.finish_type, 'give_up');
  });

  test('the depth and call limits stop the chain', async () => {
    model.setDefault(() => ({ toolCalls: [{ name: SEARCH, arguments: '{"name":"messi"}' }] }));
    const deep = await createReactSolver({ maxDepth: 6 }).solve(task, { model, executor: schema });
    assert.equal(deep.stopReason, 'depth_limit');
    assert.equal(model.calls.length, 3);
    assert.equal(deep.finishType, 'none');
    model.reset();
    model.setDefault(() => ({ toolCalls: [{ name: SEARCH, arguments: '{"name":"messi"}' }] }));
    const calls = await createReactSolver({ maxCalls: 2 }).solve(task, { model, executor: schema });
    assert.equal(calls.stopReason, 'call_limit');
    assert.equal(model.calls.length, 2);
    assert.equal(ToolBenchAnswerSchema.parse(calls.answer).answer_generation.valid_data, false);
  });

  test('an unknown function gets code 1 and the chain continues', async () => {
    model.script(
      { toolCalls: [{ name: 'made_up_for_theclique', arguments: '{}' }] },
      { toolCalls: [{ name: 'Finish', arguments: '{"return_type":"give_answer","final_answer":"ok"}' }] },
    );
    const result = await createReactSolver().solve(task, { model, executor: schema });
    assert.equal(result.finishType, 'give_answer');
    const node = ToolBenchAnswerSchema.parse(result.answer).tree?.tree.children[0]?.children[0];
    assert.equal(node?.observation_code, 1);
    assert.match(String(node?.observation), /No such function name: made_up_for_theclique/);
  });
  test('parallel calls: the chain runs every call of a reply and continues with all results', async () => {
    const executed: string[] = [];
    const recording: ToolExecutor = {
      kind: 'recording',
      async execute(tool, fn, args, context) {
        executed.push(`${fn}:${JSON.stringify(args)}`);
        return schema.execute(tool, fn, args, context);
      },
    };
    model.script(
      {
        toolCalls: [
          { id: 'c1', name: SEARCH, arguments: '{"name":"messi"}' },
          { id: 'c2', name: SEARCH, arguments: '{"name":"ronaldo"}' },
          { id: 'c3', name: SEARCH, arguments: '{"name":"neymar"}' },
        ],
      },
      { toolCalls: [{ name: 'Finish', arguments: '{"return_type":"give_answer","final_answer":"ok"}' }] },
    );
    const result = await createReactSolver().solve(task, { model, executor: recording });
    assert.equal(result.finishType, 'give_answer');
    assert.deepEqual(executed, [
      `${SEARCH}:{"name":"messi"}`,
      `${SEARCH}:{"name":"ronaldo"}`,
      `${SEARCH}:{"name":"neymar"}`,
    ]);
    assert.deepEqual(
      messagesOf(1).flatMap((m) => (m.role === 'tool' ? [m.toolCallId] : [])),
      ['c1', 'c2', 'c3'],
    );
    const answer = ToolBenchAnswerSchema.parse(result.answer);
    // root + 3 × (Action, Action Input) + Finish (Action, Action Input).
    assert.equal(chainLength(answer.tree?.tree ?? assert.fail()), 9);
  });
});
