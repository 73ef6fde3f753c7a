/**
 * `generate --kinds` through the compiled CLI against the fake server: a tool without instructions gets
 * instructions of the given kinds (as `instructions --kinds` writes them), one instance each; the kinds
 * are in the journal's header (a resume with other kinds is refused), the summary counts instances and
 * new instructions per kind; a bad list or kinds that would change nothing are one line and exit 2.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { registerGenerateCommand } from '../../src/cli/generate.js';
import { registerInstructionsCommand } from '../../src/cli/instructions.js';
import { readToolAlpacaFile } from '../../src/formats/toolalpaca-json.js';
import { runCliIn } from '../helpers/cli-process.js';
import { promptText, startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { makeTempDir, sharedData } from '../helpers/paths.js';

const SINGLE = 'Show me one random axolotl picture.';
const IRRELEVANT = 'Book me a flight to Mexico City next Friday.';

describe('generate --kinds', () => {
  let server: FakeOpenAI;
  let model: string[];
  let tools: string;
  let withInstructions: string;
  let dir: string;

  before(async () => {
    server = await startFakeOpenAI();
    server.setDefault((body) => {
      const text = promptText(body);
      const kind = /of the kind "([a-z-]+)"/.exec(text)?.[1];
      if (kind === 'single') return { text: JSON.stringify({ instructions: [SINGLE] }) };
      if (kind === 'irrelevance') return { text: JSON.stringify({ instructions: [IRRELEVANT] }) };
      const question = text.split('Question:').pop() ?? '';
      if (question.includes(SINGLE) && !question.includes('Observation:'))
        return { text: ' One picture.\nAction: getRandomAxolotlImage\nAction Input: {}' };
      if (question.includes(IRRELEVANT))
        return { text: ' No tool books flights.\nFinal Answer: I cannot book flights with my tools.' };
      return { text: ' Done.\nFinal Answer: Here is an axolotl picture.' };
    });
    model = ['--model', 'openai:fake-model', '--base-url', server.baseUrl, '--no-cache'];
    dir = makeTempDir();
    const records = await readToolAlpacaFile(sharedData('toolalpaca/eval_simulated.json'));
    const axolotl = records.find((r) => r.Name === 'Axolotl') ?? assert.fail('no Axolotl');
    const { Golden_Answers: _answers, ...tool } = axolotl;
    tools = join(dir, 'tools.json');
    writeFileSync(tools, JSON.stringify([{ ...tool, Instructions: [] }]));
    withInstructions = join(dir, 'with-instructions.json');
    writeFileSync(withInstructions, JSON.stringify([tool]));
  });
  after(async () => {
    await server.close();
  });

  const generate = (args: string[]) =>
    runCliIn(['generate', ...model, '--executor', 'schema', ...args], dir, 90_000);

  test('instructions of the given kinds, one instance each, counted; kinds in the header', async () => {
    const out = join(dir, 'corpus.json');
    const args = ['--tools', tools, '--kinds', 'single,irrelevance', '--per-tool', '2', '--out', out];
    const result = await generate([...args, '--json']);
    assert.equal(result.code, 0, result.stderr);
    const summary = JSON.parse(result.stdout) as {
      completed: number;
      kinds: Record<string, { completed: number; failed: number }>;
      instructionReports: { kinds?: Record<string, number> }[];
    };
    assert.equal(summary.completed, 2);
    assert.deepEqual(summary.kinds, {
      single: { completed: 1, failed: 0 },
      irrelevance: { completed: 1, failed: 0 },
    });
    assert.deepEqual(summary.instructionReports[0]?.kinds, { single: 1, irrelevance: 1 });
    assert.match(result.stderr, /instructions for "Axolotl": kept 2 \(single 1, irrelevance 1\), dropped 0/);

    const [record] = await readToolAlpacaFile(out);
    assert.deepEqual(record?.Instructions, [SINGLE, IRRELEVANT]);
    assert.deepEqual(
      record?.Instruction_Kinds?.map((spec) => spec?.kind),
      ['single', 'irrelevance'],
    );
    assert.deepEqual(
      record?.Instances?.map((instance) => [instance.kind, instance.intermediate_steps?.length]),
      [
        ['single', 1],
        ['irrelevance', 0],
      ],
    );
    const header = JSON.parse(readFileSync(`${out}.log.jsonl`, 'utf8').split('\n')[0] ?? '') as {
      parameters: { kinds?: unknown };
    };
    assert.deepEqual(header.parameters.kinds, ['single', 'irrelevance']);

    // A resume with the same kinds reuses the journaled instructions and kinds; the text summary counts them.
    const requests = server.chatRequests().length;
    const resumed = await generate([...args, '--resume']);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(server.chatRequests().length, requests);
    assert.match(resumed.stdout, /^kinds: single 1, irrelevance 1$/m);
    assert.deepEqual(
      (await readToolAlpacaFile(out))[0]?.Instances?.map((instance) => instance.kind),
      ['single', 'irrelevance'],
    );

    // Other kinds change the instances: the resume is refused, naming the parameter.
    const other = await generate([
      '--tools',
      tools,
      '--kinds',
      'single',
      '--per-tool',
      '2',
      '--out',
      out,
      '--resume',
    ]);
    assert.equal(other.code, 2, other.stderr);
    assert.match(other.stderr, /cannot resume .*other parameters \(.*kinds/);
  });

  test('a bad list, or kinds that would change nothing: one line, exit 2, nothing written', async () => {
    const requests = server.chatRequests().length;
    const bad = join(dir, 'bad.json');
    const unknown = await generate(['--tools', tools, '--kinds', 'single,sarcasm', '--out', bad]);
    assert.equal(unknown.code, 2);
    assert.equal(unknown.stderr.trim().split('\n').length, 1, unknown.stderr);
    assert.match(unknown.stderr, /--kinds: unknown kind "sarcasm"; expected one of single, multi-step/);
    const useless = await generate(['--tools', withInstructions, '--kinds', 'single', '--out', bad]);
    assert.equal(useless.code, 2);
    assert.equal(useless.stderr.trim().split('\n').length, 1, useless.stderr);
    assert.match(useless.stderr, /every tool has instructions/);
    assert.equal(existsSync(bad) || existsSync(`${bad}.log.jsonl`), false);
    assert.equal(server.chatRequests().length, requests);
  });

  test('generate and instructions share the option: the same help text', () => {
    const program = new Command();
    registerGenerateCommand(program);
    registerInstructionsCommand(program);
    const help = (name: string): string | undefined =>
      program.commands
        .find((command) => command.name() === name)
        ?.options.find((option) => option.long === '--kinds')?.description;
    assert.ok(
      help('generate')?.includes('single, multi-step, parallel, irrelevance, missing-info, multi-turn'),
    );
    assert.equal(help('generate'), help('instructions'));
  });
});
