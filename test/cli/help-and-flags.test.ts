/**
 * One vocabulary of flags (issue 13): every command's help shows the defaults of its numeric and
 * choice options, and the shared flag names mean one thing in every command (--base-url the model
 * server, --api-base-url the real API, --replay-file for recorded observations, --max-tokens a reply
 * limit). The command tree is walked in-process; the defaults are also read from the built CLI's --help.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Command, Option } from 'commander';
import { buildProgram } from '../../src/cli/main.js';
import { runCli } from '../helpers/cli.js';

/** Every command of the tree (the program included) with its argv path. */
function allCommands(command: Command, path: string[] = []): { path: string; command: Command }[] {
  return [
    { path: path.join(' ') || '(program)', command },
    ...(command.commands as Command[]).flatMap((child) => allCommands(child, [...path, child.name()])),
  ];
}

/** Options a user sees in --help. */
function visibleOptions(command: Command): Option[] {
  return (command.options as Option[]).filter((option) => !option.hidden);
}

/** The option's line(s) in the command's --help, whitespace folded (long descriptions wrap). */
function helpLine(command: Command, option: Option): string {
  const help = command.createHelp();
  return `${help.optionTerm(option)} ${help.optionDescription(option)}`.replace(/\s+/g, ' ');
}

/**
 * Values a user supplies (a file, a folder, a URL, a model, a name): absent means "not used", so there
 * is no default to show. Numbers and choices (n, t, k, seconds, kind, layout, mode...) have one.
 */
const INPUT_PLACEHOLDER =
  /^[<[](file|dir|url|spec|name|names|label|text|token|path|name\|file)(\.\.\.)?[>\]]$/;

const commands = allCommands(await buildProgram());

describe('help shows every default', () => {
  test('an option with a commander default shows it in --help', () => {
    for (const { path, command } of commands) {
      for (const option of visibleOptions(command)) {
        if (option.defaultValue === undefined || option.negate || option.isBoolean()) continue;
        assert.match(helpLine(command, option), /[(,] ?default: /, `${path} ${option.flags}`);
      }
    }
  });

  test('every numeric or choice option says its default (or that there is none)', () => {
    const missing: string[] = [];
    for (const { path, command } of commands) {
      for (const option of visibleOptions(command)) {
        if (option.isBoolean() || option.negate || option.mandatory) continue;
        const placeholder = option.flags.split(' ').at(-1) ?? '';
        if (INPUT_PLACEHOLDER.test(placeholder)) continue;
        const line = helpLine(command, option);
        if (!/\bdefault\b/i.test(line)) missing.push(`${path}: ${line}`);
      }
    }
    assert.deepEqual(missing, []);
  });

  test('through the built CLI: --concurrency shows each command its own default', async () => {
    for (const [args, expected] of [
      [['generate'], '4'],
      [['eval', 'run'], '4'],
      [['solve'], '2'],
      [['chat'], 'no limit'],
    ] as const) {
      const result = await runCli([...args, '--help']);
      assert.equal(result.code, 0, result.stderr);
      const text = result.stdout.replace(/\s+/g, ' ');
      assert.match(
        text,
        new RegExp(`--concurrency <n> requests in flight at once \\(default ${expected}\\)`),
        args.join(' '),
      );
      assert.match(text, /--rpm <n> requests per minute \(default no limit\)/, args.join(' '));
    }
  });
});

describe('one meaning per flag across commands', () => {
  /** [command path, option] for every visible option named `long`. */
  function uses(long: string): { path: string; command: Command; option: Option }[] {
    return commands.flatMap(({ path, command }) =>
      visibleOptions(command)
        .filter((option) => option.long === long)
        .map((option) => ({ path, command, option })),
    );
  }

  test('--base-url is always the model server', () => {
    const found = uses('--base-url');
    assert.ok(
      found.some((u) => u.path === 'serve'),
      'serve takes the model server as --base-url',
    );
    for (const { path, option } of found) {
      assert.match(option.description, /OpenAI-compatible server/, path);
      assert.doesNotMatch(option.description, /real API|--executor real|tool's server/, path);
    }
  });

  test('--api-base-url is always the real API', () => {
    const found = uses('--api-base-url');
    for (const path of ['eval run', 'generate', 'serve', 'solve']) {
      assert.ok(
        found.some((u) => u.path === path),
        `${path} takes --api-base-url`,
      );
    }
    for (const { path, option } of found) {
      assert.match(option.description, /real/, path);
      assert.doesNotMatch(option.description, /OpenAI-compatible|model/, path);
    }
  });

  test('--replay-file everywhere recorded observations are read; no visible --replay', () => {
    const found = uses('--replay-file');
    for (const path of ['eval run', 'generate', 'serve', 'solve']) {
      assert.ok(
        found.some((u) => u.path === path),
        `${path} takes --replay-file`,
      );
    }
    for (const { path, option } of found) assert.match(option.description, /replay/, path);
    assert.deepEqual(
      uses('--replay').map((u) => u.path),
      [],
    );
  });

  test('--max-tokens is a reply limit wherever it appears', () => {
    const found = uses('--max-tokens');
    assert.ok(found.length > 0);
    for (const { path, option } of found) assert.match(option.description, /reply/, path);
    assert.ok(uses('--max-example-tokens').some((u) => u.path === 'export'));
  });

  test('--model is a model spec wherever it appears', () => {
    for (const { path, option } of uses('--model')) {
      assert.match(option.flags, /<spec>/, path);
      assert.match(option.description, /model/, path);
    }
  });

  test('the old names are refused in one line naming the new one (exit 2)', async () => {
    const refusals: [string[], RegExp][] = [
      [
        ['serve', '--tools', 'examples/specs', '--replay', 'x.jsonl'],
        /^toolalpaca: --replay is now --replay-file FILE$/,
      ],
      [
        ['serve', '--tools', 'examples/specs', '--executor-base-url', 'http://127.0.0.1:1'],
        /--executor-base-url is now --base-url URL \(the model server/,
      ],
      [
        ['export', '--data', 'x.json', '--format', 'openai', '--out', 'y', '--max-tokens', '5'],
        /--max-example-tokens/,
      ],
    ];
    for (const [args, message] of refusals) {
      const result = await runCli(args);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      const lines = result.stderr.trim().split('\n');
      assert.equal(lines.length, 1, result.stderr);
      assert.match(lines[0] ?? '', message);
    }
  });
});
