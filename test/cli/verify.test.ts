/**
 * `toolalpaca verify` through the compiled CLI: a corpus with injected defects has every defect caught at
 * its stage with its reason; ToolAlpaca-7B's judged solutions are not rejected beyond the checker's
 * measured disagreement with GPT-4; resume; generate → verify → export --only-verified end to end.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Instance, ToolAlpacaRecord } from '../../src/core/toolalpaca-record.js';
import { readToolAlpacaFile } from '../../src/formats/toolalpaca-json.js';
import { readResultsFile } from '../../src/eval/import/toolalpaca.js';
import { checkerAgreement } from '../../src/eval/agreement.js';
import { judgedCorpus } from '../../src/verify/judged-corpus.js';
import type { Verification } from '../../src/verify/reasons.js';
import type { VerificationSummary } from '../../src/verify/verify-run.js';
import { runCliIn } from '../helpers/cli-process.js';
import type { RunCliResult } from '../helpers/cli.js';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { makeTempDir, sharedData } from '../helpers/paths.js';
import { loadGenerationTools } from '../../src/pipeline/generate.js';
import { planCalls, worldResponder } from '../pipeline/fake-agents.js';

const EVAL = sharedData('toolalpaca/eval_simulated.json');
const JUDGED_7B = sharedData('toolalpaca/judged_ToolAlpaca-7B_simulated.json');

function cli(args: string[], cwd: string): Promise<RunCliResult> {
  return runCliIn(args, cwd, 90_000);
}

type VerifiedInstance = Instance & { verification?: Verification };

type VerifiedRecord = Omit<ToolAlpacaRecord, 'Instances'> & { Instances?: VerifiedInstance[] };

function readCorpus(path: string): VerifiedRecord[] {
  return JSON.parse(readFileSync(path, 'utf8')) as VerifiedRecord[];
}

const RATES = 'Status Code: 200. Response: {"base":"USD","rates":{"EUR":0.9132}}';
function step(action: string, input: string, observation: string): [string[], string] {
  return [[action, input, ` I call ${action}.\nAction: ${action}\nAction Input: ${input}`], observation];
}

/** Each injected defect, the instance carrying it, and the stage and reason it must be caught with. */
const DEFECTS: { name: string; instance: Instance; stage: string; code: string }[] = [
  {
    name: 'unknown function',
    instance: {
      input: 'Rates for USD?',
      output: '1 USD is 0.9132 EUR.',
      intermediate_steps: [step('getRates', '{"base": "USD"}', RATES)],
    },
    stage: 'format',
    code: 'unknown-function',
  },
  {
    name: 'unparseable input',
    instance: {
      input: 'Rates for USD?',
      output: '1 USD is 0.9132 EUR.',
      intermediate_steps: [step('getExchangeRates', '{base: USD', RATES)],
    },
    stage: 'format',
    code: 'unparseable-input',
  },
  {
    name: 'schema-breaking arguments',
    instance: {
      input: 'Convert 100 USD to EUR.',
      output: '100 USD is 91.32 EUR.',
      intermediate_steps: [
        step(
          'convertCurrency',
          '{"from": "USD", "to": "EUR", "amount": "a hundred"}',
          'Status Code: 200. Response: {"result": 91.32}',
        ),
      ],
    },
    stage: 'format',
    code: 'invalid-arguments',
  },
  {
    name: 'error observation followed by a confident answer',
    instance: {
      input: 'Rates for USD?',
      output: 'Here are the latest rates for USD.',
      intermediate_steps: [
        step('getExchangeRates', '{"base": "USD"}', 'Status Code: 503. Response: {"error": "down"}'),
      ],
    },
    stage: 'execution',
    code: 'confident-answer-after-error',
  },
  {
    name: 'irrelevance instance with a call',
    instance: {
      input: 'Book me a table for two tonight.',
      output: '1 USD is 0.9132 EUR.',
      intermediate_steps: [step('getExchangeRates', '{"base": "USD"}', RATES)],
      kind: 'irrelevance',
    },
    stage: 'format',
    code: 'irrelevance-called-tool',
  },
];

const SOUND: Instance = {
  input: 'Rates for USD?',
  output: '1 USD is 0.9132 EUR.',
  intermediate_steps: [step('getExchangeRates', '{"base": "USD"}', RATES)],
};

describe('verify CLI', () => {
  let dir: string;
  let oneForge: ToolAlpacaRecord;

  before(async () => {
    dir = makeTempDir('toolalpaca-cli-verify-');
    const records = await readToolAlpacaFile(EVAL);
    oneForge = records.find((r) => r.Name === '1Forge') as ToolAlpacaRecord;
  });

  test('injected defects: each caught at its stage with its reason; counts, report, resume', async () => {
    const corpus = join(dir, 'defects.json');
    const lone = { ...(oneForge as Record<string, unknown>), Name: 'Empty', Instances: [] };
    writeFileSync(
      corpus,
      JSON.stringify([{ ...oneForge, Instances: [SOUND, ...DEFECTS.map((d) => d.instance)] }, lone], null, 4),
    );
    const out = join(dir, 'defects.verified.json');
    const result = await cli(['verify', corpus, '--out', out, '--json'], dir);
    assert.equal(result.code, 0, result.stderr);
    const summary = JSON.parse(result.stdout) as VerificationSummary;
    assert.equal(summary.total, 6);
    assert.equal(summary.passed, 1);
    assert.equal(summary.failed, 5);
    assert.deepEqual(summary.byStage, { format: 4, execution: 1, semantic: 0 });
    assert.deepEqual(Object.keys(summary.byReason).sort(), DEFECTS.map((d) => d.code).sort());
    const written = readCorpus(out);
    assert.deepEqual(
      written.map((r) => r.Name),
      ['1Forge', 'Empty'],
      'a tool without instances is kept',
    );
    const instances = written[0]?.Instances ?? [];
    assert.deepEqual(instances[0]?.verification, { passed: true, stage: 'semantic', reasons: [] });
    for (const [i, defect] of DEFECTS.entries()) {
      const verification = instances[i + 1]?.verification;
      assert.equal(verification?.passed, false, defect.name);
      assert.equal(verification?.stage, defect.stage, defect.name);
      assert.deepEqual(
        verification?.reasons.map((r) => r.code),
        [defect.code],
        defect.name,
      );
      // ToolAlpaca's fields are unchanged.
      const { verification: _v, ...rest } = instances[i + 1] as VerifiedInstance;
      assert.deepEqual(rest, defect.instance);
    }
    const report = readFileSync(`${out}.verification.md`, 'utf8');
    for (const defect of DEFECTS) assert.match(report, new RegExp(`\`${defect.code}\``));
    assert.ok(existsSync(`${out}.log.jsonl`));
    assert.ok(!existsSync(`${out}.lock`));

    const text = await cli(['verify', corpus, '--out', out, '--resume'], dir);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /verified 6\/6 instances: 1 passed, 5 failed/);
    assert.match(text.stdout, /format\/unknown-function: 1/);
    assert.match(text.stdout, /execution\/confident-answer-after-error: 1/);
    assert.match(text.stdout, /resumed: 6 instances/);
    assert.deepEqual(readCorpus(out), written);

    const same = await cli(['verify', corpus, '--out', corpus], dir);
    assert.equal(same.code, 2);
    assert.match(same.stderr, /the corpus itself/);
  });

  test("ToolAlpaca-7B's judged solutions: no rejection of a GPT-4 'Yes' beyond the checker's disagreement", async () => {
    const results = await readResultsFile(JUDGED_7B);
    assert.equal(results.kind, 'judged');
    if (results.kind !== 'judged') return;
    const { records, labels } = judgedCorpus(results.judged, await readToolAlpacaFile(EVAL));
    const corpus = join(dir, 'judged-7b.json');
    writeFileSync(corpus, JSON.stringify(records));
    const out = join(dir, 'judged-7b.verified.json');
    const result = await cli(['verify', corpus, '--out', out, '--json'], dir);
    assert.equal(result.code, 0, result.stderr);
    // The checker's own disagreements with GPT-4 where GPT-4 said Yes.
    const explained = new Set(
      checkerAgreement(results.judged)
        .cases.filter((c) => c.reference === 'Yes' && c.predicted !== 'Yes')
        .map((c) => `${c.tool}#${c.index}`),
    );
    let yes = 0;
    const rejected: string[] = [];
    for (const [r, record] of readCorpus(out).entries()) {
      for (const [i, instance] of (record.Instances ?? []).entries()) {
        const label = labels[r]?.[i];
        if (label?.process !== 'Yes') continue;
        yes++;
        if (instance.verification?.passed !== true) {
          const id = `${label.tool}#${label.index}`;
          assert.ok(explained.has(id), `${id} rejected: ${JSON.stringify(instance.verification)}`);
          assert.deepEqual(
            instance.verification?.reasons.map((x) => x.code),
            ['process-incorrect'],
          );
          rejected.push(id);
        }
      }
    }
    assert.equal(yes, 63);
    assert.ok(rejected.length <= explained.size);
  });
});

describe('generate → verify → export --only-verified (fake server)', () => {
  let server: FakeOpenAI;
  let model: string[];

  before(async () => {
    server = await startFakeOpenAI();
    const { tools } = await loadGenerationTools(EVAL);
    server.setDefault(worldResponder(planCalls(tools.map((t) => t.tool))));
    model = ['--model', 'openai:fake-model', '--base-url', server.baseUrl, '--no-cache'];
  });
  after(async () => {
    await server.close();
  });

  test('generate --verify writes verification on every instance of its output, and counts', async () => {
    const dir = makeTempDir('toolalpaca-cli-generate-verify-');
    const out = join(dir, 'corpus.json');
    const result = await cli(
      [
        'generate',
        '--tools',
        EVAL,
        '--executor',
        'schema',
        ...model,
        '--out',
        out,
        '--limit',
        '3',
        '--max-steps',
        '4',
        '--verify',
        '--json',
      ],
      dir,
    );
    assert.equal(result.code, 0, result.stderr);
    const summary = JSON.parse(result.stdout) as { completed: number; verification: VerificationSummary };
    assert.equal(summary.verification.total, 3);
    assert.equal(summary.verification.verified, 3);
    const instances = readCorpus(out).flatMap((r) => r.Instances ?? []);
    assert.equal(instances.length, 3);
    for (const instance of instances) assert.equal(typeof instance.verification?.passed, 'boolean');
    assert.ok(existsSync(`${out}.verification.md`));
    assert.ok(existsSync(`${out}.verify.log.jsonl`));
    assert.ok(existsSync(`${out}.log.jsonl`));
    const bad = await cli(
      ['generate', '--tools', EVAL, ...model, '--out', join(dir, 'x.json'), '--judge', 'llm'],
      dir,
    );
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--judge and --judge-model apply with --verify/);
  });

  test('export writes only the instances verification passed; the journal verifies too', async () => {
    const dir = makeTempDir('toolalpaca-cli-verify-e2e-');
    // A toolset as generation sees it: instructions without standard answers (with them, the semantic
    // stage would judge the fake assistant's calls against ToolAlpaca's answers, and fail them).
    const toolsFile = join(dir, 'tools.json');
    const toolset = (await readToolAlpacaFile(EVAL)).map(({ Golden_Answers: _g, ...rest }) => rest);
    writeFileSync(toolsFile, JSON.stringify(toolset));
    const generated = join(dir, 'corpus.json');
    const gen = await cli(
      [
        'generate',
        '--tools',
        toolsFile,
        '--executor',
        'schema',
        ...model,
        '--out',
        generated,
        '--limit',
        '6',
        '--max-steps',
        '4',
      ],
      dir,
    );
    assert.equal(gen.code, 0, gen.stderr);
    // Inject a defect into one instance: a call of a function the tool does not have.
    const records = readCorpus(generated);
    const victim = records.find((r) => (r.Instances ?? []).length > 0) as ToolAlpacaRecord & {
      Instances: Instance[];
    };
    const broken = victim.Instances[0] as Instance;
    broken.intermediate_steps = [
      [
        ['noSuchFunction', '{}', ' I call it.\nAction: noSuchFunction\nAction Input: {}'],
        'Status Code: 200. Response: {}',
      ],
      ...(broken.intermediate_steps ?? []),
    ];
    const edited = join(dir, 'edited.json');
    writeFileSync(edited, JSON.stringify(records, null, 4));

    const verified = join(dir, 'verified.json');
    const ver = await cli(['verify', edited, '--out', verified, '--json'], dir);
    assert.equal(ver.code, 0, ver.stderr);
    const summary = JSON.parse(ver.stdout) as VerificationSummary;
    assert.equal(summary.total, 6);
    assert.ok(summary.byReason['unknown-function'] === 1, ver.stdout);
    assert.ok(summary.passed >= 1, ver.stdout);

    const exported = join(dir, 'export');
    const exp = await cli(
      [
        'export',
        '--data',
        verified,
        '--format',
        'openai',
        '--val-ratio',
        '0',
        '--only-verified',
        '--out',
        exported,
        '--json',
      ],
      dir,
    );
    assert.equal(exp.code, 0, exp.stderr);
    const lines = readFileSync(join(exported, 'train.jsonl'), 'utf8').trim().split('\n');
    const passedInputs = readCorpus(verified)
      .flatMap((r) => r.Instances ?? [])
      .filter((i) => i.verification?.passed === true)
      .map((i) => i.input);
    assert.equal(lines.length, passedInputs.length);
    assert.ok(
      !lines.some((line) => line.includes(broken.input.slice(0, 30))) || passedInputs.includes(broken.input),
    );

    // The generation journal is a corpus too: the same instances verify (none carries the injected defect).
    const fromJournal = join(dir, 'journal.verified.json');
    const jv = await cli(['verify', `${generated}.log.jsonl`, '--out', fromJournal, '--json'], dir);
    assert.equal(jv.code, 0, jv.stderr);
    const journalSummary = JSON.parse(jv.stdout) as VerificationSummary;
    assert.equal(journalSummary.total, 6);
    assert.equal(journalSummary.byReason['unknown-function'], undefined);
  });
});

describe('verify with an LLM judge (fake server)', () => {
  let server: FakeOpenAI;
  let oneForge: ToolAlpacaRecord;

  before(async () => {
    server = await startFakeOpenAI();
    oneForge = (await readToolAlpacaFile(EVAL)).find((r) => r.Name === '1Forge') as ToolAlpacaRecord;
  });
  after(async () => {
    await server.close();
  });

  test('K verdicts per instance: the majority decides, agreement recorded; a dead judge endpoint is exit 3 before any file', async () => {
    const dir = makeTempDir('toolalpaca-cli-verify-judge-');
    const convert: Instance = {
      input: 'Convert 100 USD to EUR.',
      output: '100 USD is 91.32 EUR.',
      intermediate_steps: [
        step(
          'convertCurrency',
          '{"from": "USD", "to": "EUR", "amount": 100}',
          'Status Code: 200. Response: {"result": 91.32}',
        ),
      ],
    };
    const corpus = join(dir, 'corpus.json');
    writeFileSync(corpus, JSON.stringify([{ ...oneForge, Instances: [SOUND, convert] }]));
    // The rates instance: Yes, Yes, No over seeds 0-2 (majority Yes, agreement 0.67); the conversion: always No.
    server.setDefault((body) => {
      const prompt = JSON.stringify(body.messages);
      const no = prompt.includes('Convert 100 USD') || body.seed === 2;
      return { text: `The answer is checked.\nVerdict: ${no ? 'No' : 'Yes'}` };
    });
    const out = join(dir, 'verified.json');
    const args = [
      'verify',
      corpus,
      '--out',
      out,
      '--judge-model',
      'openai:fake-model',
      '--base-url',
      server.baseUrl,
      '--no-cache',
      '--runs',
      '3',
    ];
    const result = await cli([...args, '--json'], dir);
    assert.equal(result.code, 0, result.stderr);
    const summary = JSON.parse(result.stdout) as VerificationSummary;
    assert.deepEqual([summary.passed, summary.failed, summary.byReason], [1, 1, { 'judge-rejected': 1 }]);
    const [rates, converted] = readCorpus(out)[0]?.Instances ?? [];
    assert.deepEqual(rates?.verification?.judge, {
      model: 'openai:fake-model',
      runs: 3,
      verdicts: ['Yes', 'Yes', 'No'],
      majority: 'Yes',
      agreement: 0.67,
    });
    assert.equal(rates?.verification?.passed, true);
    assert.deepEqual(
      converted?.verification?.reasons.map((r) => r.code),
      ['judge-rejected'],
    );
    assert.equal(server.chatRequests().length, 6);

    const deadOut = join(dir, 'dead.json');
    const dead = await cli(
      [
        'verify',
        corpus,
        '--out',
        deadOut,
        '--judge-model',
        'openai:fake-model',
        '--base-url',
        'http://127.0.0.1:9/v1',
        '--no-cache',
      ],
      dir,
    );
    assert.equal(dead.code, 3, dead.stderr);
    assert.equal(dead.stderr.trim().split('\n').length, 1, dead.stderr);
    assert.ok(!existsSync(deadOut) && !existsSync(`${deadOut}.log.jsonl`));
  });
});
