/**
 * What each path given to `view` is, decided from its content (not its name): the head of the file is
 * enough for every kind, so a 2 GB corpus is classified without being read. Folders are an export (they
 * hold `export.json`), or are searched for files the viewer reads; their ToolBench answer files become one
 * source. The run schema and ToolAlpaca's judged-file importer are loaded only for the files that need
 * them (they pull in zod), so opening a corpus does not pay for them.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { describeFsError } from '../core/atomic-write.js';
import { InputError } from '../core/errors.js';
import { isRecord } from '../core/json-text.js';
import { readSlice } from './scan-json.js';
import { looksLikeToolEval } from './sources/tooleval.js';

/** Which reader opens the path. */
export type Reader =
  | 'toolalpaca'
  | 'generation-log'
  | 'run'
  | 'judged'
  | 'toolalpaca-judged'
  | 'toolbench-answers'
  | 'tooleval'
  | 'export'
  | 'sft-records'
  | 'tokens';

export interface Detected {
  reader: Reader;
  /** As given (or the file found inside a given folder). */
  path: string;
  absPath: string;
  /** Answer files of a ToolBench source. */
  files?: string[];
  /** A corpus whose head holds no instance (probably a tool file; the scan decides). */
  toolsOnly?: boolean;
}

const HEAD_BYTES = 256 * 1024;
/** Files up to this size are parsed whole when the head alone cannot tell. */
const PARSE_WHOLE_BYTES = 64 * 1024 * 1024;

export const VIEWABLE =
  'a ToolAlpaca corpus or tool file, a generation log, a run or judged file (ours or ToolAlpaca’s), ToolBench answers, ToolEval results or a training export';

function firstJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function jsonlReader(first: unknown): Reader | undefined {
  if (!isRecord(first)) return undefined;
  if (first.type === 'header' && isRecord(first.parameters)) {
    // The engine's journal names its run's kind; version-1 generation logs do not.
    if (first.kind === 'generate' || first.kind === 'eval-run') return 'generation-log';
    if (first.kind === undefined && typeof first.parameters.prompt === 'string') return 'generation-log';
    return undefined;
  }
  if (first.type === 'instance' && isRecord(first.instance)) return 'generation-log';
  if (first.type === 'task' && isRecord(first.output) && isRecord(first.output.instance))
    return 'generation-log';
  if (Array.isArray(first.input_ids) && Array.isArray(first.labels)) return 'tokens';
  if (Array.isArray(first.conversations) || Array.isArray(first.messages)) return 'sft-records';
  return undefined;
}

/** The reader of one file, or undefined when the viewer does not read it. */
export async function detectFile(path: string): Promise<Omit<Detected, 'path' | 'absPath'> | undefined> {
  const size = statSync(path).size;
  const head = readSlice(path, 0, Math.min(size, HEAD_BYTES));
  const body = head.replace(/^\uFEFF/, '').trimStart();
  if (body === '') return undefined;
  const newline = body.indexOf('\n');
  const firstLine = newline >= 0 ? body.slice(0, newline) : body;
  const rest = newline >= 0 ? body.slice(newline + 1).trimStart() : '';
  const first = firstLine.trim().startsWith('{') ? firstJson(firstLine) : undefined;
  if (path.endsWith('.jsonl') || (first !== undefined && /^[{[]/.test(rest))) {
    const reader = jsonlReader(first);
    return reader === undefined ? undefined : { reader };
  }
  const kind = /^\{\s*"kind"\s*:\s*"([^"]*)"/.exec(body)?.[1];
  if (kind !== undefined) {
    const { JUDGED_KIND, RUN_KIND } = await import('../core/run.js');
    if (kind === RUN_KIND) return { reader: 'run' };
    if (kind === JUDGED_KIND) return { reader: 'judged' };
  }
  if (body.startsWith('[')) {
    const second = body.slice(1).trimStart();
    if (second.startsWith('[')) return { reader: 'sft-records' };
    const record = /^\{\s*"([^"]*)"/.exec(second)?.[1];
    if (record === 'conversations' || record === 'messages' || record === 'id')
      return { reader: 'sft-records' };
    if (second.startsWith('{') || second.startsWith(']')) {
      return { reader: 'toolalpaca', toolsOnly: size <= HEAD_BYTES ? !head.includes('"Instances"') : false };
    }
    return undefined;
  }
  if (!body.startsWith('{')) return undefined;
  if (/"answer_generation"\s*:/.test(head) && /"(tree|win|forward_args|query_id)"\s*:/.test(head)) {
    return { reader: 'toolbench-answers' };
  }
  if (size > PARSE_WHOLE_BYTES) return undefined;
  const data = size <= HEAD_BYTES ? firstJson(head) : firstJson(readSlice(path, 0, size));
  if (!isRecord(data)) return undefined;
  if (isRecord(data.answer_generation)) return { reader: 'toolbench-answers' };
  if (looksLikeToolEval(data)) return { reader: 'tooleval' };
  if (typeof data.layout === 'string' && isRecord(data.files)) return { reader: 'export' };
  if (typeof data.Name === 'string')
    return { reader: 'toolalpaca', toolsOnly: !Array.isArray(data.Instances) };
  const { looksLikeToolAlpacaJudged } = await import('../eval/import/toolalpaca.js');
  if (looksLikeToolAlpacaJudged(data)) return { reader: 'toolalpaca-judged' };
  return undefined;
}

function walk(dir: string, out: string[]): void {
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
    a.name.localeCompare(b.name),
  )) {
    if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
    const full = join(dir, entry.name);
    if (entry.isDirectory()) walk(full, out);
    else if (entry.isFile() && /\.jsonl?$/i.test(entry.name)) out.push(full);
  }
}

/** Readers of a folder's files; ToolBench answer files grouped into one source named by the folder. */
async function detectFolder(given: string, abs: string): Promise<Detected[]> {
  const files: string[] = [];
  walk(abs, files);
  const answers: string[] = [];
  const out: Detected[] = [];
  for (const file of files) {
    let found: Awaited<ReturnType<typeof detectFile>>;
    try {
      found = await detectFile(file);
    } catch {
      continue;
    }
    if (found === undefined) continue;
    if (found.reader === 'toolbench-answers') answers.push(file);
    else if (found.reader === 'export')
      out.push({
        reader: 'export',
        path: join(given, dirname(file).slice(abs.length)),
        absPath: dirname(file),
      });
    else out.push({ ...found, path: join(given, file.slice(abs.length)), absPath: file });
  }
  if (answers.length > 0)
    out.unshift({ reader: 'toolbench-answers', path: given, absPath: abs, files: answers });
  // Files of an export are shown through the export, not on their own.
  const exports = out.filter((d) => d.reader === 'export').map((d) => `${d.absPath}/`);
  return out.filter((d) => d.reader === 'export' || !exports.some((prefix) => d.absPath.startsWith(prefix)));
}

/** Every source of the given paths; a path that is missing or holds nothing the viewer reads is an InputError. */
export async function detectPaths(
  paths: readonly string[],
  cwd: string = process.cwd(),
): Promise<Detected[]> {
  const out: Detected[] = [];
  for (const given of paths) {
    const abs = resolve(cwd, given);
    let isDirectory: boolean;
    try {
      isDirectory = statSync(abs).isDirectory();
    } catch (error) {
      throw new InputError(`view: ${given}: ${describeFsError(error)}`);
    }
    if (isDirectory) {
      if (existsSync(join(abs, 'export.json'))) {
        out.push({ reader: 'export', path: given, absPath: abs });
        continue;
      }
      const found = await detectFolder(given, abs);
      if (found.length === 0) throw new InputError(`view: ${given}: no file in this folder is ${VIEWABLE}`);
      out.push(...found);
      continue;
    }
    let found: Awaited<ReturnType<typeof detectFile>>;
    try {
      found = await detectFile(abs);
    } catch (error) {
      throw new InputError(`view: ${given}: ${describeFsError(error)}`);
    }
    if (found === undefined) throw new InputError(`view: ${given}: not ${VIEWABLE}`);
    if (found.reader === 'export') {
      out.push({ reader: 'export', path: dirname(given), absPath: dirname(abs) });
    } else if (found.reader === 'toolbench-answers') {
      out.push({ reader: 'toolbench-answers', path: given, absPath: abs, files: [abs] });
    } else {
      out.push({ ...found, path: given, absPath: abs });
    }
  }
  // The same file given twice (or inside two given folders) is opened once.
  const seen = new Set<string>();
  return out
    .filter((d) => {
      const key = `${d.reader}:${d.absPath}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .map((d) => ({ ...d, path: d.path === '' ? basename(d.absPath) : d.path }));
}
