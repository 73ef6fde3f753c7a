#!/usr/bin/env node
// Lists the longest functions of TypeScript sources, longest first, so long functions can be found and split.
// Usage: node scripts/function-lengths.mjs [--min N] [--top N] [PATH...]   (default: src, every function)
// A function is a declaration, method, arrow function or function expression; its length is its line span.
// Nested functions are listed on their own and also count in their parent's span.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

function usage(message) {
  process.stderr.write(`function-lengths: ${message}\n`);
  process.stderr.write('usage: node scripts/function-lengths.mjs [--min N] [--top N] [PATH...]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const options = { min: 0, top: Infinity, paths: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--min' || arg === '--top') {
      const value = Number(argv[++i]);
      if (!Number.isInteger(value) || value < 0) usage(`${arg} needs a non-negative integer`);
      options[arg.slice(2)] = value;
    } else if (arg.startsWith('--')) usage(`unknown option ${arg}`);
    else options.paths.push(arg);
  }
  if (options.paths.length === 0) options.paths.push('src');
  return options;
}

function sourceFiles(path) {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    usage(`no such file or folder: ${path}`);
  }
  if (!stat.isDirectory()) return /\.tsx?$/.test(path) && !path.endsWith('.d.ts') ? [path] : [];
  return readdirSync(path)
    .sort()
    .flatMap((entry) => sourceFiles(join(path, entry)));
}

function nameOf(node) {
  if (node.name !== undefined) return node.name.getText();
  // Arrow functions and function expressions take the name they are assigned to, if any.
  const parent = node.parent;
  if (
    ts.isVariableDeclaration(parent) ||
    ts.isPropertyAssignment(parent) ||
    ts.isPropertyDeclaration(parent)
  ) {
    return parent.name.getText();
  }
  if (ts.isCallExpression(parent)) return `<callback of ${parent.expression.getText().slice(0, 40)}>`;
  return '<anonymous>';
}

function functionsOf(file) {
  const text = readFileSync(file, 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found = [];
  const visit = (node) => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body !== undefined) {
      const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
      const end = source.getLineAndCharacterOfPosition(node.getEnd()).line + 1;
      found.push({ file, name: nameOf(node), start, lines: end - start + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

const options = parseArgs(process.argv.slice(2));
const all = options.paths
  .flatMap(sourceFiles)
  .flatMap(functionsOf)
  .filter((fn) => fn.lines >= options.min)
  .sort((a, b) => b.lines - a.lines || a.file.localeCompare(b.file))
  .slice(0, options.top);
for (const fn of all) {
  process.stdout.write(
    `${String(fn.lines).padStart(5)}  ${relative('.', fn.file)}:${fn.start}  ${fn.name}\n`,
  );
}
