/**
 * DFSDT against the fake OpenAI server with scripted function calls, on a real StableToolBench G1 task
 * (TheClique) with the schema executor: give-up and backtracking, executor errors, the diversity prompt,
 * the call and depth limits, and the recorded tree in ToolBench's layout.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AnswerTreeNode, ToolBenchTask } from '../../src/core/toolbench.js';
import { ToolBenchAnswerSchema } from '../../src/core/toolbench.js';
import type { ToolExecutor } from '../../src/executors/executor.js';
import { answerSteps, readToolBenchQueries } from '../../src/formats/toolbench.js';
import type { CreatedChatModel } from '../../src/models/create-model.js';
import { createDfsdtSolver } from '../../src/search/dfsdt.js';
import { startFakeChatSetup, type FakeChatSetup } from '../helpers/fake-chat-model.js';
import type { FakeOpenAI, FakeWireMessage } from '../helpers/fake-openai-server.js';
import { sharedData } from '../helpers/paths.js';

let fake: FakeChatSetup;
let server: FakeOpenAI;
let model: CreatedChatModel;
let schema: ToolExecutor;
let task: ToolBenchTask;

const SEARCH = 'transfermarkt_search_for_theclique';
const DETAILS = 'transfermarkt_details_for_theclique';
const CONCERT = 'songkick_concert_for_theclique';

before(async () => {
  fake = await startFakeChatSetup();
  ({ server, model, schema } = fake);
  const tasks = await readToolBenchQueries(sharedData('stabletoolbench/G1_instruction.json'));
  task = tasks.find((t) => t.queryId === '588') ?? assert.fail('query 588 missing');
});

after(() => fake.close());

beforeEach(() => server.reset());

function lastMessage(messages: FakeWireMessage[] | undefined): FakeWireMessage | undefined {
  return messages?.[messages.length - 1];
}

function content(message: FakeWireMessage | undefined): string {
  return typeof message?.content === 'string' ? message.content : '';
}

const finish = (returnType: string, answer?: string) => ({
  toolCalls: [
    {
      name: 'Finish',
      arguments: JSON.stringify(
        answer === undefined
          ? { return_type: returnType }
          : { return_type: returnType, final_answer: answer },
      ),
    },
  ],
});

/** Every node of the recorded tree, depth first. */
function nodes(root: AnswerTreeNode): AnswerTreeNode[] {
  return [root, ...root.children.flatMap(nodes)];
}

/** An executor that fails (throws) for one function and uses the schema executor for the others. */
function failingFor(functionName: string): ToolExecutor {
  return {
    kind: 'failing',
    async execute(tool, fn, args, context) {
      if (fn === functionName) throw new Error('connection refused');
      return schema.execute(tool, fn, args, context);
    },
  };
}

describe('DFSDT', () => {
  test('a give-up backtracks to a sibling of the step before it, which then gives the answer', async () => {
    server.script(
      { text: 'Search the player first.', toolCalls: [{ name: SEARCH, arguments: '{"name":"messi"}' }] },
      finish('give_up_and_restart'),
      {
        toolCalls: [
          { name: DETAILS, arguments: '{"type_s":"player","other":"28003","name":"lionel-messi"}' },
        ],
      },
      finish('give_answer', 'Messi played for Barcelona, PSG and Inter Miami.'),
    );
    const result = await createDfsdtSolver().solve(task, { model, executor: schema });
    assert.equal(result.finishType, 'give_answer');
    assert.equal(result.stopReason, 'answer');
    assert.equal(result.finalAnswer, 'Messi played for Barcelona, PSG and Inter Miami.');
    assert.equal(result.queryCount, 4);

    const bodies = server.chatRequests();
    assert.equal(bodies.length, 4);
    // Every call offers the task's functions plus Finish, natively.
    const offered = bodies[0]?.tools?.map((t) => t.function.name) ?? [];
    assert.ok(offered.includes(SEARCH) && offered.includes(DETAILS) && offered.at(-1) === 'Finish');
    assert.equal(offered.length, task.apis.length + 1);
    // The second call continues the first branch: it sees the search result, no diversity prompt.
    assert.equal(lastMessage(bodies[1]?.messages)?.role, 'tool');
    // The third call expands the root again: the diversity prompt lists the earlier child.
    const diversity = lastMessage(bodies[2]?.messages);
    assert.equal(diversity?.role, 'user');
    assert.match(content(diversity), /transfermarkt_search_for_theclique/);
    assert.match(content(diversity), /messi/);
    assert.equal(bodies[2]?.messages?.length, 3, 'system, user, diversity prompt');
    // ...and is not inherited by the child: the fourth call's history has no diversity prompt.
    const fourth = bodies[3]?.messages ?? [];
    assert.ok(!fourth.some((m) => m.role === 'user' && /earlier attempts/.test(content(m))));
    assert.equal(fourth.at(-1)?.role, 'tool');
    assert.equal(fourth.at(-2)?.tool_calls?.[0]?.function.name, DETAILS);

    const answer = ToolBenchAnswerSchema.parse(result.answer);
    assert.equal(answer.win, true);
    const gen = answer.answer_generation;
    assert.equal(gen.valid_data, true);
    assert.equal(gen.finish_type, 'give_answer');
    assert.equal(gen.query_count, 4);
    assert.ok(gen.total_tokens > 0);
    assert.equal(
      JSON.parse(gen.final_answer).final_answer,
      'Messi played for Barcelona, PSG and Inter Miami.',
    );
    assert.deepEqual(
      gen.function.map((f) => f.name),
      [...task.apis.map((a) => a.functionName), 'Finish'],
    );
    // Winning path: two assistant turns (details call, Finish); each entry a prefix ending at an assistant turn.
    const train = gen.train_messages ?? assert.fail('no train_messages');
    assert.equal(train.length, 2);
    assert.deepEqual(
      train.map((m) => m.at(-1)?.function_call?.name),
      [DETAILS, 'Finish'],
    );
    assert.equal(train[1]?.[3]?.role, 'function');

    // Tree: root → [Thought → Action(search) → Action Input → Action(Finish) → Action Input (give up)],
    //              [Action(details) → Action Input → Action(Finish) → Action Input (answer)].
    const tree = answer.tree ?? assert.fail('no tree');
    const root = tree.tree;
    assert.equal(root.node_type, 'Action Input');
    assert.equal(root.children.length, 2);
    const [first, second] = root.children as [AnswerTreeNode, AnswerTreeNode];
    assert.equal(first.node_type, 'Thought');
    assert.equal(first.description, 'Search the player first.');
    const giveUp = first.children[0]?.children[0]?.children[0]?.children[0];
    assert.equal(giveUp?.node_type, 'Action Input');
    assert.equal(giveUp?.observation_code, 4);
    assert.equal(giveUp?.pruned, true);
    assert.equal(giveUp?.depth, 5);
    assert.equal(second.node_type, 'Action');
    assert.equal(second.description, DETAILS);
    const answerNode = second.children[0]?.children[0]?.children[0];
    assert.equal(answerNode?.observation_code, 3);
    assert.equal(answerNode?.is_terminal, true);
    assert.equal(answerNode?.finished, true);
    assert.equal(tree.size, nodes(root).length);
    assert.equal(tree.size, 10);
    assert.equal(tree.max_length, 6);
    assert.equal(answer.forward_args?.tree_beam_size, 2);
    assert.equal(answer.forward_args?.single_chain_max_step, 12);
    assert.equal(answer.forward_args?.max_query_count, 200);
    // compare_candidates: the path to the answer, node by node without children.
    const candidates = answer.compare_candidates as Record<string, unknown>[][];
    assert.equal(candidates.length, 1);
    assert.deepEqual(
      candidates[0]?.map((n) => n.node_type),
      ['Action', 'Action Input', 'Action', 'Action Input'],
    );
    assert.ok(candidates[0]?.every((n) => !('children' in n)));
    // Expansion order is pre-order: the answer node was expanded last.
    assert.equal(Math.max(...nodes(root).map((n) => n.expand_num)), answerNode?.expand_num);
  });

  test('an executor error prunes the step and the search backtracks to a sibling', async () => {
    server.script(
      { toolCalls: [{ name: CONCERT, arguments: '{"id_conc":"40698227"}' }] },
      finish('give_answer', 'No concert information is available.'),
    );
    const result = await createDfsdtSolver().solve(task, { model, executor: failingFor(CONCERT) });
    assert.equal(result.finishType, 'give_answer');
    assert.equal(result.queryCount, 2);
    const bodies = server.chatRequests();
    // The second call is a sibling of the failed step: from the root, with the diversity prompt.
    assert.equal(bodies[1]?.messages?.length, 3);
    assert.match(content(lastMessage(bodies[1]?.messages)), /songkick_concert_for_theclique/);
    assert.match(content(lastMessage(bodies[1]?.messages)), /connection refused/);
    const answer = ToolBenchAnswerSchema.parse(result.answer);
    const failed = answer.tree?.tree.children[0]?.children[0];
    assert.equal(failed?.node_type, 'Action Input');
    assert.equal(failed?.pruned, true);
    assert.equal(failed?.observation_code, 12);
    assert.equal(failed?.children.length, 0);
    assert.equal(answer.tree?.tree.children.length, 2);
  });

  test('the diversity prompt lists every earlier sibling when a node gets a third child', async () => {
    server.script(
      { toolCalls: [{ name: SEARCH, arguments: '{"name":"messi"}' }] },
      finish('give_up_and_restart'),
      { toolCalls: [{ name: CONCERT, arguments: '{"id_conc":"1"}' }] },
      finish('give_up_and_restart'),
      { toolCalls: [{ name: DETAILS, arguments: '{"type_s":"player","other":"1","name":"x"}' }] },
      finish('give_answer', 'done'),
    );
    const result = await createDfsdtSolver({ width: 3 }).solve(task, { model, executor: schema });
    assert.equal(result.finishType, 'give_answer');
    const bodies = server.chatRequests();
    assert.equal(bodies.length, 6);
    const third = content(lastMessage(bodies[4]?.messages));
    assert.match(third, /transfermarkt_search_for_theclique/);
    assert.match(third, /songkick_concert_for_theclique/);
    const second = content(lastMessage(bodies[2]?.messages));
    assert.doesNotMatch(second, /songkick_concert_for_theclique/);
  });

  test('the call limit stops the search with no answer', async () => {
    server.setDefault(() => ({ toolCalls: [{ name: SEARCH, arguments: '{"name":"messi"}' }] }));
    const result = await createDfsdtSolver({ maxCalls: 5 }).solve(task, { model, executor: schema });
    assert.equal(result.stopReason, 'call_limit');
    assert.equal(result.finishType, 'none');
    assert.equal(server.chatRequests().length, 5);
    const answer = ToolBenchAnswerSchema.parse(result.answer);
    assert.equal(answer.answer_generation.valid_data, false);
    assert.equal(answer.answer_generation.query_count, 5);
    assert.equal(answer.answer_generation.train_messages, undefined);
    assert.equal(answer.win, false);
  });

  test('the depth limit prunes every branch at that level; width 2 gives a full binary tree of steps', async () => {
    server.setDefault(() => ({ toolCalls: [{ name: SEARCH, arguments: '{"name":"messi"}' }] }));
    const result = await createDfsdtSolver({ maxDepth: 4 }).solve(task, { model, executor: schema });
    assert.equal(result.stopReason, 'depth_limit');
    // Each step adds two levels (Action, Action Input): 2 steps per branch, 2 children per node.
    assert.equal(server.chatRequests().length, 6);
    const answer = ToolBenchAnswerSchema.parse(result.answer);
    const all = nodes(answer.tree?.tree ?? assert.fail());
    const leaves = all.filter((n) => n.children.length === 0);
    assert.equal(leaves.length, 4);
    assert.ok(leaves.every((n) => n.depth === 4 && n.pruned && n.node_type === 'Action Input'));
    assert.equal(answer.tree?.size, 13);
    assert.equal(answer.tree?.max_length, 5);
  });

  test('only give-ups: the answer file keeps one as ToolBench does (finish_type give_up)', async () => {
    server.script({ toolCalls: [{ name: SEARCH, arguments: '{"name":"messi"}' }] });
    server.setDefault(() => finish('give_up_and_restart'));
    const result = await createDfsdtSolver().solve(task, { model, executor: schema });
    // The give-up under the search step sends the search back to the root, whose second child gives up
    // at once: backing off two levels from there leaves the tree, so the search ends after 3 calls.
    assert.equal(server.chatRequests().length, 3);
    assert.equal(result.finishType, 'give_up');
    assert.equal(result.stopReason, 'give_up');
    const gen = ToolBenchAnswerSchema.parse(result.answer).answer_generation;
    assert.equal(gen.valid_data, true);
    assert.equal(gen.finish_type, 'give_up');
    assert.equal(gen.train_messages?.length, 2, 'the first give-up: search call, then Finish');
  });
  test('parallel calls: every call of a reply runs, every result goes back and into the answer file', async () => {
    const executed: string[] = [];
    const recording: ToolExecutor = {
      kind: 'recording',
      async execute(tool, fn, args, context) {
        executed.push(fn);
        return schema.execute(tool, fn, args, context);
      },
    };
    server.script(
      {
        text: 'Both at once.',
        toolCalls: [
          { id: 'call_a', name: SEARCH, arguments: '{"name":"messi"}' },
          { id: 'call_b', name: CONCERT, arguments: '{"id_conc":"40698227"}' },
        ],
      },
      finish('give_answer', 'Messi; no concert.'),
    );
    const result = await createDfsdtSolver().solve(task, { model, executor: recording });
    assert.equal(result.finishType, 'give_answer');
    assert.deepEqual(executed, [SEARCH, CONCERT]);
    const second = server.chatRequests()[1]?.messages ?? [];
    // The assistant turn with both calls, then one tool message per call, by id.
    assert.deepEqual(
      second.at(-3)?.tool_calls?.map((c) => c.function.name),
      [SEARCH, CONCERT],
    );
    assert.deepEqual(
      second.slice(-2).map((m) => [m.role, m.tool_call_id]),
      [
        ['tool', 'call_a'],
        ['tool', 'call_b'],
      ],
    );
    const answer = ToolBenchAnswerSchema.parse(result.answer);
    const train = answer.answer_generation.train_messages ?? assert.fail('no train_messages');
    const first = train[0]?.at(-1);
    assert.deepEqual(
      first?.tool_calls?.map((c) => [c.id, c.function.name]),
      [
        ['call_a', SEARCH],
        ['call_b', CONCERT],
      ],
    );
    const full = train.at(-1) ?? [];
    assert.deepEqual(
      full.filter((m) => m.role === 'tool').map((m) => m.tool_call_id),
      ['call_a', 'call_b'],
    );
    // Tree: Thought → Action(search) → Action Input → Action(concert) → Action Input → Action(Finish) → ...
    const path: string[] = [];
    for (let n = answer.tree?.tree.children[0]; n !== undefined; n = n.children[0]) {
      path.push(`${n.node_type}:${n.node_type === 'Action' ? n.description : ''}`);
    }
    assert.deepEqual(path, [
      'Thought:',
      `Action:${SEARCH}`,
      'Action Input:',
      `Action:${CONCERT}`,
      'Action Input:',
      'Action:Finish',
      'Action Input:',
    ]);
    // Readers see two steps, each with its own observation.
    const steps = answerSteps({
      queryId: task.queryId,
      method: 'DFS_woFilter_w2',
      path: '',
      answer,
      answered: true,
      finalAnswerText: '',
    });
    assert.deepEqual(
      steps.map((st) => st.action),
      [SEARCH, CONCERT],
    );
    assert.ok(steps.every((st) => st.observation.startsWith('{"error"')));
  });

  test('parallel calls: one call that cannot be made prunes the step after the others ran', async () => {
    const executed: string[] = [];
    const failing = failingFor(SEARCH);
    const recording: ToolExecutor = {
      kind: 'recording',
      async execute(tool, fn, args, context) {
        executed.push(fn);
        return failing.execute(tool, fn, args, context);
      },
    };
    server.script(
      {
        toolCalls: [
          { name: SEARCH, arguments: '{"name":"messi"}' },
          { name: CONCERT, arguments: '{"id_conc":"1"}' },
        ],
      },
      finish('give_answer', 'done'),
    );
    const result = await createDfsdtSolver().solve(task, { model, executor: recording });
    assert.deepEqual(executed, [SEARCH, CONCERT]);
    assert.equal(result.finishType, 'give_answer');
    const answer = ToolBenchAnswerSchema.parse(result.answer);
    const lastOfStep = answer.tree?.tree.children[0]?.children[0]?.children[0]?.children[0];
    assert.equal(lastOfStep?.node_type, 'Action Input');
    assert.equal(lastOfStep?.pruned, true);
    assert.equal(lastOfStep?.children.length, 0, 'the search backed off to a sibling');
    assert.equal(answer.tree?.tree.children.length, 2);
  });
});
