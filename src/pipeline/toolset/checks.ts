/**
 * The checks run on each stage's reply before the next stage starts. A failed check yields compact,
 * one-line errors for the repair prompt; some problems are fixed here without asking the model again
 * ("local fixes": YAML turned into JSON, servers taken from the catalogue link, the title set to the
 * API's name), and are recorded in the tool's provenance.
 */
import { parse as parseYaml } from 'yaml';
import type { CatalogEntry } from '../../core/catalog.js';
import { messageOf, oneLine } from '../../core/errors.js';
import { closingBracketIndex, isRecord } from '../../core/json-text.js';
import type { Tool } from '../../core/tool.js';
import type { ToolAlpacaRecord } from '../../core/toolalpaca-record.js';
import { deriveNlDocumentationFromText } from '../../formats/nl-documentation.js';
import { loadOpenApi, openApiToTool, validateOpenApi } from '../../formats/openapi.js';
import { pythonJsonDumps } from '../../formats/python-json.js';
import { checkTool } from '../../formats/tool-checks.js';
import type { FunctionSpec } from './functions-text.js';

/** At most this many errors go back to the model, each at most this long. */
export const MAX_REPAIR_ERRORS = 12;
const MAX_ERROR_LENGTH = 220;

/** Unique, one-line, length-capped errors; the rest summarised as "and N more". */
export function compactErrors(errors: readonly string[], max = MAX_REPAIR_ERRORS): string[] {
  const unique = [...new Set(errors.map((e) => oneLine(e, MAX_ERROR_LENGTH)))];
  if (unique.length <= max) return unique;
  return [...unique.slice(0, max), `and ${unique.length - max} more problems of the same kinds`];
}

export type ReplyKind = 'empty' | 'prose' | 'truncated' | 'yaml' | 'json' | 'wrong-api';

function stripFence(text: string): { body: string; fenced: boolean } {
  const fence = /```[a-zA-Z]*[ \t]*\n?([\s\S]*?)(```|$)/.exec(text);
  if (fence?.[1] !== undefined && text.includes('```')) return { body: fence[1].trim(), fenced: true };
  return { body: text.trim(), fenced: false };
}

export interface IntroductionCheck {
  ok: boolean;
  text: string;
  errors: string[];
}

/** An introduction is non-empty prose of a reasonable length. */
export function checkIntroduction(reply: string, truncated: boolean): IntroductionCheck {
  const text = reply
    .trim()
    .replace(/^(?:\*\*)?introduction(?:\*\*)?\s*:\s*/i, '')
    .trim();
  const errors: string[] = [];
  if (text === '') errors.push('the reply is empty');
  else if (/^[[{]/.test(text) || text.startsWith('```'))
    errors.push('expected plain prose, got code or JSON');
  else if (text.length < 40) errors.push('the introduction is too short (write at least two sentences)');
  if (truncated && text !== '') errors.push('the reply was cut off; keep it under 250 words');
  return { ok: errors.length === 0, text, errors };
}

export interface SpecExtraction {
  kind: ReplyKind;
  spec?: Record<string, unknown>;
  error?: string;
}

function looksLikeSpec(value: unknown): value is Record<string, unknown> {
  return isRecord(value) && ('openapi' in value || 'swagger' in value || 'paths' in value);
}

/**
 * The spec object in a Documentation reply, or what kind of unusable reply it is: empty, prose, cut off
 * (truncated JSON, or the backend stopped at its length limit), or YAML (accepted, marked for a local fix).
 */
export function extractSpec(reply: string, finishedByLength: boolean): SpecExtraction {
  const { body } = stripFence(reply);
  if (body === '') return { kind: 'empty', error: 'the reply is empty' };
  const start = body.indexOf('{');
  if (start !== -1) {
    const end = closingBracketIndex(body, start);
    if (end >= 0) {
      try {
        const value = JSON.parse(body.slice(start, end + 1)) as unknown;
        if (looksLikeSpec(value)) return { kind: 'json', spec: value };
        if (start === 0) {
          return { kind: 'json', error: 'the JSON is not an OpenAPI document (no "openapi" or "paths")' };
        }
      } catch (error) {
        if (start === 0) return { kind: 'json', error: oneLine(`invalid JSON: ${messageOf(error)}`, 160) };
      }
    } else if (end === -1 && start < 80) {
      // The object opened near the start never closes: the model stopped mid-spec.
      return {
        kind: 'truncated',
        error: 'the JSON is cut off before its end (truncated): the spec is incomplete',
      };
    }
  }
  if (finishedByLength) {
    return { kind: 'truncated', error: 'the reply hit the length limit before the spec was complete' };
  }
  // YAML: parse leniently; only an object that looks like a spec counts.
  try {
    const value = parseYaml(body) as unknown;
    if (looksLikeSpec(value)) return { kind: 'yaml', spec: value };
  } catch {
    // not YAML either
  }
  return { kind: 'prose', error: 'the reply is prose, not a JSON OpenAPI document' };
}

function words(text: string): Set<string> {
  return new Set(
    text
      .replace(/([a-z])([A-Z])/g, '$1 $2')
      .toLowerCase()
      .split(/[^\p{L}\p{N}]+/u)
      .filter((w) => w.length > 1 && !['api', 'the', 'of', 'and', 'for'].includes(w)),
  );
}

/** True when a title plausibly names the API (shared words, or one contains the other). */
export function titleMatches(title: string, name: string): boolean {
  const a = title.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, '');
  const b = name.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, '');
  if (a === '' || b === '') return false;
  if (a.includes(b) || b.includes(a)) return true;
  const x = words(title);
  for (const w of words(name)) if (x.has(w)) return true;
  return false;
}

export interface DocumentationCheck {
  ok: boolean;
  kind: ReplyKind;
  errors: string[];
  localFixes: string[];
  /** Set when ok: the spec as JSON text (Python's json.dumps layout) and the tool read from it. */
  documentation?: string;
  tool?: Tool;
}

/**
 * Checks a Documentation reply: it holds an OpenAPI 3.0 document for this API, the document validates,
 * the tool read from it passes the usability checks, and its operations are exactly the functions.
 */
export async function checkDocumentation(
  reply: string,
  finishedByLength: boolean,
  entry: CatalogEntry,
  functions: readonly FunctionSpec[],
): Promise<DocumentationCheck> {
  const extraction = extractSpec(reply, finishedByLength);
  const localFixes: string[] = [];
  const fail = (kind: ReplyKind, errors: string[]): DocumentationCheck => ({
    ok: false,
    kind,
    errors: compactErrors(errors),
    localFixes,
  });
  if (extraction.spec === undefined) return fail(extraction.kind, [extraction.error ?? 'no spec']);
  if (extraction.kind === 'yaml') localFixes.push('yaml-to-json');
  const spec = structuredClone(extraction.spec);

  const version =
    typeof spec.openapi === 'string' || typeof spec.openapi === 'number' ? String(spec.openapi) : '';
  if (!/^3\.0(\.\d+)?$/.test(version)) {
    return fail(extraction.kind, [
      spec.swagger !== undefined
        ? 'this is Swagger 2.0; write OpenAPI 3.0 ("openapi": "3.0.0")'
        : `"openapi" must be "3.0.0" (got ${version === '' ? 'nothing' : JSON.stringify(version)})`,
    ]);
  }

  // A spec for another API: neither its title nor its operations match.
  const info = isRecord(spec.info) ? spec.info : undefined;
  const title = typeof info?.title === 'string' ? info.title : '';
  const operationIds = new Set<string>();
  if (isRecord(spec.paths)) {
    for (const item of Object.values(spec.paths)) {
      if (!isRecord(item)) continue;
      for (const op of Object.values(item)) {
        if (isRecord(op) && typeof op.operationId === 'string') operationIds.add(op.operationId);
      }
    }
  }
  const functionNames = new Set(functions.map((f) => f.name));
  const sharedOps = [...operationIds].filter((id) => functionNames.has(id)).length;
  if (!titleMatches(title, entry.name)) {
    if (sharedOps === 0) {
      return fail('wrong-api', [
        `the spec describes a different API (title ${JSON.stringify(title)}, operations ${[...operationIds].slice(0, 4).join(', ') || 'none'}); write the spec of "${entry.name}" with the listed functions`,
      ]);
    }
    if (info !== undefined) info.title = entry.name;
    else spec.info = { title: entry.name, version: '1.0.0', description: entry.description };
    localFixes.push('title-set-to-name');
  }

  // ToolAlpaca adds the catalogue link as the server when the spec has none.
  const servers = Array.isArray(spec.servers) ? spec.servers : [];
  const hasUrl = servers.some((s) => isRecord(s) && typeof s.url === 'string' && s.url.trim() !== '');
  if (!hasUrl && entry.link !== '') {
    spec.servers = [{ url: entry.link }];
    localFixes.push('servers-from-link');
  }

  const errors: string[] = [];
  for (const problem of await validateOpenApi(spec)) errors.push(`OpenAPI: ${problem}`);

  let tool: Tool | undefined;
  try {
    const loaded = await loadOpenApi(spec, `${entry.name} Documentation`);
    tool = openApiToTool(loaded, { name: entry.name });
  } catch (error) {
    errors.push(messageOf(error));
  }
  if (tool !== undefined) {
    for (const problem of checkTool(tool)) {
      errors.push(
        problem.function === undefined
          ? problem.message
          : `operation ${problem.function}: ${problem.message}`,
      );
    }
    const ops = new Set(tool.functions.filter((f) => !f.nameDerived).map((f) => f.name));
    for (const name of functionNames) {
      if (!ops.has(name)) errors.push(`function ${name} has no operation (operationId "${name}")`);
    }
    for (const op of ops) {
      if (!functionNames.has(op))
        errors.push(`operation ${op} is not in the Functions list; remove it or rename it`);
    }
  }
  if (errors.length > 0) return fail(extraction.kind, errors);
  return {
    ok: true,
    kind: extraction.kind,
    errors: [],
    localFixes,
    documentation: pythonJsonDumps(spec),
    ...(tool !== undefined ? { tool } : {}),
  };
}

/** The ToolAlpaca record of a built tool, with the NL documentation derived from its spec. */
export function buildRecord(
  entry: CatalogEntry,
  name: string,
  introduction: string,
  functionsText: string,
  documentation: string,
  provenance: Record<string, unknown>,
): ToolAlpacaRecord {
  const derived = deriveNlDocumentationFromText(documentation, { label: `tool "${name}" Documentation` });
  return {
    Name: name,
    Description: entry.description,
    Link: entry.link,
    Category: entry.category,
    Introduction: introduction,
    Functions: functionsText,
    Documentation: documentation,
    NLDocumentation: derived.NLDocumentation,
    Function_Description: derived.Function_Description,
    Function_Projection: derived.Function_Projection,
    Provenance: provenance,
  };
}
