/**
 * `solve`'s DFSDT answers in the viewer: a search made during the test against the fake OpenAI server
 * (one branch gives up, the search backtracks and answers on the next) is read as ToolBench answers, and
 * its tree shows the give-up, the backtrack, the chosen path and the model calls spent.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runSolveCommand } from '../../src/cli/solve.js';
import { startView, type RunningView } from '../../src/cli/view.js';
import type { FileInfo, ItemDetail, ListResponse } from '../../src/view/api.js';
import { startFakeOpenAI, type FakeOpenAI, type FakeRequestBody } from '../helpers/fake-openai-server.js';
import { makeTempDir, sharedData } from '../helpers/paths.js';

const TASKS = sharedData('stabletoolbench/G1_instruction.json');
const silent = { write: () => true };

describe('view over solve’s DFSDT answers', () => {
  let server: FakeOpenAI;
  let running: RunningView;
  let base: string;

  before(async () => {
    server = await startFakeOpenAI();
    // The assistant calls the first function, then gives up on its first branch and answers on the next.
    let finishes = 0;
    server.setDefault((body: FakeRequestBody) => {
      if (body.messages?.at(-1)?.role === 'tool') {
        finishes++;
        const answer =
          finishes === 1
            ? { return_type: 'give_up_and_restart' }
            : { return_type: 'give_answer', final_answer: 'Found it.' };
        return { toolCalls: [{ name: 'Finish', arguments: JSON.stringify(answer) }] };
      }
      const first = body.tools?.find((t) => t.function.name !== 'Finish');
      return {
        text: 'Let me look.',
        toolCalls: [{ name: first?.function.name ?? 'Finish', arguments: '{}' }],
      };
    });
    process.env.OPENAI_API_KEY ??= 'test-key';
    const dir = makeTempDir('toolalpaca-view-solve-');
    const out = join(dir, 'answers');
    const summary = await runSolveCommand(
      {
        tasks: TASKS,
        model: 'openai:fake-model',
        baseUrl: server.baseUrl,
        cache: false,
        maxRetries: '0',
        out,
        solver: 'dfsdt',
        limit: '1',
      },
      { stdout: silent, stderr: { write: () => true, isTTY: false }, cwd: dir, env: { CI: 'true' } },
    );
    assert.equal(summary.answered, 1);
    running = await startView([out], { port: '0' }, { stdout: silent, stderr: silent });
    await running.viewer.open();
    base = running.server.url;
  });
  after(async () => {
    await running?.stop();
    await server?.close();
  });

  test('the tree: the give-up, a backtrack, the chosen path to the answer, calls spent', async () => {
    const [file] = (await (await fetch(`${base}/api/files`)).json()) as FileInfo[];
    assert.equal(file?.kind, 'toolbench-answers');
    assert.equal(file?.count, 1);
    const list = (await (await fetch(`${base}/api/files/${file?.id}/list`)).json()) as ListResponse;
    assert.deepEqual(list.rows[0]?.facets.finish, ['give_answer']);
    const detail = (await (await fetch(`${base}/api/files/${file?.id}/items/0`)).json()) as ItemDetail;
    const tree = detail.tree;
    assert.ok(tree !== undefined);
    assert.equal(tree.chosenKind, 'answer');
    assert.equal(tree.stats.calls, server.chatRequests().length, 'model calls spent: every request made');
    assert.equal(tree.stats.giveUps, 1);
    assert.ok(tree.stats.backtracks >= 1, `backtracks ${tree.stats.backtracks}`);
    assert.equal(tree.stats.finishType, 'give_answer');
    const chosen = tree.nodes.filter((n) => n.chosen && n.id !== 0);
    assert.equal(chosen.at(-1)?.action, 'Finish');
    assert.ok(
      tree.nodes.some((n) => n.gaveUp && !n.chosen),
      'the give-up is off the chosen path',
    );
    assert.equal(detail.trajectory?.finalAnswer, 'Found it.');
  });
});
