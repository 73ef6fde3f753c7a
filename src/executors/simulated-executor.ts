/**
 * Simulated executor: a language model plays the API from its OpenAPI spec, following ToolAlpaca's
 * simulator protocol (the prompt carries the tool's spec and the request rendered as a curl command; the
 * reply reads `Status Code: N` / `Response: {json}` / `Explanation: ...`). The prompt text is our own.
 * A function without an HTTP binding (an MCP tool, a hand-made function) is played from its input and
 * output schemas instead, the call written as JSON (`{"function": ..., "arguments": {...}}`).
 *
 * What it adds around one model call:
 * - Arguments are checked first (`prepareCall`): a bad call is a 400 observation and the model is not asked.
 * - A non-2xx answer is asked again, as ToolAlpaca does: up to `maxAttempts` answers in all (1 + 5
 *   retries), stopping as soon as a status code repeats or a 2xx arrives (that answer is returned). When
 *   no status repeats, the first answer is returned, as ToolAlpaca's simulator does: it is a legitimate
 *   API error answer.
 * - A 2xx body that does not validate against the function's response schema is re-asked with the compact
 *   ajv errors (`maxRepairs` times), then repaired deterministically from schema-generated data, with
 *   `warnings` saying so.
 * - A reply that cannot be read is re-asked once with a format reminder (`maxParseRetries`), then becomes a
 *   502 observation with `error`; so does a model failure after the model layer's own retries.
 * - A bounded memory of earlier exchanges per (instance, tool) is replayed as conversation turns so that
 *   answers within one instance stay consistent. Calls without `context.instanceId` have no memory.
 *
 * The model's seed is varied per call (0, 1, 2...) so that asking again is a new sample even when the
 * model layer caches responses (the cache key includes the seed).
 */
import { InputError, oneLine } from '../core/errors.js';
import { httpBindingOf, httpViewOf } from '../core/http-binding.js';
import { compileSchema, schemaErrors, type JsonSchema } from '../core/json-schema.js';
import type { Tool, ToolFunction } from '../core/tool.js';
import type { ChatMessage, ChatModel } from '../models/chat-model.js';
import type { ModelOptions } from '../models/create-model.js';
import { ModelCallError } from '../models/model-errors.js';
import { closingBracketIndex, extractJson, tryParseJson, isRecord } from '../core/json-text.js';
import { toolToOpenApi } from '../formats/openapi.js';
import {
  elapsedMs,
  callSeed,
  type ExecutionContext,
  type Observation,
  type ToolExecutor,
} from './executor.js';
import { prepareCall, type CheckOptions } from './arguments.js';
import { buildHttpRequest, toCurl } from './http-request.js';
import { generateFromSchema } from './schema-executor.js';

type Json = Record<string, unknown>;

/** Options shared by both ways of giving the model. */
export interface SimulatedExecutorBaseOptions extends CheckOptions {
  /** Answers asked for in all while they are non-2xx (ToolAlpaca: 1 + 5 retries at most). Default 6. */
  maxAttempts?: number;
  /** Earlier exchanges remembered per (instance, tool). Default 5; 0 disables memory. */
  memoryTurns?: number;
  /** Instances whose memory is kept (least recently used forgotten first). Default 100. */
  maxInstances?: number;
  /** Re-asks after a 2xx body that does not match the response schema. Default 2. */
  maxRepairs?: number;
  /** Re-asks after a reply that cannot be read. Default 1. */
  maxParseRetries?: number;
  /** Sampling temperature. Default 0.5 (ToolAlpaca's simulator). */
  temperature?: number;
  /** Upper bound on the reply's tokens (default: the backend's). */
  maxTokens?: number;
  /** Ledger stage of the model calls. Default 'executor'. */
  stage?: string;
  /** Longest spec text put in the prompt before it is cut down to the called operation. Default 8000. */
  maxSpecChars?: number;
  /**
   * Recorded calls of the function to show as examples (StableToolBench's virtual server shows the
   * cached real responses of the API).
   */
  examples?: (
    tool: Tool,
    fn: ToolFunction,
  ) => readonly SimulatorExample[] | Promise<readonly SimulatorExample[]>;
}

/** A recorded call: its arguments as the record keys them, and what came back. */
export interface SimulatorExample {
  input: string;
  output: unknown;
}

export interface SimulatedExecutorModelOptions extends SimulatedExecutorBaseOptions {
  model: ChatModel;
}

export interface SimulatedExecutorSpecOptions extends SimulatedExecutorBaseOptions {
  /** A model spec (`openai:gpt-4o-mini`, `llama:...`), built with `createChatModel` on first use. */
  modelSpec: string;
  modelOptions?: ModelOptions;
}

export type SimulatedExecutorOptions = SimulatedExecutorModelOptions | SimulatedExecutorSpecOptions;

export interface SimulatedExecutor extends ToolExecutor {
  readonly kind: 'simulated';
  /** Drop the memory of one instance (call when an instance is finished). */
  forgetInstance(instanceId: string): void;
  /** Drop every memory. */
  forgetAll(): void;
  /** The remembered exchanges of (instance, tool), oldest first (for inspection and tests). */
  memoryOf(instanceId: string, toolName: string): readonly SimulatedExchange[];
  /** Closes the model when the executor built it from `modelSpec`; a given `model` is left open. */
  close(): Promise<void>;
}

/** One remembered exchange: the request message and the answer as it was accepted. */
export interface SimulatedExchange {
  request: string;
  reply: string;
}

// ---------------------------------------------------------------------------------------------------------
// Reply parsing

export interface ParsedReply {
  status: number;
  /** Parsed JSON, or the Response text when it is not JSON (undefined when there is no Response part). */
  body: unknown;
  /** True when `body` came from JSON. */
  json: boolean;
  explanation?: string;
}

export type ReplyParse = { ok: true; reply: ParsedReply } | { ok: false; error: string };

const STATUS_RE = /status[ \t_-]*code\**[ \t]*[:=]?[ \t]*\**[ \t]*["'`]?(\d{3})\b/i;
const RESPONSE_RE = /(?:^|[\s*.,;#>])response\**[ \t]*\**[ \t]*:\**/im;
const EXPLANATION_RE = /(?:^|[\s*.,;#>])explanation\**[ \t]*\**[ \t]*:\**/im;

/** The Response part: a fenced block, a balanced JSON value, or text up to the Explanation. */
function readResponsePart(after: string): { body: unknown; json: boolean; rest: string } {
  const text = after.replace(/^[ \t]*\r?\n?/, '');
  const lead = text.trimStart();
  const fence = /^```[a-zA-Z]*[ \t]*\r?\n?([\s\S]*?)```/.exec(lead);
  if (fence?.[1] !== undefined) {
    const inner = fence[1].trim();
    const rest = lead.slice(fence[0].length);
    const parsed = tryParseJson(inner) ?? extractJson(inner);
    return parsed !== undefined
      ? { body: parsed.value, json: true, rest }
      : { body: inner, json: false, rest };
  }
  if (lead.startsWith('{') || lead.startsWith('[')) {
    const end = closingBracketIndex(lead, 0) + 1;
    if (end > 0) {
      const parsed = tryParseJson(lead.slice(0, end));
      if (parsed !== undefined) return { body: parsed.value, json: true, rest: lead.slice(end) };
    }
  }
  // Scalars, unbalanced or non-JSON text: everything up to the Explanation.
  const explanation = EXPLANATION_RE.exec(lead);
  const part = (explanation ? lead.slice(0, explanation.index) : lead).trim();
  const rest = explanation ? lead.slice(explanation.index) : '';
  if (part === '') return { body: undefined, json: false, rest };
  const parsed = tryParseJson(part) ?? extractJson(part);
  return parsed !== undefined ? { body: parsed.value, json: true, rest } : { body: part, json: false, rest };
}

function statusFromJson(value: Json): number | undefined {
  for (const key of ['status_code', 'statusCode', 'Status Code', 'status', 'code']) {
    const raw = value[key];
    const status = typeof raw === 'string' ? Number.parseInt(raw, 10) : raw;
    if (typeof status === 'number' && Number.isInteger(status) && status >= 100 && status <= 599)
      return status;
  }
  return undefined;
}

/**
 * Reads a simulator reply: `Status Code:`, `Response:` and an optional `Explanation:`, in plain text or
 * markdown (bold labels, code fences, prose around them). Also accepts the same three fields as one JSON
 * object (`{"status_code": 200, "response": {...}}`). Not ok when no status code can be found.
 */
export function parseSimulatorReply(text: string): ReplyParse {
  const statusMatch = STATUS_RE.exec(text);
  if (statusMatch === null) {
    const whole = extractJson(text);
    if (whole !== undefined && isRecord(whole.value)) {
      const status = statusFromJson(whole.value);
      const body = whole.value.response ?? whole.value.Response ?? whole.value.body;
      if (status !== undefined && body !== undefined) {
        const explanation = whole.value.explanation ?? whole.value.Explanation;
        return {
          ok: true,
          reply: {
            status,
            body,
            json: true,
            ...(typeof explanation === 'string' ? { explanation } : {}),
          },
        };
      }
    }
    return { ok: false, error: 'no "Status Code:" line was found' };
  }
  const status = Number(statusMatch[1]);
  if (status < 100 || status > 599)
    return { ok: false, error: `status code ${status} is not an HTTP status` };
  const afterStatus = text.slice(statusMatch.index + statusMatch[0].length);
  const responseMatch = RESPONSE_RE.exec(afterStatus);
  let body: unknown;
  let json = false;
  let rest = afterStatus;
  if (responseMatch !== null) {
    const part = readResponsePart(afterStatus.slice(responseMatch.index + responseMatch[0].length));
    body = part.body;
    json = part.json;
    rest = part.rest;
  }
  const explanationMatch = EXPLANATION_RE.exec(rest);
  const explanation =
    explanationMatch !== null
      ? rest
          .slice(explanationMatch.index + explanationMatch[0].length)
          .replace(/```\s*$/, '')
          .trim()
      : undefined;
  if (body === undefined) {
    // No Response label: a bare JSON value after the status line still counts.
    const bare = extractJson(explanationMatch ? rest.slice(0, explanationMatch.index) : rest);
    if (bare !== undefined) {
      body = bare.value;
      json = true;
    }
  }
  if (body === undefined) return { ok: false, error: 'no "Response:" part was found' };
  return {
    ok: true,
    reply: {
      status,
      body,
      json,
      ...(explanation !== undefined && explanation !== '' ? { explanation } : {}),
    },
  };
}

/** A reply in the protocol's canonical form (how accepted answers are remembered). */
export function formatSimulatorReply(status: number, body: unknown, explanation?: string): string {
  const bodyText = typeof body === 'string' ? body : JSON.stringify(body);
  const lines = [`Status Code: ${status}`, `Response: ${bodyText}`];
  if (explanation !== undefined && explanation !== '')
    lines.push(`Explanation: ${oneLine(explanation, 300)}`);
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------------------
// The spec in the prompt

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** JSON.stringify that survives cycles (a repeated ancestor becomes a placeholder). */
function safeJson(value: unknown): string {
  const ancestors: unknown[] = [];
  return JSON.stringify(value, function (this: unknown, _key, item: unknown) {
    if (typeof item !== 'object' || item === null) return item;
    while (ancestors.length > 0 && ancestors[ancestors.length - 1] !== this) ancestors.pop();
    if (ancestors.includes(item)) return { description: '(recursive)' };
    ancestors.push(item);
    return item;
  });
}

function collectRefs(node: unknown, into: Set<string>, seen = new Set<unknown>()): void {
  if (typeof node !== 'object' || node === null || seen.has(node)) return;
  seen.add(node);
  if (Array.isArray(node)) {
    for (const item of node) collectRefs(item, into, seen);
    return;
  }
  for (const [key, value] of Object.entries(node)) {
    if (key === '$ref' && typeof value === 'string' && value.startsWith('#/')) into.add(value);
    else collectRefs(value, into, seen);
  }
}

function pointerGet(doc: Json, ref: string): unknown {
  let node: unknown = doc;
  for (const raw of ref.slice(2).split('/')) {
    const part = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (!isRecord(node)) return undefined;
    node = node[part];
  }
  return node;
}

function pointerSet(doc: Json, ref: string, value: unknown): void {
  const parts = ref
    .slice(2)
    .split('/')
    .map((raw) => decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~'));
  let node = doc;
  for (const part of parts.slice(0, -1)) {
    if (!isRecord(node[part])) node[part] = {};
    node = node[part] as Json;
  }
  node[parts[parts.length - 1]!] = value;
}

/**
 * The document cut down to one operation: version and server keys, the title and description, the
 * operation's path item with only that method, and the components (or Swagger definitions) it references,
 * transitively.
 */
export function operationDocument(doc: Json, fn: ToolFunction): Json | undefined {
  const { path, method } = httpViewOf(fn);
  const paths = isRecord(doc.paths) ? doc.paths : {};
  const item = paths[path];
  if (!isRecord(item) || !isRecord(item[method])) return undefined;
  const out: Json = {};
  for (const key of ['openapi', 'swagger', 'host', 'basePath', 'schemes', 'servers']) {
    if (doc[key] !== undefined) out[key] = doc[key];
  }
  const info = isRecord(doc.info) ? doc.info : {};
  out.info = {
    ...(info.title !== undefined ? { title: info.title } : {}),
    ...(info.description !== undefined ? { description: info.description } : {}),
  };
  const pathItem: Json = {};
  for (const [key, value] of Object.entries(item)) {
    if (!HTTP_METHODS.includes(key.toLowerCase()) || key.toLowerCase() === method) pathItem[key] = value;
  }
  out.paths = { [path]: pathItem };
  const refs = new Set<string>();
  collectRefs(out.paths, refs);
  const done = new Set<string>();
  const pending = [...refs];
  while (pending.length > 0) {
    const ref = pending.pop()!;
    if (done.has(ref)) continue;
    done.add(ref);
    const target = pointerGet(doc, ref);
    if (target === undefined) continue;
    pointerSet(out, ref, target);
    const more = new Set<string>();
    collectRefs(target, more);
    for (const next of more) if (!done.has(next)) pending.push(next);
  }
  return out;
}

/** An example response the tool carries for the function (ToolBench-style tools), when there is one. */
export function exampleResponseOf(tool: Tool, fn: ToolFunction): unknown {
  const binding = httpBindingOf(fn);
  const response = binding?.response;
  const responseExample = (response as { example?: unknown } | undefined)?.example;
  if (responseExample !== undefined) return responseExample;
  const fnExtra = (fn as Json)['x-template-response'];
  if (fnExtra !== undefined) return fnExtra;
  const doc = tool.openapi;
  if (doc === undefined) return undefined;
  const item = binding !== undefined && isRecord(doc.paths) ? doc.paths[binding.path] : undefined;
  const op = isRecord(item) && binding !== undefined ? item[binding.method] : undefined;
  if (isRecord(op)) {
    if (op['x-template-response'] !== undefined) return op['x-template-response'];
    const responses = isRecord(op.responses) ? op.responses : {};
    const ok = response !== undefined ? responses[response.status] : undefined;
    if (isRecord(ok)) {
      if (ok.example !== undefined) return ok.example;
      const content = isRecord(ok.content) ? Object.values(ok.content) : [];
      for (const media of content) {
        if (isRecord(media) && media.example !== undefined) return media.example;
      }
    }
  }
  const template = doc['x-template-response'];
  if (isRecord(template) && template[fn.name] !== undefined) return template[fn.name];
  return undefined;
}

const specCache = new WeakMap<Tool, Map<string, string>>();

/**
 * The spec text the prompt carries: the tool's document as compact JSON, or, when that is longer than
 * `maxChars`, only the called operation and the components it references.
 */
export function specForPrompt(tool: Tool, fn: ToolFunction, maxChars = 8000): string {
  let perTool = specCache.get(tool);
  if (perTool === undefined) {
    perTool = new Map();
    specCache.set(tool, perTool);
  }
  const { method, path } = httpViewOf(fn);
  const key = `${maxChars}\u0000${method}\u0000${path}`;
  const cached = perTool.get(key);
  if (cached !== undefined) return cached;
  const doc = tool.openapi ?? toolToOpenApi(tool);
  let text = safeJson(doc);
  if (text.length > maxChars) {
    const reduced = operationDocument(doc, fn) ?? operationDocument(toolToOpenApi(tool), fn);
    if (reduced !== undefined) text = safeJson(reduced);
  }
  perTool.set(key, text);
  return text;
}

// ---------------------------------------------------------------------------------------------------------
// Prompts (project-authored; same protocol as ToolAlpaca's simulator)

const FORMAT_LINES = [
  'Status Code: <the HTTP status code>',
  'Response: <the response body as JSON>',
  'Explanation: <one short sentence on why the API answers this way>',
];

/**
 * The simulator's system prompt for a call of `fn`: the OpenAPI spec for a function with an HTTP binding,
 * the function's input and output schemas for any other; recorded calls of it as examples when given.
 */
export function simulatorSystemPrompt(
  tool: Tool,
  fn: ToolFunction,
  maxSpecChars?: number,
  examples: readonly SimulatorExample[] = [],
): string {
  const binding = httpBindingOf(fn);
  if (binding === undefined) return withExamples(toolCallSystemPrompt(tool, fn, maxSpecChars), examples);
  const lines = [
    'You stand in for a web API. Each user message is an HTTP request to this API, written as a curl command; you answer it exactly as the real service would.',
    '',
    'Rules:',
    '1. Check the method, path and parameters of the request against the OpenAPI spec below. A request the API would reject gets a fitting 4xx error answer.',
    '2. A valid request gets a 2xx answer whose JSON body follows the response schema of that operation exactly: every required field, the declared types, no extra wrapping.',
    '3. Use realistic, specific data (names, numbers, dates, identifiers); never placeholders such as "string" or "example".',
    '4. When the request does not limit the number of results, return at least 3 items.',
    '5. Stay consistent with your earlier answers in this conversation: the same entities keep the same identifiers and values.',
    '',
    'Answer in exactly this format, with nothing before or after it:',
    ...FORMAT_LINES,
    '',
    `API name: ${tool.name}`,
  ];
  if (tool.description !== '') lines.push(`API description: ${oneLine(tool.description, 600)}`);
  lines.push(`OpenAPI spec: ${specForPrompt(tool, fn, maxSpecChars)}`);
  const example = exampleResponseOf(tool, fn);
  if (example !== undefined) {
    const text = typeof example === 'string' ? example : safeJson(example);
    lines.push(
      `Example of a successful response of ${binding.method.toUpperCase()} ${binding.path}: ${text.slice(0, 3000)}`,
    );
  }
  return withExamples(lines.join('\n'), examples);
}

/** The prompt followed by recorded calls of the function, their text cut at 2,048 characters. */
function withExamples(prompt: string, examples: readonly SimulatorExample[]): string {
  if (examples.length === 0) return prompt;
  const recorded = examples.map((e) => `Input: ${e.input}\nOutput: ${safeJson(e.output)}`).join('\n');
  return [
    prompt,
    'Responses this API really gave to earlier calls (answer in their style; ignore them when they are errors or empty):',
    recorded.slice(0, 2048),
  ].join('\n');
}

/** The system prompt for a function without an HTTP binding: the call is JSON, the contract its schemas. */
function toolCallSystemPrompt(tool: Tool, fn: ToolFunction, maxSpecChars = 8000): string {
  const lines = [
    'You stand in for a software tool. Each user message is a call of one of its functions, written as JSON with the function name and its arguments; you answer it exactly as the real tool would.',
    '',
    'Rules:',
    '1. Check the arguments against the input schema below. A call the tool would reject gets a fitting error answer: status 400 for bad arguments, 404 for something that does not exist.',
    '2. A valid call gets status 200 and a JSON result that follows the output schema below exactly, when there is one: every required field, the declared types, no extra wrapping.',
    '3. Use realistic, specific data (names, numbers, dates, identifiers); never placeholders such as "string" or "example".',
    '4. When the call does not limit the number of results, return at least 3 items.',
    '5. Stay consistent with your earlier answers in this conversation: the same entities keep the same identifiers and values.',
    '',
    'Answer in exactly this format, with nothing before or after it:',
    ...FORMAT_LINES,
    '',
    `Tool name: ${tool.name}`,
  ];
  if (tool.description !== '') lines.push(`Tool description: ${oneLine(tool.description, 600)}`);
  lines.push(`Function: ${fn.name}`);
  const about = fn.description ?? fn.summary;
  if (about !== undefined && about !== '') lines.push(`Function description: ${oneLine(about, 1000)}`);
  const half = Math.max(200, Math.floor(maxSpecChars / 2));
  lines.push(`Input schema: ${safeJson(fn.inputSchema).slice(0, half)}`);
  if (fn.outputSchema !== undefined) lines.push(`Output schema: ${safeJson(fn.outputSchema).slice(0, half)}`);
  const example = exampleResponseOf(tool, fn);
  if (example !== undefined) {
    const text = typeof example === 'string' ? example : safeJson(example);
    lines.push(`Example of a successful result of ${fn.name}: ${text.slice(0, 3000)}`);
  }
  return lines.join('\n');
}

/** The user message of one call: a curl command for an HTTP function, the call as JSON for any other. */
export function simulatorRequest(tool: Tool, fn: ToolFunction, args: Record<string, unknown>): string {
  const binding = httpBindingOf(fn);
  if (binding !== undefined) return requestMessage(toCurl(buildHttpRequest(tool, binding, args)));
  return `Call:\n${JSON.stringify({ function: fn.name, arguments: args })}`;
}

/** How feedback names the called operation: `GET /path`, or `function name`. */
function operationLabel(fn: ToolFunction): string {
  const binding = httpBindingOf(fn);
  return binding !== undefined ? `${binding.method.toUpperCase()} ${binding.path}` : `function ${fn.name}`;
}

function requestMessage(curl: string): string {
  return `Request:\n${curl}`;
}

function formatReminder(problem: string): string {
  return [
    `Your answer could not be read: ${problem}.`,
    'Answer the same request again in exactly this format:',
    ...FORMAT_LINES,
  ].join('\n');
}

function schemaFeedback(fn: ToolFunction, errors: string[], schema: JsonSchema | undefined): string {
  const lines = [
    `The Response of your 2xx answer does not match the response schema of ${operationLabel(fn)}:`,
    ...errors.slice(0, 10).map((e) => `- ${oneLine(e, 200)}`),
  ];
  if (schema !== undefined) {
    const text = safeJson(schema);
    if (text.length <= 3000) lines.push(`Response schema: ${text}`);
  }
  lines.push('Answer the same request again, in the same format, with a Response that satisfies the schema.');
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------------------
// Deterministic repair

function cloneJson(value: unknown): unknown {
  return value === undefined ? undefined : (JSON.parse(JSON.stringify(value)) as unknown);
}

function decodePointer(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** The value at `path` in the generated body, indices wrapping around its arrays. */
function mappedValue(generated: unknown, path: string[]): { value: unknown } | undefined {
  let node = generated;
  for (const part of path) {
    if (Array.isArray(node)) {
      if (node.length === 0) return undefined;
      const index = Number(part);
      if (!Number.isInteger(index) || index < 0) return undefined;
      node = node[index % node.length];
    } else if (isRecord(node) && part in node) {
      node = node[part];
    } else {
      return undefined;
    }
  }
  return { value: cloneJson(node) };
}

/** Sets the value at `path` in `root` (root itself when the path is empty); returns the new root. */
function setAt(root: unknown, path: string[], value: unknown): unknown {
  if (path.length === 0) return value;
  let node = root;
  for (const part of path.slice(0, -1)) {
    if (Array.isArray(node)) node = node[Number(part)];
    else if (isRecord(node)) node = node[part];
    else return root;
  }
  const last = path[path.length - 1]!;
  if (Array.isArray(node)) node[Number(last)] = value;
  else if (isRecord(node)) node[last] = value;
  return root;
}

function deleteAt(root: unknown, path: string[]): void {
  let node = root;
  for (const part of path.slice(0, -1)) {
    if (Array.isArray(node)) node = node[Number(part)];
    else if (isRecord(node)) node = node[part];
    else return;
  }
  const last = path[path.length - 1];
  if (last !== undefined && isRecord(node)) delete node[last];
}

export interface RepairResult {
  body: unknown;
  /** 'patched': the model's body with the failing places replaced; 'generated': schema-generated data. */
  method: 'patched' | 'generated';
}

/**
 * A body valid against `schema`, as close to `body` as a few rounds of patching get: each place ajv
 * complains about (missing required field, wrong type, unknown property...) takes the value at the same
 * place of a body generated from the schema (`generateFromSchema`, seeded); when patching does not converge
 * the generated body is used whole.
 */
export function repairBody(body: unknown, schema: JsonSchema, seed: number): RepairResult {
  const validate = compileSchema(schema);
  const generated = generateFromSchema(schema, seed);
  let current = cloneJson(body);
  for (let round = 0; round < 6; round++) {
    if (validate(current)) return { body: current, method: 'patched' };
    const errors = [...(validate.errors ?? [])];
    let changed = false;
    for (const error of errors) {
      const path = decodePointer(error.instancePath);
      const params = error.params as Record<string, unknown>;
      if (error.keyword === 'required' && typeof params.missingProperty === 'string') {
        const target = [...path, params.missingProperty];
        const fill = mappedValue(generated, target);
        if (fill === undefined) return { body: generated, method: 'generated' };
        current = setAt(current, target, fill.value);
        changed = true;
      } else if (error.keyword === 'additionalProperties' && typeof params.additionalProperty === 'string') {
        deleteAt(current, [...path, params.additionalProperty]);
        changed = true;
      } else {
        const fill = mappedValue(generated, path);
        if (fill === undefined) return { body: generated, method: 'generated' };
        current = setAt(current, path, fill.value);
        changed = true;
      }
    }
    if (!changed) break;
  }
  if (validate(current)) return { body: current, method: 'patched' };
  return { body: generated, method: 'generated' };
}

// ---------------------------------------------------------------------------------------------------------
// The executor

const JSON_HEADERS = { 'content-type': 'application/json' };

function is2xx(status: number): boolean {
  return status >= 200 && status < 300;
}

function expectsJson(fn: ToolFunction): boolean {
  const type = httpBindingOf(fn)?.response?.contentType;
  return fn.outputSchema !== undefined || type === undefined || /json/i.test(type);
}

/** The options with their defaults applied. */
interface SimulatorSettings {
  maxAttempts: number;
  memoryTurns: number;
  maxInstances: number;
  maxRepairs: number;
  maxParseRetries: number;
  temperature: number;
  stage: string;
  maxTokens: number | undefined;
  maxSpecChars: number | undefined;
  examples: SimulatedExecutorBaseOptions['examples'];
  checkOptions: CheckOptions;
}

type GivenModelOptions = Partial<SimulatedExecutorModelOptions & SimulatedExecutorSpecOptions>;

/** Throws unless the options give a model or a model spec. */
function checkModelGiven(options: SimulatedExecutorOptions): GivenModelOptions {
  const given = options as GivenModelOptions | undefined;
  if (
    typeof given !== 'object' ||
    given === null ||
    (given.model === undefined && (typeof given.modelSpec !== 'string' || given.modelSpec === ''))
  ) {
    throw new InputError('the simulated executor needs a model: give `model` or a model spec (`modelSpec`)');
  }
  return given;
}

function settingsOf(options: SimulatedExecutorOptions): SimulatorSettings {
  return {
    maxAttempts: Math.max(1, options.maxAttempts ?? 6),
    memoryTurns: Math.max(0, options.memoryTurns ?? 5),
    maxInstances: Math.max(1, options.maxInstances ?? 100),
    maxRepairs: Math.max(0, options.maxRepairs ?? 2),
    maxParseRetries: Math.max(0, options.maxParseRetries ?? 1),
    temperature: options.temperature ?? 0.5,
    stage: options.stage ?? 'executor',
    maxTokens: options.maxTokens,
    maxSpecChars: options.maxSpecChars,
    examples: options.examples,
    checkOptions:
      options.unknownParameters !== undefined ? { unknownParameters: options.unknownParameters } : {},
  };
}

/**
 * The model: given, or built from its spec on first use (so creating the executor stays synchronous).
 * `close` closes only a model built here; a given model is left open.
 */
function lazyModel(given: GivenModelOptions): { get(): Promise<ChatModel>; close(): Promise<void> } {
  let modelPromise: Promise<ChatModel> | undefined;
  let ownedModel: ChatModel | undefined;
  return {
    get() {
      if (given.model !== undefined) return Promise.resolve(given.model);
      const spec = given.modelSpec ?? '';
      const modelOptions = given.modelOptions ?? {};
      modelPromise ??= import('../models/create-model.js').then(async ({ createChatModel }) => {
        const model = await createChatModel(spec, modelOptions);
        ownedModel = model;
        return model;
      });
      return modelPromise;
    },
    async close() {
      if (modelPromise === undefined) return;
      const pending = modelPromise;
      modelPromise = undefined;
      try {
        await pending;
      } catch {
        // Building the model failed; nothing to close.
      }
      const model = ownedModel;
      ownedModel = undefined;
      await model?.close?.();
    },
  };
}

/** Bounded memory of earlier exchanges per (instance, tool); the Map order is the LRU order of instances. */
class ExchangeMemory {
  private readonly memory = new Map<string, Map<string, SimulatedExchange[]>>();

  constructor(
    private readonly turns: number,
    private readonly maxInstances: number,
  ) {}

  /** The exchanges to replay before a call (marks the instance most recently used). */
  recall(instanceId: string | undefined, toolName: string): SimulatedExchange[] {
    if (instanceId === undefined || this.turns === 0) return [];
    const perInstance = this.memory.get(instanceId);
    if (perInstance === undefined) return [];
    this.memory.delete(instanceId); // most recently used goes last
    this.memory.set(instanceId, perInstance);
    return perInstance.get(toolName) ?? [];
  }

  remember(instanceId: string | undefined, toolName: string, exchange: SimulatedExchange): void {
    if (instanceId === undefined || this.turns === 0) return;
    let perInstance = this.memory.get(instanceId);
    if (perInstance === undefined) {
      perInstance = new Map();
      this.memory.set(instanceId, perInstance);
      while (this.memory.size > this.maxInstances) {
        const oldest = this.memory.keys().next().value;
        if (oldest === undefined) break;
        this.memory.delete(oldest);
      }
    }
    const list = perInstance.get(toolName) ?? [];
    list.push(exchange);
    while (list.length > this.turns) list.shift();
    perInstance.set(toolName, list);
  }

  of(instanceId: string, toolName: string): readonly SimulatedExchange[] {
    return [...(this.memory.get(instanceId)?.get(toolName) ?? [])];
  }

  forget(instanceId: string): void {
    this.memory.delete(instanceId);
  }

  clear(): void {
    this.memory.clear();
  }
}

/** One call to simulate, after its arguments were checked. */
interface SimulatedCall {
  model: ChatModel;
  settings: SimulatorSettings;
  memory: ExchangeMemory;
  tool: Tool;
  fn: ToolFunction;
  args: Record<string, unknown>;
  context: ExecutionContext | undefined;
  start: number;
  /** Argument warnings, then the simulation's own; the observation carries them. */
  warnings: string[];
}

/** An answer read from the model's reply. */
interface SimulatedAnswer {
  status: number;
  body: unknown;
  json: boolean;
  explanation?: string;
}

/** The system prompt, the remembered exchanges of this instance and tool, then the request. */
async function promptMessages(call: SimulatedCall, request: string): Promise<ChatMessage[]> {
  const { tool, fn, settings } = call;
  const examples = (await settings.examples?.(tool, fn)) ?? [];
  const messages: ChatMessage[] = [
    { role: 'system', content: simulatorSystemPrompt(tool, fn, settings.maxSpecChars, examples) },
  ];
  for (const exchange of call.memory.recall(call.context?.instanceId, tool.name)) {
    messages.push(
      { role: 'user', content: exchange.request },
      { role: 'assistant', content: exchange.reply },
    );
  }
  messages.push({ role: 'user', content: request });
  return messages;
}

/** The model's reply text, or a 502 observation when the model failed after the model layer's retries. */
async function askModel(
  call: SimulatedCall,
  messages: ChatMessage[],
  seed: number,
): Promise<string | Observation> {
  const { model, settings, context } = call;
  try {
    const response = await model.chat(
      {
        messages,
        temperature: settings.temperature,
        seed,
        ...(settings.maxTokens !== undefined ? { maxTokens: settings.maxTokens } : {}),
      },
      { stage: settings.stage, ...(context?.signal !== undefined ? { signal: context.signal } : {}) },
    );
    return response.text;
  } catch (error) {
    if (!(error instanceof ModelCallError) || error.kind === 'aborted') throw error;
    const reason = oneLine(
      `simulated ${callLabel(call)}: model ${model.id} failed (${error.kind}): ${error.message}`,
    );
    return failure(reason, call.start, call.warnings);
  }
}

function callLabel(call: SimulatedCall): string {
  return `tool '${call.tool.name}' function '${call.fn.name}'`;
}

/** The schema errors of a 2xx body (none when the function has no response schema). */
function bodyErrors(answer: SimulatedAnswer, validate: ReturnType<typeof compileSchema>): string[] {
  if (!answer.json && typeof answer.body === 'string') return ['the Response is not valid JSON'];
  return validate(answer.body) ? [] : schemaErrors(validate, 'response body');
}

/** Last resort after the re-asks: the body patched (or replaced) from schema-generated data, with a warning. */
function repairedAnswer(
  call: SimulatedCall,
  answer: SimulatedAnswer,
  schema: JsonSchema,
  errors: string[],
  repairs: number,
): SimulatedAnswer {
  const repaired = repairBody(
    answer.json ? answer.body : undefined,
    schema,
    callSeed(call.tool.name, call.fn.name, call.args),
  );
  const summary = errors.slice(0, 3).join('; ');
  const reasks = `${repairs} re-ask${repairs === 1 ? '' : 's'}`;
  call.warnings.push(
    repaired.method === 'patched'
      ? `simulated response did not match the response schema after ${reasks} (${summary}); the failing fields were filled from the schema`
      : `simulated response did not match the response schema after ${reasks} (${summary}); replaced by schema-generated data`,
  );
  return { ...answer, body: repaired.body, json: true };
}

/**
 * Asks the model until an answer is accepted: unreadable replies are re-asked with a format reminder,
 * non-2xx answers are asked again until a status repeats (ToolAlpaca's rule), and 2xx bodies that miss the
 * response schema are re-asked with the errors, then repaired.
 */
async function simulateCall(call: SimulatedCall): Promise<Observation> {
  const { tool, fn, settings } = call;
  const request = simulatorRequest(tool, fn, call.args);
  const base = await promptMessages(call, request);
  const schema = fn.outputSchema;
  const validate = schema !== undefined ? compileSchema(schema) : undefined;
  const seen = new Set<number>();
  let messages = base;
  let calls = 0;
  let statusAnswers = 0;
  let parseFailures = 0;
  let repairs = 0;
  let firstError: SimulatedAnswer | undefined;

  const finish = (answer: SimulatedAnswer): Observation => {
    const reply = formatSimulatorReply(answer.status, answer.body, answer.explanation);
    call.memory.remember(call.context?.instanceId, tool.name, { request, reply });
    return {
      status: answer.status,
      body: answer.body,
      headers: answer.json ? { ...JSON_HEADERS } : { 'content-type': 'text/plain' },
      source: 'simulated',
      latencyMs: elapsedMs(call.start),
      ...(call.warnings.length > 0 ? { warnings: call.warnings } : {}),
    };
  };
  const reaskAfter = (text: string, content: string): ChatMessage[] => [
    ...messages,
    { role: 'assistant', content: text },
    { role: 'user', content },
  ];

  for (;;) {
    const text = await askModel(call, messages, calls);
    if (typeof text !== 'string') return text;
    calls += 1;
    const parsed = parseSimulatorReply(text);
    if (!parsed.ok) {
      parseFailures += 1;
      if (parseFailures > settings.maxParseRetries) {
        const reason = oneLine(
          `simulated ${callLabel(call)}: model ${call.model.id} gave no readable answer after ${parseFailures} tries (${parsed.error}): ${text}`,
          400,
        );
        return failure(reason, call.start, call.warnings);
      }
      messages = reaskAfter(text, formatReminder(parsed.error));
      continue;
    }
    const answer: SimulatedAnswer = parsed.reply;

    if (!is2xx(answer.status)) {
      // ToolAlpaca's rule: ask again for a non-2xx answer, stop when a status code repeats.
      statusAnswers += 1;
      if (seen.has(answer.status)) return finish(answer);
      firstError ??= answer;
      if (statusAnswers >= settings.maxAttempts) return finish(firstError);
      seen.add(answer.status);
      messages = base;
      continue;
    }

    if (validate === undefined) {
      if (!answer.json && expectsJson(fn) && typeof answer.body === 'string') {
        // Text where JSON was expected, and no schema to hold it to: pass it on as text, as ToolAlpaca does.
        call.warnings.push('the simulated Response was not JSON');
      }
      return finish(answer);
    }
    const errors = bodyErrors(answer, validate);
    if (errors.length === 0) return finish(answer);
    if (repairs < settings.maxRepairs) {
      repairs += 1;
      messages = reaskAfter(text, schemaFeedback(fn, errors, schema));
      continue;
    }
    return finish(repairedAnswer(call, answer, schema!, errors, repairs));
  }
}

/** The simulated executor (`kind` and observation `source` are `simulated`). */
export function createSimulatedExecutor(options: SimulatedExecutorOptions): SimulatedExecutor {
  const model = lazyModel(checkModelGiven(options));
  const settings = settingsOf(options);
  const memory = new ExchangeMemory(settings.memoryTurns, settings.maxInstances);
  return {
    kind: 'simulated',
    async execute(tool, functionName, args, context?: ExecutionContext): Promise<Observation> {
      const start = performance.now();
      const prepared = prepareCall(tool, functionName, args, 'simulated', settings.checkOptions);
      if (!prepared.ok) return prepared.observation;
      return simulateCall({
        model: await model.get(),
        settings,
        memory,
        tool,
        fn: prepared.fn,
        args: prepared.args,
        context,
        start,
        warnings: [...prepared.warnings],
      });
    },
    forgetInstance(instanceId: string): void {
      memory.forget(instanceId);
    },
    forgetAll(): void {
      memory.clear();
    },
    memoryOf(instanceId: string, toolName: string): readonly SimulatedExchange[] {
      return memory.of(instanceId, toolName);
    },
    async close(): Promise<void> {
      memory.clear();
      await model.close();
    },
  };
}

function failure(reason: string, start: number, warnings: string[]): Observation {
  return {
    status: 502,
    body: { error: reason },
    headers: { ...JSON_HEADERS },
    source: 'simulated',
    latencyMs: elapsedMs(start),
    error: reason,
    ...(warnings.length > 0 ? { warnings } : {}),
  };
}
