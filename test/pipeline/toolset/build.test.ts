/**
 * The staged toolset build against the fake OpenAI server: scripted good, bad and repairable answers per
 * API, the side file of failures, provenance, resume after a torn log, and acceptance of the output by
 * the tools reader, the usability checks and the generation loader.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ToolProvenanceSchema } from '../../../src/core/catalog.js';
import { checkTool } from '../../../src/formats/tool-checks.js';
import { readToolAlpacaFile, recordToTool } from '../../../src/formats/toolalpaca-json.js';
import { createChatModel, type CreatedChatModel } from '../../../src/models/create-model.js';
import { loadGenerationTools } from '../../../src/pipeline/generate.js';
import { readCatalog } from '../../../src/pipeline/toolset/catalog-readers.js';
import { buildFiles, buildToolset, type BuildFailure } from '../../../src/pipeline/toolset/build.js';
import { selectEntries } from '../../../src/pipeline/toolset/select.js';
import { RunError } from '../../../src/run/index.js';
import { startFakeOpenAI, type FakeOpenAI } from '../../helpers/fake-openai-server.js';
import { makeTempDir, sharedData } from '../../helpers/paths.js';
import { toolsetResponder, type Behaviour } from './toolset-responder.js';

const CATALOG = sharedData('toolalpaca/public_apis.json');
const SELECTION = { seed: 11, limit: 9 };
const EVAL_KEYS = [
  'Name',
  'Description',
  'Link',
  'Category',
  'Introduction',
  'Functions',
  'Documentation',
  'NLDocumentation',
  'Function_Description',
  'Function_Projection',
];

describe('toolset build against the fake server', () => {
  let server: FakeOpenAI;
  let model: CreatedChatModel;
  let names: string[];

  before(async () => {
    server = await startFakeOpenAI();
    model = await createChatModel('openai:fake-model', {
      openai: { baseUrl: server.baseUrl, apiKey: 'test' },
      noCache: true,
      maxRetries: 0,
    });
    names = selectEntries(await readCatalog(CATALOG), SELECTION).map((e) => e.name);
  });
  after(async () => {
    await model.close();
    await server.close();
  });

  test('good, repairable and hopeless answers: built tools pass the checks, failures go to the side file', async () => {
    const n = names as [string, string, string, string, string, string, string, string, string];
    const behaviours: Record<string, Behaviour> = {
      [n[1]]: { documentation: ['prose', 'good'] },
      [n[2]]: { documentation: ['yaml'] },
      [n[3]]: { documentation: ['truncated', 'good'] },
      [n[4]]: { documentation: ['wrong-api', 'invalid', 'good'] },
      [n[5]]: { introduction: ['empty', 'good'], functions: ['json'] },
      [n[6]]: { documentation: ['prose'] },
      [n[7]]: { functions: ['bad'] },
      [n[8]]: { documentation: ['empty', 'empty', 'good'] },
    };
    const responder = toolsetResponder(behaviours);
    server.setDefault(responder.respond);
    const dir = makeTempDir();
    const out = join(dir, 'toolset.json');
    const progress: number[] = [];
    const summary = await buildToolset({
      catalogPath: CATALOG,
      out,
      model,
      selection: SELECTION,
      concurrency: 3,
      onProgress: (p) => progress.push(p.done),
    });
    assert.equal(summary.selected, 9);
    assert.equal(summary.built, 7);
    assert.equal(summary.failed, 2);
    assert.deepEqual(summary.failedByStage, { documentation: 1, functions: 1 });
    assert.equal(progress.at(-1), 9);

    const records = await readToolAlpacaFile(out);
    assert.deepEqual(
      records.map((r) => r.Name),
      names.filter((name) => name !== n[6] && name !== n[7]),
    );
    for (const record of records) {
      for (const key of EVAL_KEYS) assert.ok(key in record, `${record.Name} has ${key}`);
      assert.deepEqual(checkTool(await recordToTool(record)), [], record.Name);
      assert.ok(record.NLDocumentation?.includes('search'), record.Name);
      const provenance = ToolProvenanceSchema.parse(record.Provenance);
      assert.equal(provenance.model, 'openai:fake-model');
      assert.ok(provenance.stages.documentation.promptTokens > 0);
      assert.ok(provenance.stages.introduction.completionTokens > 0);
    }
    const byName = new Map(records.map((r) => [r.Name, ToolProvenanceSchema.parse(r.Provenance)]));
    assert.equal(byName.get(n[0])?.repairRounds, 0);
    assert.equal(byName.get(n[1])?.stages.documentation.repairs, 1);
    assert.deepEqual(byName.get(n[2])?.localFixes, ['yaml-to-json']);
    assert.equal(byName.get(n[2])?.repairRounds, 0);
    assert.equal(byName.get(n[3])?.stages.documentation.repairs, 1);
    assert.equal(byName.get(n[4])?.stages.documentation.repairs, 2);
    assert.equal(byName.get(n[5])?.stages.introduction.repairs, 1);
    assert.deepEqual(byName.get(n[5])?.localFixes, ['functions-json-to-text']);
    assert.equal(byName.get(n[8])?.stages.documentation.calls, 3);

    // The failures: the stage, the last error, the rounds (1 + 3 repairs = 4 calls).
    const failures = JSON.parse(readFileSync(buildFiles(out).failed, 'utf8')) as BuildFailure[];
    const prose = failures.find((f) => f.name === n[6]);
    assert.equal(prose?.stage, 'documentation');
    assert.equal(prose?.lastReplyKind, 'prose');
    assert.equal(prose?.repairRounds, 3);
    assert.match(prose?.error ?? '', /prose, not a JSON OpenAPI document/);
    assert.equal(responder.calls.get(`${n[6]}|documentation`), 4);
    const bad = failures.find((f) => f.name === n[7]);
    assert.equal(bad?.stage, 'functions');
    assert.match(bad?.error ?? '', /no functions found/);

    // The repair messages carry the errors and the stage marker; a truncated reply asks for brevity.
    const repairs = server.requests
      .map((r) => r.body.messages?.at(-1)?.content)
      .filter((c): c is string => typeof c === 'string' && c.startsWith('[toolset:repair:'));
    assert.ok(repairs.some((c) => c.includes('prose, not a JSON OpenAPI document')));
    assert.ok(repairs.some((c) => /cut off before it ended/.test(c)));
    assert.ok(repairs.some((c) => /describes a different API/.test(c)));
    assert.ok(repairs.some((c) => /has no description/.test(c)));

    // The generation stage accepts the output as it is.
    const loaded = await loadGenerationTools(out);
    assert.equal(loaded.tools.length, 7);
    assert.deepEqual(loaded.skipped, []);
    assert.ok(existsSync(`${out}.meta.json`));
  });

  test('resume after a crash: logged tools are kept, a torn line is dropped, nothing is built twice', async () => {
    const responder = toolsetResponder();
    server.setDefault(responder.respond);
    const dir = makeTempDir();
    const out = join(dir, 'toolset.json');
    const selection = { seed: 3, limit: 5 };
    const first = await buildToolset({
      catalogPath: CATALOG,
      out,
      model,
      selection: { ...selection },
      concurrency: 2,
    });
    assert.equal(first.built, 5);
    const log = buildFiles(out).log;
    const lines = readFileSync(log, 'utf8').trimEnd().split('\n');
    // A header, 5 tools and the end line.
    assert.equal(lines.length, 7);
    // Simulate a crash: keep the header and two tools, then half a line.
    const { writeFileSync } = await import('node:fs');
    writeFileSync(log, `${lines.slice(0, 3).join('\n')}\n`);
    appendFileSync(log, (lines[3] as string).slice(0, 40));
    const before = server.requests.length;
    await assert.rejects(
      buildToolset({ catalogPath: CATALOG, out, model, selection: { ...selection } }),
      (e: unknown) => e instanceof RunError && e.reason === 'log-exists',
    );
    await assert.rejects(
      buildToolset({ catalogPath: CATALOG, out, model, selection: { ...selection, limit: 6 }, resume: true }),
      /cannot resume .*selection/,
    );
    const resumed = await buildToolset({
      catalogPath: CATALOG,
      out,
      model,
      selection: { ...selection },
      resume: true,
    });
    assert.equal(resumed.resumed, 2);
    assert.equal(resumed.built, 5);
    // 3 tools × 3 stages rebuilt.
    assert.equal(server.requests.length - before, 9);
    const ids = readFileSync(log, 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; id?: string })
      .filter((l) => l.type === 'task')
      .map((l) => l.id);
    assert.equal(ids.length, 5);
    assert.equal(new Set(ids).size, 5);
    assert.equal((await readToolAlpacaFile(out)).length, 5);
  });

  test('an interruption stops new tools; what finished is written, the rest resumes', async () => {
    server.setDefault(toolsetResponder().respond);
    server.setLatency(30);
    try {
      const dir = makeTempDir();
      const out = join(dir, 'toolset.json');
      const controller = new AbortController();
      const summary = await buildToolset({
        catalogPath: CATALOG,
        out,
        model,
        selection: { limit: 6 },
        concurrency: 1,
        signal: controller.signal,
        onTool: () => controller.abort(),
      });
      assert.equal(summary.interrupted, true);
      // The first tool, and those that took the freed slot while its line was being written.
      assert.ok(summary.built >= 1 && summary.built < 6, String(summary.built));
      assert.equal(summary.notFinished, 6 - summary.built);
      const rest = await buildToolset({
        catalogPath: CATALOG,
        out,
        model,
        selection: { limit: 6 },
        resume: true,
      });
      assert.equal(rest.resumed, summary.built);
      assert.equal(rest.built, 6);
    } finally {
      server.setLatency(0);
    }
  });
});
