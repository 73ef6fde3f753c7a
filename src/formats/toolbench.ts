/**
 * ToolBench / StableToolBench query files → tasks in the project's tool model, and ToolBench answer files.
 *
 * Naming follows ToolBench's rapidapi environment: a function is `{api}_for_{tool}` where both parts go
 * through `standardize` (non-word characters → `_`, runs of `_` collapsed, lower case, leading digits get
 * `get_`) and the API part through `change_name` (Python keywords such as `from`, `id` → `is_from`,
 * `is_id`); ToolBench keeps the last 64 characters. Names that still collide inside one task (the cut
 * can make two long names equal) get `_2`, `_3`... before `_for_`. Parameter types map as ToolBench maps
 * them: NUMBER → integer, BOOLEAN → boolean, anything else → string.
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { describeFsError, readJsonFile, writeFileAtomic } from '../core/atomic-write.js';
import { InputError, oneLine } from '../core/errors.js';
import type { RunFile, RunItem, RunStep } from '../core/run.js';
import { openApiToTool, readOpenApiPath } from './openapi.js';
import { RUN_FORMAT_VERSION, RUN_KIND } from '../core/run.js';
import { httpBindingOf, httpFunction, httpViewOf } from '../core/http-binding.js';
import { isRecord } from '../core/json-text.js';
import type { HttpMethod, JsonSchema, Tool, ToolFunction, ToolParameter } from '../core/tool.js';
import { HttpMethodSchema, ToolSchema } from '../core/tool.js';
import {
  type AnswerFunction,
  type AnswerMessage,
  FINISH_FUNCTION_NAME,
  type RawToolBenchApi,
  type RawToolBenchParameter,
  type RawToolBenchQuery,
  RawToolBenchQuerySchema,
  TOOLBENCH_TASKS_KIND,
  type TaskApi,
  type ToolBenchAnswerRecord,
  ToolBenchAnswerSchema,
  type ToolBenchTask,
  ToolBenchTasksFileSchema,
} from '../core/toolbench.js';

export const MAX_FUNCTION_NAME_LENGTH = 64;
/** ToolBench cuts function and parameter descriptions to this many characters. */
export const DESCRIPTION_MAX_LENGTH = 256;

const RESERVED_NAMES = new Set(['from', 'class', 'return', 'false', 'true', 'id', 'and']);

/**
 * ToolBench's `standardize`: characters other than ASCII letters, digits, `_`, CJK ideographs (and `^`,
 * which their character class keeps by accident) become `_`; runs of `_` collapse; lower case; no
 * leading/trailing `_`; a leading digit gets `get_`.
 */
export function standardize(text: string): string {
  let out = text.replace(/[^\u4e00-\u9fa5a-zA-Z0-9_^]/g, '_');
  out = out.replace(/_{2,}/g, '_').toLowerCase();
  out = out.replace(/^_+/, '').replace(/_+$/, '');
  if (out.length > 0 && /^[0-9]/.test(out)) out = `get_${out}`;
  return out;
}

/** ToolBench's `change_name`: names that are Python keywords (and `id`) get an `is_` prefix. */
export function changeName(name: string): string {
  return RESERVED_NAMES.has(name) ? `is_${name}` : name;
}

/** `{change_name(standardize(api))}_for_{standardToolName}`, last 64 characters (ToolBench's `[-64:]`). */
export function toolbenchFunctionName(apiName: string, standardToolName: string): string {
  return `${changeName(standardize(apiName))}_for_${standardToolName}`.slice(-MAX_FUNCTION_NAME_LENGTH);
}

/** A name not in `used`: `{api}_for_{tool}`, else `{api}_2_for_{tool}`, `{api}_3_for_{tool}`... (≤ 64). */
export function uniqueFunctionName(
  apiName: string,
  standardToolName: string,
  used: ReadonlySet<string>,
): string {
  const first = toolbenchFunctionName(apiName, standardToolName);
  if (!used.has(first)) return first;
  const base = changeName(standardize(apiName));
  for (let n = 2; ; n++) {
    const suffix = `_${n}`;
    let name = `${base}${suffix}_for_${standardToolName}`.slice(-MAX_FUNCTION_NAME_LENGTH);
    // A tool name of 60+ characters cuts the suffix away: put it at the very end instead.
    if (!name.includes(`${suffix}_for_`))
      name = `${first.slice(0, MAX_FUNCTION_NAME_LENGTH - suffix.length)}${suffix}`;
    if (!used.has(name)) return name;
  }
}

/** ToolBench's type mapping of RapidAPI parameter types. */
export function mapParameterType(type: string | undefined): 'integer' | 'string' | 'boolean' {
  if (type === 'NUMBER') return 'integer';
  if (type === 'BOOLEAN') return 'boolean';
  return 'string';
}

/** `https://{tool}.p.rapidapi.com`, the RapidAPI host pattern. */
export function rapidApiServer(standardToolName: string): string {
  const host = standardToolName.replace(/_/g, '-').replace(/[^a-z0-9-]/g, '') || 'api';
  return `https://${host}.p.rapidapi.com`;
}

export interface ConvertOptions {
  /** Group label stored on each task, e.g. "G1_instruction". */
  group?: string;
  /** Names the input in error messages. */
  label?: string;
}

interface ToolDraft {
  tool: Tool;
  doc: Record<string, unknown>;
  paths: Record<string, unknown>;
  usedPaths: Set<string>;
}

/** The function description as ToolBench writes it for the model. */
function functionDescription(api: RawToolBenchApi, standardToolName: string, functionName: string): string {
  let text = `This is the subfunction for tool "${standardToolName}", you can use this tool.`;
  const raw = (api.api_description ?? '').trim();
  if (raw !== '') {
    const replaced = api.api_name === '' ? raw : raw.split(api.api_name).join(functionName);
    text += `The description of this function is: "${replaced.slice(0, DESCRIPTION_MAX_LENGTH)}"`;
  }
  return text;
}

function parametersOf(api: RawToolBenchApi): { params: ToolParameter[]; original: Record<string, string> } {
  const params: ToolParameter[] = [];
  const original: Record<string, string> = {};
  const used = new Set<string>();
  const add = (p: RawToolBenchParameter, required: boolean): void => {
    let name = changeName(standardize(p.name)) || 'param';
    for (let n = 2; used.has(name); n++) name = `${changeName(standardize(p.name)) || 'param'}_${n}`;
    used.add(name);
    original[name] = p.name;
    const schema: JsonSchema = { type: mapParameterType(p.type) };
    const example = p.default;
    if (example !== undefined && example !== null && String(example).length > 0) schema.example = example;
    const description = (p.description ?? '').slice(0, DESCRIPTION_MAX_LENGTH);
    params.push({ name, in: 'query', required, ...(description !== '' ? { description } : {}), schema });
  };
  for (const p of api.required_parameters ?? []) add(p, true);
  for (const p of api.optional_parameters ?? []) add(p, false);
  return { params, original };
}

function methodOf(method: string | undefined): HttpMethod {
  const parsed = HttpMethodSchema.safeParse((method ?? 'get').toLowerCase());
  return parsed.success ? parsed.data : 'get';
}

/** A new tool for the API's (category, tool name): a unique standard name, RapidAPI's server and key. */
function newToolDraft(api: RawToolBenchApi, toolKey: string, usedToolNames: Map<string, string>): ToolDraft {
  const category = api.category_name ?? '';
  let standardName = standardize(api.tool_name) || 'tool';
  for (let n = 2; usedToolNames.has(standardName) && usedToolNames.get(standardName) !== toolKey; n++) {
    standardName = `${standardize(api.tool_name) || 'tool'}_${n}`;
  }
  usedToolNames.set(standardName, toolKey);
  const server = rapidApiServer(standardName);
  const paths: Record<string, unknown> = {};
  const doc: Record<string, unknown> = {
    openapi: '3.0.3',
    info: {
      title: standardName,
      version: '1.0.0',
      ...(category !== '' ? { 'x-category': category } : {}),
      'x-toolbench': { category, toolName: api.tool_name, standardToolName: standardName },
    },
    servers: [{ url: server }],
    paths,
    components: {
      securitySchemes: { RapidAPIKey: { type: 'apiKey', in: 'header', name: 'X-RapidAPI-Key' } },
    },
    security: [{ RapidAPIKey: [] }],
  };
  return {
    tool: {
      name: standardName,
      description: '',
      ...(category !== '' ? { category } : {}),
      auth: [{ name: 'RapidAPIKey', type: 'apiKey', in: 'header', parameterName: 'X-RapidAPI-Key' }],
      servers: [server],
      functions: [],
      openapi: doc,
    },
    doc,
    paths,
    usedPaths: new Set(),
  };
}

/**
 * The OpenAPI operation of one function. It keeps what the tool model has no field for: the template
 * response (the simulated executor's example), the original names and the raw description.
 */
function rawOperationOf(
  api: RawToolBenchApi,
  functionName: string,
  description: string,
  { params, original }: ReturnType<typeof parametersOf>,
): Record<string, unknown> {
  return {
    operationId: functionName,
    summary: api.api_name,
    description,
    ...(params.length > 0
      ? {
          parameters: params.map((p) => ({
            name: p.name,
            in: p.in,
            required: p.required,
            ...(p.description !== undefined ? { description: p.description } : {}),
            schema: p.schema,
            ...(original[p.name] !== p.name ? { 'x-original-name': original[p.name] } : {}),
          })),
        }
      : {}),
    responses: { '200': { description: 'OK', content: { 'application/json': {} } } },
    ...(api.template_response !== undefined ? { 'x-template-response': api.template_response } : {}),
    'x-toolbench': {
      category: api.category_name ?? '',
      toolName: api.tool_name,
      apiName: api.api_name,
      apiDescription: api.api_description ?? '',
    },
  };
}

/** Adds the API to its tool as a function (unique function name and path) and its OpenAPI operation. */
function addFunction(draft: ToolDraft, api: RawToolBenchApi, usedFunctions: Set<string>): TaskApi {
  const standardToolName = draft.tool.name;
  const functionName = uniqueFunctionName(api.api_name, standardToolName, usedFunctions);
  usedFunctions.add(functionName);
  const apiBase = changeName(standardize(api.api_name)) || 'api';
  let path = `/${apiBase}`;
  for (let n = 2; draft.usedPaths.has(path); n++) path = `/${apiBase}_${n}`;
  draft.usedPaths.add(path);
  const method = methodOf(api.method);
  const parameters = parametersOf(api);
  const description = functionDescription(api, standardToolName, functionName);
  draft.tool.functions.push(
    httpFunction({
      name: functionName,
      nameDerived: false,
      summary: api.api_name,
      description,
      method,
      path,
      parameters: parameters.params,
      response: { status: '200', description: 'OK', contentType: 'application/json' },
    }),
  );
  draft.paths[path] = { [method]: rawOperationOf(api, functionName, description, parameters) };
  return {
    category: api.category_name ?? '',
    toolName: api.tool_name,
    apiName: api.api_name,
    standardToolName,
    functionName,
    description: api.api_description ?? '',
  };
}

/** The drafts checked against the tool schema; the first problem is one line naming the query and tool. */
function checkedTools(drafts: Iterable<ToolDraft>, label: string, queryId: string): Tool[] {
  return [...drafts].map((d) => {
    const parsed = ToolSchema.safeParse(d.tool);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new InputError(
        oneLine(
          `${label}: query ${queryId}: tool '${d.tool.name}': ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`,
        ),
      );
    }
    return parsed.data;
  });
}

/** One ToolBench query (raw layout) as a task. */
export function rawQueryToTask(raw: RawToolBenchQuery, options: ConvertOptions = {}): ToolBenchTask {
  const queryId = raw.query_id === undefined ? '' : String(raw.query_id);
  const drafts = new Map<string, ToolDraft>();
  const usedToolNames = new Map<string, string>(); // standard name → key of the tool that has it
  const usedFunctions = new Set<string>();
  const seenApis = new Set<string>();
  const apis: TaskApi[] = [];
  for (const api of raw.api_list ?? []) {
    const toolKey = `${api.category_name ?? ''}\u0000${api.tool_name}`;
    const apiKey = `${toolKey}\u0000${api.api_name}`;
    if (seenApis.has(apiKey)) continue;
    seenApis.add(apiKey);
    let draft = drafts.get(toolKey);
    if (draft === undefined) {
      draft = newToolDraft(api, toolKey, usedToolNames);
      drafts.set(toolKey, draft);
    }
    apis.push(addFunction(draft, api, usedFunctions));
  }
  const tools = checkedTools(drafts.values(), options.label ?? 'query', queryId);
  const relevantApis = (raw['relevant APIs'] ?? [])
    .filter((pair) => pair.length >= 2)
    .map((pair): [string, string] => [pair[0] as string, pair[1] as string]);
  return {
    queryId,
    query: raw.query,
    tools,
    apis,
    relevantApis,
    ...(options.group !== undefined ? { group: options.group } : {}),
  };
}

/** "G1_instruction" from `.../G1_instruction.json`, "G1_query" from `.../G1_query.json`. */
export function groupOfPath(path: string): string {
  return basename(path).replace(/\.json$/i, '');
}

/** Tasks from parsed JSON: a ToolBench query array, or the tasks file `toolbench import` writes. */
export function tasksFromJson(data: unknown, label: string, group?: string): ToolBenchTask[] {
  if (Array.isArray(data)) {
    return data.map((entry, index) => {
      const parsed = RawToolBenchQuerySchema.safeParse(entry);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new InputError(
          oneLine(
            `${label}: entry ${index}: not a ToolBench query: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`,
          ),
        );
      }
      return rawQueryToTask(parsed.data, { label, ...(group !== undefined ? { group } : {}) });
    });
  }
  if (
    typeof data === 'object' &&
    data !== null &&
    (data as { kind?: unknown }).kind === TOOLBENCH_TASKS_KIND
  ) {
    const parsed = ToolBenchTasksFileSchema.safeParse(data);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new InputError(
        oneLine(`${label}: bad tasks file: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`),
      );
    }
    return parsed.data.tasks;
  }
  throw new InputError(
    `${label}: not a ToolBench query file (expected a JSON array of queries with api_list)`,
  );
}

/** Reads a ToolBench / StableToolBench query file (or a tasks file written by `toolbench import`). */
export async function readToolBenchQueries(path: string): Promise<ToolBenchTask[]> {
  const data = await readJsonFile(path);
  return tasksFromJson(data, path, groupOfPath(path));
}

/** The tasks file `toolbench import` writes. */
export function tasksFileOf(tasks: ToolBenchTask[]): {
  kind: typeof TOOLBENCH_TASKS_KIND;
  version: number;
  tasks: ToolBenchTask[];
} {
  return { kind: TOOLBENCH_TASKS_KIND, version: 1, tasks };
}

// ---------------------------------------------------------------------------------------------------------
// Tools across tasks

/** Key of a tool across tasks: category + original tool name. */
function toolKeyOf(tool: Tool): string {
  const info = (tool.openapi?.info ?? {}) as { 'x-toolbench'?: { toolName?: string } };
  return `${tool.category ?? ''}\u0000${info['x-toolbench']?.toolName ?? tool.name}`;
}

/**
 * Every distinct tool of `tasks`, each with the union of the APIs the tasks list for it (first seen
 * first). Function names are those of the first task that lists an API.
 */
export function mergeTaskTools(tasks: readonly ToolBenchTask[]): Tool[] {
  const merged = new Map<string, Tool>();
  for (const task of tasks) {
    for (const tool of task.tools) {
      const key = toolKeyOf(tool);
      const existing = merged.get(key);
      if (existing === undefined) {
        const doc = structuredClone(tool.openapi ?? {});
        merged.set(key, { ...tool, functions: [...tool.functions], openapi: doc });
        continue;
      }
      const apiNames = new Set(existing.functions.map((fn) => fn.summary ?? fn.name));
      const names = new Set(existing.functions.map((fn) => fn.name));
      const paths = (existing.openapi?.paths ?? {}) as Record<string, unknown>;
      const sourcePaths = (tool.openapi?.paths ?? {}) as Record<string, unknown>;
      for (const fn of tool.functions) {
        if (apiNames.has(fn.summary ?? fn.name)) continue;
        // uniqueFunctionName returns a name not in `names`.
        const name = names.has(fn.name)
          ? uniqueFunctionName(fn.summary ?? fn.name, existing.name, names)
          : fn.name;
        const binding = httpBindingOf(fn);
        if (binding === undefined) {
          existing.functions.push({ ...fn, name });
        } else {
          let path = binding.path;
          for (let n = 2; paths[path] !== undefined; n++) path = `${binding.path}_${n}`;
          const op = structuredClone(sourcePaths[binding.path]) as
            Record<string, Record<string, unknown>> | undefined;
          if (op?.[binding.method] !== undefined)
            op[binding.method] = { ...op[binding.method], operationId: name };
          paths[path] = op ?? {};
          existing.functions.push({ ...fn, name, binding: { ...binding, path } });
        }
        names.add(name);
        apiNames.add(fn.summary ?? fn.name);
      }
    }
  }
  return [...merged.values()];
}

export interface ImportCounts {
  queries: number;
  tools: number;
  apis: number;
}

/** Distinct (category, tool) pairs and (category, tool, api) triples over `tasks`. */
export function countTasks(tasks: readonly ToolBenchTask[]): ImportCounts {
  const tools = new Set<string>();
  const apis = new Set<string>();
  for (const task of tasks) {
    for (const api of task.apis) {
      tools.add(`${api.category}\u0000${api.toolName}`);
      apis.add(`${api.category}\u0000${api.toolName}\u0000${api.apiName}`);
    }
  }
  return { queries: tasks.length, tools: tools.size, apis: apis.size };
}

// ---------------------------------------------------------------------------------------------------------
// Functions as the model sees them

/** ToolBench's `Finish` function, added to every task. */
export const FINISH_FUNCTION: AnswerFunction = {
  name: FINISH_FUNCTION_NAME,
  description:
    'Call this function when you have a result that answers the task, to give the final answer; or, when you cannot go on from the current state, to give up and restart. Always end your attempt with this function. Only the final answer is shown to the user, so it must contain all the information they asked for.',
  parameters: {
    type: 'object',
    properties: {
      return_type: { type: 'string', enum: ['give_answer', 'give_up_and_restart'] },
      final_answer: {
        type: 'string',
        description: 'The final answer for the user. Required when "return_type" is "give_answer".',
      },
    },
    required: ['return_type'],
  },
};

/** A tool function in ToolBench's function JSON: `{name, description, parameters{properties, required, optional}}`. */
export function answerFunctionOf(fn: ToolFunction): AnswerFunction {
  const properties: Record<string, unknown> = {};
  const required: string[] = [];
  const optional: string[] = [];
  const binding = httpBindingOf(fn);
  if (binding === undefined) {
    // Any other function: its input schema's properties, in ToolBench's per-parameter shape.
    const given = isRecord(fn.inputSchema.properties) ? fn.inputSchema.properties : {};
    const needed = Array.isArray(fn.inputSchema.required) ? fn.inputSchema.required : [];
    for (const [name, sub] of Object.entries(given)) {
      const schema = isRecord(sub) ? sub : {};
      properties[name] = {
        type: typeof schema.type === 'string' ? schema.type : 'string',
        description: typeof schema.description === 'string' ? schema.description : '',
        ...(schema.example !== undefined ? { example_value: schema.example } : {}),
      };
      (needed.includes(name) ? required : optional).push(name);
    }
    return {
      name: fn.name,
      description: fn.description ?? fn.summary ?? '',
      parameters: { type: 'object', properties, required, optional },
    };
  }
  for (const p of binding.parameters) {
    const schema = p.schema as { type?: unknown; example?: unknown };
    properties[p.name] = {
      type: typeof schema.type === 'string' ? schema.type : 'string',
      description: p.description ?? '',
      ...(schema.example !== undefined ? { example_value: schema.example } : {}),
    };
    (p.required ? required : optional).push(p.name);
  }
  const body = binding.requestBody?.schema as
    { properties?: Record<string, unknown>; required?: unknown } | undefined;
  if (body?.properties !== undefined) {
    const bodyRequired = Array.isArray(body.required) ? (body.required as string[]) : [];
    for (const [name, schema] of Object.entries(body.properties)) {
      if (properties[name] !== undefined) continue;
      properties[name] = schema;
      (bodyRequired.includes(name) ? required : optional).push(name);
    }
  }
  return {
    name: fn.name,
    description: fn.description ?? fn.summary ?? '',
    parameters: { type: 'object', properties, required, optional },
  };
}

/** `xyz_for_tool_name` → `tool_name` (ToolBench names sub-functions `<api>_for_<tool>`). */
export function toolOfFunction(name: string): string {
  const at = name.lastIndexOf('_for_');
  return at >= 0 ? name.slice(at + '_for_'.length) : name;
}

/** Every function of a task's tools in ToolBench's JSON, then `Finish`. */
export function taskFunctions(task: Pick<ToolBenchTask, 'tools'>): AnswerFunction[] {
  return [...task.tools.flatMap((tool) => tool.functions.map(answerFunctionOf)), FINISH_FUNCTION];
}

// ---------------------------------------------------------------------------------------------------------
// Answer files

/** The `final_answer` inside a Finish arguments text (ToolBench stores the arguments JSON as the answer). */
export function finalAnswerText(finishArguments: string): string {
  const text = finishArguments.trim();
  if (text === '') return '';
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed === 'object' && parsed !== null) {
      const answer = (parsed as { final_answer?: unknown }).final_answer;
      return typeof answer === 'string' ? answer : answer === undefined ? '' : JSON.stringify(answer);
    }
    return typeof parsed === 'string' ? parsed : text;
  } catch {
    // ToolBench reads broken JSON by looking for the key, and so do we.
    const at = text.indexOf('"final_answer"');
    if (at < 0) return text;
    const rest = text.slice(at + '"final_answer"'.length).replace(/^\s*:\s*"?/, '');
    return rest.replace(/"?\s*}?\s*$/, '');
  }
}

/** `{queryId}_{method}.json` → `[queryId, method]`. */
export function splitAnswerFileName(path: string): [string, string] {
  const name = basename(path).replace(/\.json$/i, '');
  const at = name.indexOf('_');
  return at < 0 ? [name, ''] : [name.slice(0, at), name.slice(at + 1)];
}

/** Reads one ToolBench answer file. */
export async function readToolBenchAnswer(path: string): Promise<ToolBenchAnswerRecord> {
  const data = await readJsonFile(path);
  const parsed = ToolBenchAnswerSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InputError(
      oneLine(`${path}: not a ToolBench answer file: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`),
    );
  }
  const answer = parsed.data;
  const [fileId, method] = splitAnswerFileName(path);
  const fieldId = (data as { query_id?: unknown }).query_id;
  const queryId = typeof fieldId === 'string' || typeof fieldId === 'number' ? String(fieldId) : fileId;
  const gen = answer.answer_generation;
  const answered = gen.valid_data && gen.finish_type === 'give_answer' && gen.final_answer.trim() !== '';
  return { queryId, method, path, answer, answered, finalAnswerText: finalAnswerText(gen.final_answer) };
}

/** Every `*.json` under `paths` (files or folders, searched recursively), sorted. */
export async function answerFilesUnder(paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  const walk = async (path: string): Promise<void> => {
    let info;
    try {
      info = await stat(path);
    } catch (error) {
      throw new InputError(`${path}: ${describeFsError(error)}`);
    }
    if (info.isDirectory()) {
      const entries = await readdir(path);
      for (const entry of entries.sort()) {
        if (entry.startsWith('.')) continue;
        const child = join(path, entry);
        const childInfo = await stat(child);
        if (childInfo.isDirectory() || entry.toLowerCase().endsWith('.json')) await walk(child);
      }
    } else {
      out.push(path);
    }
  };
  for (const path of paths) await walk(path);
  return out;
}

/** Reads every answer file under `paths` (files or folders). */
export async function readToolBenchAnswers(paths: readonly string[]): Promise<ToolBenchAnswerRecord[]> {
  const files = await answerFilesUnder(paths);
  const out: ToolBenchAnswerRecord[] = [];
  for (const file of files) out.push(await readToolBenchAnswer(file));
  return out;
}

/** The conversation of the chosen path: the longest `train_messages` entry (each is a prefix of the next). */
export function answerConversation(record: ToolBenchAnswerRecord): AnswerMessage[] {
  const all = record.answer.answer_generation.train_messages ?? [];
  let best: AnswerMessage[] = [];
  for (const messages of all) if (messages.length >= best.length) best = messages;
  return best;
}

/** The tool calls of the chosen path as run steps (Finish excluded); parallel calls give one step each. */
export function answerSteps(record: ToolBenchAnswerRecord): RunStep[] {
  const messages = answerConversation(record);
  const steps: RunStep[] = [];
  let thought: string | undefined;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i] as AnswerMessage;
    if (m.role !== 'assistant') continue;
    const calls =
      m.function_call !== undefined
        ? [{ id: undefined, name: m.function_call.name, arguments: m.function_call.arguments }]
        : (m.tool_calls ?? []).map((c) => ({ id: c.id, ...c.function }));
    if (calls.length === 0) {
      if (typeof m.content === 'string' && m.content !== '') thought = m.content;
      continue;
    }
    let content = typeof m.content === 'string' && m.content !== '' ? m.content : thought;
    thought = undefined;
    for (const call of calls) {
      if (call.name === FINISH_FUNCTION_NAME) continue;
      // The result: the `tool` message with the call's id, else the message right after the call.
      const next =
        call.id !== undefined
          ? messages.slice(i + 1).find((r) => r.role === 'tool' && r.tool_call_id === call.id)
          : messages[i + 1];
      const observation = next?.role === 'function' || next?.role === 'tool' ? (next.content ?? '') : '';
      steps.push({
        action: call.name,
        actionInput: call.arguments,
        ...(content !== undefined ? { thought: content } : {}),
        observation,
      });
      content = undefined;
    }
  }
  return steps;
}

/**
 * Answer files as a run (`RunFile`): one item per answer, tool = the tools of the answer's functions,
 * steps = the calls of the chosen path, final answer = the Finish answer. A run that gave up or found
 * nothing is `failed`.
 */
export function answersToRun(
  records: readonly ToolBenchAnswerRecord[],
  meta: { model?: string; importedFrom?: string } = {},
): RunFile {
  const items: RunItem[] = records.map((record, index) => {
    const gen = record.answer.answer_generation;
    const tools = [
      ...new Set(
        gen.function
          .map((f) => f.name)
          .filter((name) => name !== FINISH_FUNCTION_NAME)
          .map(toolOfFunction),
      ),
    ];
    const numeric = Number(record.queryId);
    const item: RunItem = {
      tool: tools.join(',') || 'toolbench',
      index: Number.isInteger(numeric) && numeric >= 0 ? numeric : index,
      queryId: record.queryId,
      instruction: gen.query ?? '',
      goldenAnswers: [],
      nlDocumentation: '',
      status: record.answered ? 'completed' : 'failed',
      ...(record.answered
        ? {}
        : {
            failure: {
              reason: gen.valid_data ? gen.finish_type : 'no_answer',
              message: gen.valid_data ? 'the run gave up' : 'the run found no answer',
            },
          }),
      steps: answerSteps(record),
      ...(record.answered ? { finalAnswer: record.finalAnswerText } : {}),
      usage: { promptTokens: gen.total_tokens, completionTokens: 0, calls: gen.query_count },
    };
    return item;
  });
  const totalTokens = records.reduce((sum, r) => sum + r.answer.answer_generation.total_tokens, 0);
  return {
    kind: RUN_KIND,
    version: RUN_FORMAT_VERSION,
    meta: {
      model: meta.model ?? (records[0]?.method || 'toolbench'),
      prompt: 'toolbench',
      mode: 'function-calling',
      executor: 'imported',
      createdAt: new Date().toISOString(),
      toolalpacaVersion: '',
      tokens: { prompt: totalTokens, completion: 0 },
      costUsd: 0,
      ...(meta.importedFrom !== undefined ? { importedFrom: meta.importedFrom } : {}),
    },
    items,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Tools back to ToolBench's api_list entries, and the import folder

function toolbenchInfo(tool: Tool): { category?: string; toolName?: string; collections?: string[] } {
  const info = (tool.openapi?.info ?? {}) as Record<string, unknown>;
  const extra = info['x-toolbench'];
  return typeof extra === 'object' && extra !== null
    ? (extra as { category?: string; toolName?: string; collections?: string[] })
    : {};
}

/** The tool's name as ToolBench's files spell it (the original RapidAPI name when the tool was imported). */
export function originalToolName(tool: Tool): string {
  return toolbenchInfo(tool).toolName ?? tool.name;
}

/** The collections a tool belongs to (`x-toolbench.collections` or `x-collections` in the document's info). */
export function collectionsOf(tool: Tool): string[] {
  const info = (tool.openapi?.info ?? {}) as Record<string, unknown>;
  const own = toolbenchInfo(tool).collections ?? info['x-collections'];
  return Array.isArray(own) ? own.filter((c): c is string => typeof c === 'string') : [];
}

function operationOf(tool: Tool, fn: ToolFunction): Record<string, unknown> | undefined {
  const binding = httpBindingOf(fn);
  if (binding === undefined) return undefined;
  const paths = (tool.openapi?.paths ?? {}) as Record<string, Record<string, unknown> | undefined>;
  const op = paths[binding.path]?.[binding.method];
  return typeof op === 'object' && op !== null ? (op as Record<string, unknown>) : undefined;
}

function rawType(schema: JsonSchema): string {
  if (schema.type === 'integer' || schema.type === 'number') return 'NUMBER';
  if (schema.type === 'boolean') return 'BOOLEAN';
  return 'STRING';
}

/** The input schema's properties as query parameters (for functions without an HTTP binding). */
function inputParameters(fn: ToolFunction): ToolParameter[] {
  const given = isRecord(fn.inputSchema.properties) ? fn.inputSchema.properties : {};
  const needed = Array.isArray(fn.inputSchema.required) ? fn.inputSchema.required : [];
  return Object.entries(given).map(([name, sub]) => {
    const schema = isRecord(sub) ? sub : {};
    const description = typeof schema.description === 'string' ? schema.description : undefined;
    return {
      name,
      in: 'query',
      required: needed.includes(name),
      ...(description !== undefined ? { description } : {}),
      schema,
    };
  });
}

/** One function of a tool as a ToolBench `api_list` entry (original names when the tool was imported). */
export function functionToRawApi(tool: Tool, fn: ToolFunction): RawToolBenchApi {
  const op = operationOf(tool, fn);
  const meta = (op?.['x-toolbench'] ?? {}) as { apiName?: string; apiDescription?: string };
  const opParams = (Array.isArray(op?.parameters) ? op.parameters : []) as {
    name?: string;
    'x-original-name'?: string;
  }[];
  const originalName = (name: string): string =>
    opParams.find((p) => p.name === name)?.['x-original-name'] ?? name;
  const param = (p: ToolParameter): RawToolBenchParameter => ({
    name: originalName(p.name),
    type: rawType(p.schema),
    description: p.description ?? '',
    default: (p.schema as { example?: unknown }).example ?? '',
  });
  const template = op?.['x-template-response'];
  const parameters = httpBindingOf(fn)?.parameters ?? inputParameters(fn);
  return {
    category_name: tool.category ?? '',
    tool_name: originalToolName(tool),
    api_name: meta.apiName ?? fn.summary ?? fn.name,
    api_description: meta.apiDescription ?? fn.description ?? '',
    required_parameters: parameters.filter((p) => p.required).map(param),
    optional_parameters: parameters.filter((p) => !p.required).map(param),
    method: httpViewOf(fn).method.toUpperCase(),
    ...(template !== undefined ? { template_response: template } : {}),
  };
}

/** Tools from a folder of OpenAPI documents (as `toolbench import` writes them) or from a query file. */
export async function readToolBenchTools(path: string): Promise<Tool[]> {
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(path)).isDirectory();
  } catch (error) {
    throw new InputError(`${path}: ${describeFsError(error)}`);
  }
  if (!isDirectory) return mergeTaskTools(await readToolBenchQueries(path));
  const specs = await readOpenApiPath(path, { recursive: true });
  return specs.map((spec) => openApiToTool(spec));
}

export interface ImportFileReport extends ImportCounts {
  file: string;
  group: string;
  tasksFile: string;
}

export interface ImportReport extends ImportCounts {
  out: string;
  files: ImportFileReport[];
  toolsDir: string;
}

/**
 * `toolbench import`: reads query files and writes `OUT/tasks/{group}.json` (tasks in this project's
 * shape, one file per input) and `OUT/tools/{tool}.json` (every distinct tool once, as an OpenAPI
 * document with the union of its APIs). Tools of G3 queries (one RapidAPI collection per query) get
 * the collection `{group}#{queryId}` in `info.x-toolbench.collections`, for I3 instruction sampling.
 */
export async function importToolBenchFiles(files: readonly string[], out: string): Promise<ImportReport> {
  if (files.length === 0) throw new InputError('toolbench import: no query files given');
  const all: ToolBenchTask[] = [];
  const reports: ImportFileReport[] = [];
  const usedGroups = new Set<string>();
  const collections = new Map<string, Set<string>>();
  for (const file of files) {
    const tasks = await readToolBenchQueries(file);
    let group = groupOfPath(file);
    for (let n = 2; usedGroups.has(group); n++) group = `${groupOfPath(file)}_${n}`;
    usedGroups.add(group);
    const tasksFile = join(out, 'tasks', `${group}.json`);
    await writeFileAtomic(tasksFile, `${JSON.stringify(tasksFileOf(tasks.map((t) => ({ ...t, group }))))}\n`);
    reports.push({ file, group, tasksFile, ...countTasks(tasks) });
    if (/^G3/i.test(group)) {
      for (const task of tasks) {
        for (const api of task.apis) {
          const key = `${api.category}\u0000${api.toolName}`;
          const set = collections.get(key) ?? new Set<string>();
          set.add(`${group}#${task.queryId}`);
          collections.set(key, set);
        }
      }
    }
    all.push(...tasks);
  }
  const toolsDir = join(out, 'tools');
  const usedFiles = new Set<string>();
  for (const tool of mergeTaskTools(all)) {
    const doc = structuredClone(tool.openapi ?? {});
    const info = (doc.info ?? {}) as Record<string, unknown>;
    const extra = (info['x-toolbench'] ?? {}) as Record<string, unknown>;
    const inCollections = collections.get(`${tool.category ?? ''}\u0000${originalToolName(tool)}`);
    if (inCollections !== undefined) extra.collections = [...inCollections].sort();
    info['x-toolbench'] = extra;
    doc.info = info;
    let name = tool.name;
    for (let n = 2; usedFiles.has(name); n++) name = `${tool.name}_${n}`;
    usedFiles.add(name);
    await writeFileAtomic(join(toolsDir, `${name}.json`), `${JSON.stringify(doc, null, 2)}\n`);
  }
  return { out, toolsDir, files: reports, ...countTasks(all) };
}
