/**
 * Library messages name options, not flags: outside src/cli no string literal names a command-line
 * flag (`--resume`, `--base-url`...), read with the TypeScript compiler (comments are not literals, so
 * doc comments may still say which command does what). The exceptions are arguments of other programs
 * (a trainer's launcher, npm) and files still to be converted, each listed below with why. The CLI
 * words the library's reasons with its flags (src/cli/flag-wording.ts): every reason it words is raised
 * somewhere in the library.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { InputError, ServiceError } from '../../src/core/errors.js';
import { cliMessageOf, WORDED_REASONS } from '../../src/cli/flag-wording.js';
import { repoRoot } from '../helpers/paths.js';

/** A flag: `--name` at the start of a literal or after a space, bracket or quote. */
const FLAG = /(?:^|[\s(`'"[])(--[a-z][a-z0-9_-]*)/g;

interface Allowed {
  file: string;
  /** The flag as it appears in the literal. */
  flag: string;
  why: string;
}

const ALLOWED: Allowed[] = [
  { file: 'src/train/engines.ts', flag: '--config', why: "TRL's command line (`trl sft --config`)" },
  {
    file: 'src/train/engines.ts',
    flag: '--num_processes',
    why: "accelerate's command line in the multi-GPU launch",
  },
  {
    file: 'src/models/backends/llama.ts',
    flag: '--omit',
    why: 'an npm flag: how the optional node-llama-cpp was left out',
  },
  {
    file: 'src/export/dataset-card.ts',
    flag: '--no-toolalpaca-filters',
    why: 'text of the dataset card (not an error): how the export was made, for readers of the card',
  },
];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const full = join(dir, entry);
    if (statSync(full).isDirectory()) return entry === 'app' ? [] : sourceFiles(full);
    return entry.endsWith('.ts') ? [full] : [];
  });
}

/** Every string-literal piece of every library file: plain strings and the text parts of templates. */
function libraryLiterals(): { file: string; line: number; text: string; node: ts.Node; sf: ts.SourceFile }[] {
  const found: { file: string; line: number; text: string; node: ts.Node; sf: ts.SourceFile }[] = [];
  for (const path of sourceFiles(join(repoRoot, 'src'))) {
    const file = relative(repoRoot, path).split('\\').join('/');
    if (file.startsWith('src/cli/')) continue;
    const sf = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true);
    const visit = (node: ts.Node): void => {
      if (
        ts.isStringLiteral(node) ||
        ts.isNoSubstitutionTemplateLiteral(node) ||
        ts.isTemplateHead(node) ||
        ts.isTemplateMiddle(node) ||
        ts.isTemplateTail(node)
      ) {
        const line = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
        found.push({ file, line, text: node.text, node, sf });
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return found;
}

describe('library messages name no command-line flag', () => {
  const literals = libraryLiterals();

  test('no string literal outside src/cli names a flag, except the listed program arguments', () => {
    const used = new Set<Allowed>();
    const offenders: string[] = [];
    for (const { file, line, text } of literals) {
      for (const match of text.matchAll(FLAG)) {
        const flag = match[1]!;
        const allowed = ALLOWED.find((entry) => entry.file === file && entry.flag === flag);
        if (allowed !== undefined) used.add(allowed);
        else offenders.push(`${file}:${line}: ${flag} in ${JSON.stringify(text.slice(0, 100))}`);
      }
    }
    assert.deepEqual(
      offenders,
      [],
      'name the option or raise a reason the CLI words (src/cli/flag-wording.ts)',
    );
    const stale = ALLOWED.filter((entry) => !used.has(entry)).map((e) => `${e.file} ${e.flag}`);
    assert.deepEqual(stale, [], 'allow-list entries that no longer match anything');
  });

  test('the scan sees template pieces and plain strings, not comments', () => {
    const sf = ts.createSourceFile(
      'x.ts',
      '// use --resume\nconst a = `x ${1} then --force`; const b = "--out";',
      ts.ScriptTarget.Latest,
      true,
    );
    const texts: string[] = [];
    const visit = (node: ts.Node): void => {
      if (ts.isStringLiteral(node) || ts.isTemplateTail(node)) texts.push(node.text);
      ts.forEachChild(node, visit);
    };
    visit(sf);
    const flags = texts.flatMap((text) => [...text.matchAll(FLAG)].map((m) => m[1]));
    assert.deepEqual(flags, ['--force', '--out']);
  });

  test('every reason the CLI words is raised by the library (`reason: ...` outside src/cli)', () => {
    const raised = new Set<string>();
    for (const { text, node } of literals) {
      const parent = node.parent;
      if (parent !== undefined && ts.isPropertyAssignment(parent) && parent.name.getText() === 'reason') {
        raised.add(text);
      }
    }
    const missing = WORDED_REASONS.filter((reason) => !raised.has(reason));
    assert.deepEqual(missing, []);
  });

  test('the CLI words a reason with its flag and keeps other messages as they are', () => {
    const replay = new InputError('m: no response cache in /c; … (set `cacheDir`)', {
      details: { reason: 'no-replay-cache', model: 'replay:', cacheDir: '/c' },
    });
    assert.equal(
      cliMessageOf(replay),
      'replay:: no response cache in /c; replay answers only from a cache recorded by an earlier run (set --cache-dir)',
    );
    const train = new InputError('x', {
      details: { reason: 'engine-needs-layout', engine: 'trl', dataDir: 'd', layout: 'toolbench' },
    });
    assert.match(cliMessageOf(train), /^d: TRL reads .*export --format openai.*--template and --tokenizer/);
    // A reason without wording, or a plain error: the message as it is.
    assert.equal(cliMessageOf(new ServiceError('down', { details: { reason: 'other' } })), 'down');
    assert.equal(cliMessageOf(new Error('plain')), 'plain');
  });
});
