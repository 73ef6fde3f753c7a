/**
 * `toolalpaca toolset catalog | build | stats` through the compiled CLI, as a user runs them, with the
 * fake model server scripted per stage; the output then goes through `tools validate` and `generate`.
 * kill -9 during a build followed by --resume proves the durability claim.
 *
 * The group must be registered in src/cli/commands.ts; until it is, these tests are skipped (set
 * TOOLALPACA_TEST_CLI to a launcher that registers it to run them anyway).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeOpenAI, type FakeOpenAI, type FakeRequestBody } from '../helpers/fake-openai-server.js';
import type { RunCliResult } from '../helpers/cli.js';
import { loggedValues, runCliIn, startCli, waitUntil } from '../helpers/cli-process.js';
import { makeTempDir, repoRoot, sharedData } from '../helpers/paths.js';
import { readToolAlpacaFile } from '../../src/formats/toolalpaca-json.js';
import { loadGenerationTools } from '../../src/pipeline/generate.js';
import { readCatalog } from '../../src/pipeline/toolset/catalog-readers.js';
import { selectEntries } from '../../src/pipeline/toolset/select.js';
import { runCatalogCommand, runStatsCommand } from '../../src/cli/toolset.js';
import { planCalls, worldResponder } from '../pipeline/fake-agents.js';
import { toolsetResponder } from '../pipeline/toolset/toolset-responder.js';

const CATALOG = sharedData('toolalpaca/public_apis.json');

/** The compiled CLI in `cwd`, killed after `timeoutMs`. */
function cli(args: string[], cwd: string, timeoutMs = 90_000): Promise<RunCliResult> {
  return runCliIn(args, cwd, timeoutMs);
}

function loggedToolIds(path: string): string[] {
  return loggedValues(path, 'task', 'id');
}

/** Registered when a custom launcher is given, or when commands.ts registers the group. */
const registered =
  process.env.TOOLALPACA_TEST_CLI !== undefined ||
  readFileSync(join(repoRoot, 'src/cli/commands.ts'), 'utf8').includes('registerToolsetCommands');

test('catalog action: counts of the shared catalogue', async () => {
  let text = '';
  const summary = await runCatalogCommand(CATALOG, {}, { stdout: { write: (t: string) => (text += t) } });
  assert.equal(summary.entries, 1425);
  assert.equal(summary.categories, 51);
  assert.match(text, /^1425 entries in 51 categories\n/);
  assert.match(text, /\n {2}Development +120\n/);
  const animals = await runCatalogCommand(
    CATALOG,
    { category: ['animals'], https: 'yes' },
    { stdout: { write: () => true } },
  );
  assert.equal(animals.categories, 1);
  assert.equal(animals.byHttps.no, 0);
});

test('stats action: text report of the real evaluation toolset', async () => {
  let text = '';
  const stats = await runStatsCommand(
    [sharedData('toolalpaca/eval_real.json')],
    {},
    { stdout: { write: (t: string) => (text += t) } },
  );
  assert.equal(stats.tools, 11);
  assert.match(text, /^11 tools in \d+ categories, \d+ functions\n/);
  assert.match(text, /near-duplicate tools \(score >= 0\.6\): 0/);
});

describe(
  'toolset CLI',
  { skip: registered ? false : 'the toolset command group is not registered yet' },
  () => {
    let server: FakeOpenAI;
    let model: string[];
    let sample: string[];

    before(async () => {
      server = await startFakeOpenAI();
      model = ['--model', 'openai:fake-model', '--base-url', server.baseUrl, '--no-cache'];
      sample = selectEntries(await readCatalog(CATALOG), { seed: 5, limit: 6 }).map((e) => e.name);
    });
    after(async () => {
      await server.close();
    });

    test('catalog reports 1,425 entries and 51 categories', async () => {
      const result = await cli(['toolset', 'catalog', CATALOG, '--json'], makeTempDir());
      assert.equal(result.code, 0, result.stderr);
      const summary = JSON.parse(result.stdout) as {
        entries: number;
        categories: number;
        byHttps: { yes: number };
      };
      assert.equal(summary.entries, 1425);
      assert.equal(summary.categories, 51);
      assert.equal(summary.byHttps.yes, 1333);
    });

    test('build a sample with good, bad and repairable answers; the output validates and feeds generate', async () => {
      const [good, prose, truncated, hopeless] = sample as [string, string, string, string];
      void good;
      const builder = toolsetResponder({
        [prose]: { documentation: ['prose', 'good'] },
        [truncated]: { documentation: ['truncated', 'yaml'] },
        [hopeless]: { documentation: ['empty'] },
      });
      server.setDefault(builder.respond);
      const dir = makeTempDir();
      const out = join(dir, 'toolset.json');
      const result = await cli(
        [
          'toolset',
          'build',
          '--catalog',
          CATALOG,
          ...model,
          '--out',
          out,
          '--seed',
          '5',
          '--limit',
          '6',
          '--max-repairs',
          '2',
          '--json',
        ],
        dir,
      );
      assert.equal(result.code, 0, result.stderr);
      const summary = JSON.parse(result.stdout) as {
        built: number;
        failed: number;
        repaired: number;
        localFixes: Record<string, number>;
      };
      assert.equal(summary.built, 5);
      assert.equal(summary.failed, 1);
      assert.equal(summary.repaired, 2);
      assert.equal(summary.localFixes['yaml-to-json'], 1);
      assert.match(
        result.stderr,
        new RegExp(
          `failed: ${hopeless.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: documentation: the reply is empty`,
        ),
      );
      assert.match(result.stderr, /toolset build \[6\/6\]/);
      const failed = JSON.parse(readFileSync(join(dir, 'toolset.failed.json'), 'utf8')) as {
        name: string;
        repairRounds: number;
      }[];
      assert.deepEqual(
        failed.map((f) => [f.name, f.repairRounds]),
        [[hopeless, 2]],
      );

      const validate = await cli(['tools', 'validate', out], dir);
      assert.equal(validate.code, 0, validate.stdout + validate.stderr);
      assert.match(validate.stderr, /5 tools checked, no problems/);

      // generate: the fake world answers the agents for the built tools.
      const { tools } = await loadGenerationTools(out);
      const world = worldResponder(planCalls(tools.map((t) => t.tool)));
      server.setDefault((body: FakeRequestBody) => world(body));
      const corpus = join(dir, 'corpus.json');
      const generated = await cli(
        ['generate', '--tools', out, ...model, '--out', corpus, '--limit', '5', '--max-steps', '3', '--json'],
        dir,
      );
      assert.equal(generated.code, 0, generated.stderr);
      assert.equal((JSON.parse(generated.stdout) as { done: number }).done, 5);
      const records = await readToolAlpacaFile(corpus);
      assert.equal(records.filter((r) => (r.Instances ?? []).length > 0).length, 5);
    });

    test('kill -9 during a build, then --resume: every tool exactly once', async () => {
      server.setDefault(toolsetResponder().respond);
      server.setLatency(150);
      try {
        const dir = makeTempDir();
        const out = join(dir, 'toolset.json');
        const log = `${out}.log.jsonl`;
        const args = [
          'toolset',
          'build',
          '--catalog',
          CATALOG,
          ...model,
          '--out',
          out,
          '--per-category',
          '1',
          '--limit',
          '6',
          '--concurrency',
          '2',
        ];
        const { child, done } = startCli(args, dir);
        await waitUntil(() => loggedToolIds(log).length >= 2, 60_000, 25);
        child.kill('SIGKILL');
        assert.equal((await done).code, 137);
        const before = loggedToolIds(log);
        assert.ok(before.length >= 2 && before.length < 6, `killed after ${before.length} tools`);
        assert.equal(existsSync(out), false, 'no final output after a kill');

        server.setLatency(0);
        const again = await cli(args, dir);
        assert.equal(again.code, 2);
        assert.match(again.stderr, /^toolalpaca: .*--resume .*--force/);
        const resumed = await cli([...args, '--resume', '--json'], dir);
        assert.equal(resumed.code, 0, resumed.stderr);
        const summary = JSON.parse(resumed.stdout) as { resumed: number; built: number };
        assert.equal(summary.resumed, before.length);
        assert.equal(summary.built, 6);
        const ids = loggedToolIds(log);
        assert.equal(ids.length, 6);
        assert.equal(new Set(ids).size, 6);
        assert.deepEqual(ids.slice(0, before.length), before);
        const records = await readToolAlpacaFile(out);
        assert.equal(new Set(records.map((r) => r.Category)).size, 6);
      } finally {
        server.setLatency(0);
      }
    });

    test('stats on the shared simulated evaluation toolset', async () => {
      const result = await cli(
        ['toolset', 'stats', sharedData('toolalpaca/eval_simulated.json'), '--json'],
        makeTempDir(),
      );
      assert.equal(result.code, 0, result.stderr);
      const stats = JSON.parse(result.stdout) as {
        tools: number;
        functions: number;
        methods: Record<string, number>;
        nearDuplicates: unknown[];
      };
      assert.equal(stats.tools, 10);
      assert.ok(stats.functions > stats.tools);
      assert.ok((stats.methods.GET ?? 0) > 0);
      assert.deepEqual(stats.nearDuplicates, []);
    });

    test('unreadable input: one line, exit 2', async () => {
      const dir = makeTempDir();
      const badCategory = await cli(
        [
          'toolset',
          'build',
          '--catalog',
          CATALOG,
          ...model,
          '--out',
          join(dir, 'o.json'),
          '--category',
          'Nope',
        ],
        dir,
      );
      assert.equal(badCategory.code, 2);
      assert.match(badCategory.stderr, /^toolalpaca: --category: no category "Nope" in the catalogue\n$/);
    });
  },
);
