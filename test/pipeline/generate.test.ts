import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { makeTempDir, repoRoot, sharedData } from '../helpers/paths.js';
import { createChatModel, type CreatedChatModel } from '../../src/models/create-model.js';
import { createExecutor } from '../../src/executors/create-executor.js';
import type { ToolExecutor } from '../../src/executors/executor.js';
import { readToolAlpacaFile } from '../../src/formats/toolalpaca-json.js';
import { InstanceSchema, type ToolAlpacaRecord } from '../../src/core/toolalpaca-record.js';
import { RunError, readJournal } from '../../src/run/index.js';
import type { EpisodeInput, EpisodeOptions, EpisodeResult } from '../../src/agents/episode.js';
import { loadGenerationTools, runGeneration, type GenerationOptions } from '../../src/pipeline/generate.js';
import { planCalls, worldResponder } from './fake-agents.js';

const EVAL = sharedData('toolalpaca/eval_simulated.json');
const SPECS = join(repoRoot, 'examples', 'specs');

function logLines(path: string): Record<string, unknown>[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

function instanceIds(path: string): string[] {
  return logLines(path)
    .filter((l) => l.type === 'task')
    .map((l) => String(l.id));
}

/** A deterministic episode runner: one step, fails for instruction indexes in `failFor`. */
function fakeEpisodes(options: { failFor?: (input: EpisodeInput) => boolean; delayMs?: number } = {}) {
  const calls: string[] = [];
  const run = async (input: EpisodeInput, episode: EpisodeOptions): Promise<EpisodeResult> => {
    calls.push(input.instanceId);
    if (options.delayMs !== undefined) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, options.delayMs);
        episode.signal?.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      if (episode.signal?.aborted === true) {
        return {
          instance: { input: input.instruction, output: '', 'Final Thought': '', intermediate_steps: [] },
          status: 'failed',
          failure: { reason: 'aborted', message: 'aborted' },
          steps: 0,
          usage: { promptTokens: 0, completionTokens: 0, calls: 0 },
        };
      }
    }
    const fn = input.tool.functions[0]?.name ?? 'none';
    const instance = {
      input: input.instruction,
      output: `answer for ${input.instanceId}`,
      'Final Thought': 'done',
      intermediate_steps: [
        [[fn, '{}', `Thought: call\nAction: ${fn}\nAction Input: {}`], 'Status Code: 200. Response: {}'],
      ] as [string[], string][],
    };
    if (options.failFor?.(input) === true) {
      return {
        instance: { ...instance, output: '' },
        status: 'failed',
        failure: { reason: 'step_limit', message: 'no Final Answer within 1 steps' },
        steps: 1,
        usage: { promptTokens: 10, completionTokens: 5, calls: 1 },
      };
    }
    return {
      instance,
      status: 'completed',
      steps: 1,
      usage: { promptTokens: 10, completionTokens: 5, calls: 1 },
    };
  };
  return { run, calls };
}

const fakeModel = (id = 'openai:fake-model') => ({
  id,
  backend: 'openai' as const,
  chat: () => Promise.reject(new Error('no calls expected')),
});

describe('runGeneration with a scripted episode runner', () => {
  let executor: ToolExecutor;
  before(async () => {
    executor = await createExecutor('schema');
  });

  const base = (out: string, extra: Partial<GenerationOptions> = {}): GenerationOptions => ({
    toolsPath: EVAL,
    out,
    assistant: fakeModel(),
    executor,
    concurrency: 3,
    ...extra,
  });

  test('limit takes every tool first; output has every tool with Instances; log and meta are written', async () => {
    const dir = makeTempDir();
    const out = join(dir, 'out.json');
    const episodes = fakeEpisodes({ failFor: (i) => i.instanceId === 'AniAPI#0' });
    const summary = await runGeneration(base(out, { limit: 12, runEpisode: episodes.run }));
    assert.equal(summary.total, 12);
    assert.equal(summary.done, 12);
    assert.equal(summary.failed, 1);
    assert.deepEqual(summary.failedByReason, { step_limit: 1 });
    assert.equal(summary.completed, 11);
    const records = await readToolAlpacaFile(out);
    const source = await readToolAlpacaFile(EVAL);
    assert.deepEqual(
      records.map((r) => r.Name),
      source.map((r) => r.Name),
    );
    for (const record of records) {
      assert.ok(Array.isArray(record.Instances), record.Name);
      for (const instance of record.Instances ?? []) InstanceSchema.parse(instance);
      // Every tool kept its documentation and instructions.
      assert.equal(record.NLDocumentation, source.find((s) => s.Name === record.Name)?.NLDocumentation);
    }
    // Round robin: tools 1 and 2 got two instances (instructions 0 and 1, in order), the others one.
    const first = records[0] as ToolAlpacaRecord;
    assert.deepEqual(
      first.Instances?.map((i) => i.input),
      first.Instructions?.slice(0, 2),
    );
    assert.equal(records[2]?.Instances?.length, 1);
    // The failed instance is kept with its reason.
    const failed = records[1]?.Instances?.[0] as Record<string, unknown>;
    assert.equal(failed.status, 'failed');
    assert.deepEqual(failed.failure, { reason: 'step_limit', message: 'no Final Answer within 1 steps' });
    // Log: a header and 12 instance lines; meta with the parameters.
    const lines = logLines(`${out}.log.jsonl`);
    assert.equal(lines[0]?.type, 'header');
    assert.equal(instanceIds(`${out}.log.jsonl`).length, 12);
    const meta = JSON.parse(readFileSync(`${out}.meta.json`, 'utf8')) as {
      parameters: Record<string, string>;
      summary: { done: number };
      versions: { toolalpaca: unknown };
    };
    assert.equal(meta.parameters.model, 'openai:fake-model');
    assert.equal(meta.parameters.executor, 'schema');
    assert.equal(meta.parameters.prompt, 'train_v2');
    assert.match(meta.parameters.toolsHash ?? '', /^sha256:[0-9a-f]{64}$/);
    assert.equal(meta.summary.done, 12);
    assert.ok(typeof meta.versions.toolalpaca === 'string');
  });

  test('resume skips logged instances, ignores a torn last line, never duplicates', async () => {
    const dir = makeTempDir();
    const out = join(dir, 'out.json');
    const firstRun = fakeEpisodes();
    await runGeneration(base(out, { limit: 5, runEpisode: firstRun.run }));
    // A crash in the middle of a write leaves half a line.
    appendFileSync(`${out}.log.jsonl`, '{"type":"instance","instanceId":"Axol');
    const contents = await readJournal(`${out}.log.jsonl`);
    assert.equal(contents.tasks.size, 5);
    assert.ok(contents.tornBytes > 0);

    const second = fakeEpisodes();
    const summary = await runGeneration(base(out, { limit: 15, resume: true, runEpisode: second.run }));
    assert.equal(summary.resumed, 5);
    assert.equal(second.calls.length, 10);
    assert.ok(second.calls.every((id) => !firstRun.calls.includes(id)));
    const ids = instanceIds(`${out}.log.jsonl`);
    assert.equal(ids.length, 15);
    assert.equal(new Set(ids).size, 15);
    const records = await readToolAlpacaFile(out);
    assert.equal(
      records.reduce((n, r) => n + (r.Instances?.length ?? 0), 0),
      15,
    );
    // Resuming a finished run does nothing.
    const third = fakeEpisodes();
    await runGeneration(base(out, { limit: 15, resume: true, runEpisode: third.run }));
    assert.equal(third.calls.length, 0);
  });

  test('a log is not reused silently: other parameters are refused, --force starts over', async () => {
    const dir = makeTempDir();
    const out = join(dir, 'out.json');
    await runGeneration(base(out, { limit: 2, runEpisode: fakeEpisodes().run }));
    await assert.rejects(
      runGeneration(base(out, { limit: 2, runEpisode: fakeEpisodes().run })),
      (error: unknown) => error instanceof RunError && error.reason === 'log-exists' && error.exitCode === 2,
    );
    await assert.rejects(
      runGeneration(base(out, { limit: 2, resume: true, prompt: 'lean', runEpisode: fakeEpisodes().run })),
      (error: unknown) =>
        error instanceof RunError &&
        /cannot resume .*other parameters \(prompt "train_v2" → "lean"\)/.test(error.message) &&
        !error.message.includes('\n') &&
        !error.message.includes('--'),
    );
    await assert.rejects(
      runGeneration(
        base(out, {
          limit: 2,
          resume: true,
          assistant: fakeModel('openai:other'),
          runEpisode: fakeEpisodes().run,
        }),
      ),
      /model "openai:fake-model" → "openai:other"/,
    );
    const fresh = fakeEpisodes();
    const summary = await runGeneration(base(out, { limit: 3, force: true, runEpisode: fresh.run }));
    assert.equal(summary.resumed, 0);
    assert.equal(fresh.calls.length, 3);
    assert.equal(instanceIds(`${out}.log.jsonl`).length, 3);
  });

  test('interruption: nothing new starts, in-flight instances are cut after the grace period and rerun on resume', async () => {
    const dir = makeTempDir();
    const out = join(dir, 'out.json');
    const controller = new AbortController();
    const episodes = fakeEpisodes({ delayMs: 60_000 });
    const running = runGeneration(
      base(out, {
        limit: 10,
        concurrency: 2,
        signal: controller.signal,
        graceMs: 50,
        runEpisode: episodes.run,
      }),
    );
    // Both slots busy, then Ctrl-C.
    while (episodes.calls.length < 2) await new Promise((resolve) => setTimeout(resolve, 10));
    controller.abort();
    const summary = await running;
    assert.equal(summary.interrupted, true);
    assert.equal(episodes.calls.length, 2);
    assert.equal(summary.aborted, 2);
    assert.equal(summary.notStarted, 8);
    const records = await readToolAlpacaFile(out);
    const cut = records.flatMap((r) => r.Instances ?? []) as {
      status?: string;
      failure?: { reason: string };
    }[];
    assert.equal(cut.length, 2);
    assert.ok(cut.every((i) => i.status === 'failed' && i.failure?.reason === 'aborted'));
    assert.equal(instanceIds(`${out}.log.jsonl`).length, 0);
    const again = fakeEpisodes();
    const resumed = await runGeneration(base(out, { limit: 10, resume: true, runEpisode: again.run }));
    assert.equal(again.calls.length, 10);
    assert.equal(resumed.failed, 0);
  });

  test('OpenAPI specs without instructions: instructions are generated once, logged and reused on resume', async () => {
    const server = await startFakeOpenAI();
    try {
      const { tools } = await loadGenerationTools(SPECS);
      let instructionCalls = 0;
      server.setDefault(
        worldResponder(planCalls(tools.map((t) => t.tool)), {
          onRole: (role) => {
            if (role === 'instructions') instructionCalls++;
          },
        }),
      );
      const model = await createChatModel('openai:fake-model', {
        openai: { baseUrl: server.baseUrl, apiKey: 'k' },
        noCache: true,
      });
      const dir = makeTempDir();
      const out = join(dir, 'demo.json');
      const summary = await runGeneration({
        toolsPath: SPECS,
        out,
        assistant: model,
        executor,
        perTool: 2,
        limit: 3,
        runEpisode: fakeEpisodes().run,
      });
      await model.close();
      assert.equal(instructionCalls, 3);
      assert.equal(summary.instructionReports.length, 3);
      assert.ok(summary.instructionReports.every((r) => r.kept === 2));
      const records = await readToolAlpacaFile(out);
      assert.equal(records.length, 3);
      for (const record of records) {
        assert.equal(record.Instructions?.length, 2);
        assert.ok((record.NLDocumentation ?? '').length > 0);
        assert.equal(record.Instances?.length, 1);
      }
      // Resume with a larger limit: instructions come from the log (no new instruction request).
      const model2 = await createChatModel('openai:fake-model', {
        openai: { baseUrl: server.baseUrl, apiKey: 'k' },
        noCache: true,
      });
      const again = fakeEpisodes();
      await runGeneration({
        toolsPath: SPECS,
        out,
        assistant: model2,
        executor,
        perTool: 2,
        resume: true,
        runEpisode: again.run,
      });
      await model2.close();
      assert.equal(instructionCalls, 3);
      assert.equal(again.calls.length, 3);
      const final = await readToolAlpacaFile(out);
      assert.deepEqual(
        final.map((r) => r.Instances?.map((i) => i.input)),
        records.map((r) => r.Instructions),
      );
    } finally {
      await server.close();
    }
  });
});

describe('runGeneration with the real agents against the fake server (10 tools of eval_simulated.json)', () => {
  let server: FakeOpenAI;
  let model: CreatedChatModel;
  const roles: Record<string, number> = {};

  before(async () => {
    server = await startFakeOpenAI();
    const { tools } = await loadGenerationTools(EVAL);
    server.setDefault(
      worldResponder(planCalls(tools.map((t) => t.tool)), {
        onRole: (role) => {
          roles[role] = (roles[role] ?? 0) + 1;
        },
      }),
    );
    model = await createChatModel('openai:fake-model', {
      openai: { baseUrl: server.baseUrl, apiKey: 'k' },
      noCache: true,
    });
  });
  after(async () => {
    await model.close();
    await server.close();
  });

  for (const kind of ['schema', 'simulated'] as const) {
    test(`${kind} executor: every tool gets a completed instance with a real call`, async () => {
      for (const key of Object.keys(roles)) delete roles[key];
      const executor = await createExecutor(kind, kind === 'simulated' ? { simulated: { model } } : {});
      const dir = makeTempDir();
      const out = join(dir, 'out.json');
      const summary = await runGeneration({
        toolsPath: EVAL,
        out,
        assistant: model,
        user: model,
        executor,
        executorModel: kind === 'simulated' ? model.id : undefined,
        limit: 10,
        concurrency: 4,
        maxSteps: 4,
      });
      await executor.close?.();
      assert.equal(summary.done, 10);
      assert.equal(summary.completed, 10, JSON.stringify(summary.failedByReason));
      const records = await readToolAlpacaFile(out);
      assert.equal(records.length, 10);
      for (const record of records) {
        assert.equal(record.Instances?.length, 1, record.Name);
        const instance = InstanceSchema.parse(record.Instances?.[0]);
        assert.equal(instance.input, record.Instructions?.[0]);
        assert.match(instance.output ?? '', /Here is what I found/);
        const steps = instance.intermediate_steps ?? [];
        assert.equal(steps.length, 1, record.Name);
        const [[action, actionInput, fullText], observation] = steps[0] as [string[], string];
        assert.ok(
          Object.keys(record.Function_Description ?? {}).includes(action ?? ''),
          `${record.Name}: ${action}`,
        );
        assert.doesNotThrow(() => JSON.parse(actionInput ?? ''));
        assert.match(fullText ?? '', /Action:/);
        assert.match(observation, /^Status Code: 200/, `${record.Name}: ${observation}`);
      }
      assert.ok((roles.assistant ?? 0) >= 20, JSON.stringify(roles));
      if (kind === 'simulated') assert.ok((roles.executor ?? 0) >= 10, JSON.stringify(roles));
      else assert.equal(roles.executor ?? 0, 0);
      assert.ok(summary.promptTokens > 0);
      assert.equal(summary.meanSteps, 1);
    });
  }
});
