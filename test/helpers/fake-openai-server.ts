/**
 * A fake OpenAI-compatible HTTP server for tests and benchmarks: chat completions (plain and SSE
 * streaming, text and tool calls), text completions (`POST /v1/completions`, as vLLM and llama.cpp
 * server offer for checkpoints without a chat template), `GET /v1/models` and `POST /v1/embeddings`. Replies are scripted
 * (a queue consumed in order) or come from a default responder; latency and faults (429 with
 * Retry-After, 5xx, a hang, malformed JSON, a cut stream, a dropped connection) are injectable.
 *
 * Built on node:http with keep-alive and no per-request logging: the model-layer benchmark measures
 * the per-call overhead of the client against this server, so the server must stay cheap.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { isRecord } from '../../src/core/json-text.js';

type JsonSchema = Record<string, unknown>;

/** A chat message as the OpenAI wire format carries it. */
export interface FakeWireMessage {
  role: 'system' | 'developer' | 'user' | 'assistant' | 'tool';
  content?: string | { type: string; text?: string }[] | null;
  name?: string;
  tool_call_id?: string;
  tool_calls?: { id: string; type: 'function'; function: { name: string; arguments: string } }[];
}

export interface FakeWireTool {
  type: 'function';
  function: { name: string; description?: string; parameters?: JsonSchema; strict?: boolean };
}

/**
 * A request body as received (parsed JSON). Chat completion bodies are shape-checked before a responder
 * sees them (messages, tools, tool_choice), so the typed fields can be trusted there.
 */
export interface FakeRequestBody {
  model?: string;
  messages?: FakeWireMessage[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean } | null;
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  stop?: string | string[] | null;
  seed?: number | null;
  tools?: FakeWireTool[];
  tool_choice?: 'auto' | 'none' | 'required' | { type: 'function'; function: { name: string } };
  response_format?: {
    type: 'text' | 'json_object' | 'json_schema';
    json_schema?: { name?: string; schema?: JsonSchema; strict?: boolean | null };
  };
  /** Text completions. */
  prompt?: string | string[];
  /** Embeddings. */
  input?: string | string[] | number[] | number[][];
  dimensions?: number;
  encoding_format?: 'float' | 'base64';
  [key: string]: unknown;
}

export interface RecordedRequest {
  method: string;
  /** Path without the query string, e.g. "/v1/chat/completions". */
  path: string;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body; `{}` for a request without a body. */
  body: FakeRequestBody;
  /** When the request arrived (performance clock, ms); latency counts from here. */
  arrivedAt: number;
}

export interface FakeUsage {
  prompt_tokens: number;
  completion_tokens: number;
}

/** Fields every reply may carry. */
interface ReplyCommon {
  /** Delay before answering this request, overriding the server's latency. */
  delayMs?: number;
}

export interface FakeTextReply extends ReplyCommon {
  /** Returned verbatim (scripted text is not cut by `max_tokens` or `stop`; the default responder's is). */
  text: string;
  usage?: Partial<FakeUsage>;
  finishReason?: string;
}

export interface FakeToolCallReply extends ReplyCommon {
  toolCalls: { name: string; arguments: string; id?: string }[];
  /** Assistant content next to the calls (null when absent). */
  text?: string;
  usage?: Partial<FakeUsage>;
  /** Default "tool_calls". */
  finishReason?: string;
}

export type FakeFaultReply = ReplyCommon &
  /** 429 with a Retry-After header (seconds; default 1). */
  (
    | { fault: 'rate_limit'; retryAfterSeconds?: number }
    /** A 5xx (default 500) with an OpenAI-style error body. */
    | { fault: 'server_error'; status?: number }
    /** A 4xx (default 400) with an OpenAI-style error body. */
    | { fault: 'client_error'; status?: number; message?: string }
    /** Never answers; the socket stays open until the client gives up or the server closes. */
    | { fault: 'hang' }
    /** 200 with a truncated JSON body (for a streaming request: an SSE event whose data is broken JSON). */
    | { fault: 'malformed_json' }
    /** Starts the answer (SSE chunks, or half a JSON body), then destroys the socket. */
    | { fault: 'cut_stream' }
    /** Destroys the socket when the request arrives (after the latency), without any response. */
    | { fault: 'drop_connection' }
  );

export type FakeReply = FakeTextReply | FakeToolCallReply | FakeFaultReply;

export type FakeResponder = (body: FakeRequestBody) => FakeReply;

export interface FakeOpenAIOptions {
  /** Delay before every answer, in ms (default 0). */
  latencyMs?: number;
  /** Port to listen on (default: a free one). The server binds 127.0.0.1. */
  port?: number;
  /** When set, requests must carry `Authorization: Bearer <apiKey>`, otherwise 401. */
  apiKey?: string;
  /** Model ids `GET /v1/models` lists (default ["fake-model"]). With `strictModels`, others get a 404. */
  models?: string[];
  strictModels?: boolean;
  /** Record requests in `requests` (default true; benchmarks may turn it off). */
  record?: boolean;
}

export interface FakeOpenAI {
  /** Base URL for OpenAI clients, e.g. "http://127.0.0.1:43123/v1". */
  baseUrl: string;
  /** "http://127.0.0.1:43123". */
  origin: string;
  port: number;
  /** Every request received (all endpoints), in arrival order. */
  requests: RecordedRequest[];
  /** Queue replies for the next chat completion requests, consumed in order. */
  script(...replies: FakeReply[]): void;
  /** Replies still queued. */
  pendingScript(): number;
  /**
   * Resolves once at least `count` requests have arrived in total. Tests that abort a hung request wait
   * for it to reach the server first, so a slow machine cannot leave it in flight into the next test.
   */
  waitForRequests(count: number, timeoutMs?: number): Promise<void>;
  /** Bodies of the chat-completion requests received, in arrival order. */
  chatRequests(): FakeRequestBody[];
  /** Bodies of the text-completion requests (`/v1/completions`) received, in arrival order. */
  completionRequests(): FakeRequestBody[];
  /** Replace the responder used when the script is empty. */
  setDefault(responder: FakeResponder): void;
  /** Replace the `/v1/completions` responder used when the script is empty (default: an echo of the prompt's end). */
  setCompletionDefault(responder: FakeResponder): void;
  setLatency(ms: number): void;
  /** Clear requests and script, restore the default responder and the starting latency. */
  reset(): void;
  /** Stop listening and destroy every open connection (hung requests included). Idempotent. */
  close(): Promise<void>;
}

const JSON_HEADERS = { 'Content-Type': 'application/json' };
const SSE_HEADERS = { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' };

/** ~4 characters per token, at least 1 for non-empty text. */
function tokensOf(chars: number): number {
  return Math.ceil(chars / 4);
}

/** The text of a message's content (a string, or the text parts of a list). */
export function contentText(content: FakeWireMessage['content']): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((part) => part.text ?? '').join('');
  return '';
}

/** Every message's text of a request, one per line: what a responder matches prompts against. */
export function promptText(body: FakeRequestBody): string {
  return (body.messages ?? []).map((message) => contentText(message.content)).join('\n');
}

function promptTokens(body: FakeRequestBody): number {
  let chars = 0;
  let messages = 0;
  for (const message of body.messages ?? []) {
    messages += 1;
    chars += contentText(message.content).length;
    for (const call of message.tool_calls ?? [])
      chars += call.function.name.length + call.function.arguments.length;
  }
  // Tool definitions count against the prompt, as they do on the real API.
  if (body.tools)
    for (const tool of body.tools)
      chars += tool.function.name.length + (tool.function.description?.length ?? 0);
  return tokensOf(chars) + 3 * messages + 1;
}

// ---------------------------------------------------------------------------------------------------
// Minimal valid JSON instances for a JSON Schema (used for json_schema replies and tool arguments).

function resolveRef(ref: string, root: unknown): unknown {
  if (!ref.startsWith('#')) return {};
  let node: unknown = root;
  for (const raw of ref.slice(1).split('/').filter(Boolean)) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    node = isRecord(node) ? node[key] : undefined;
  }
  return node ?? {};
}

/** Shallow merge of allOf branches: properties merged, required united, other keywords overwritten. */
function mergeAllOf(schema: Record<string, unknown>, root: unknown): Record<string, unknown> {
  const { allOf, ...rest } = schema;
  const merged: Record<string, unknown> = { ...rest };
  const properties: Record<string, unknown> = isRecord(rest.properties) ? { ...rest.properties } : {};
  const required = new Set<string>(Array.isArray(rest.required) ? (rest.required as string[]) : []);
  for (const part of Array.isArray(allOf) ? allOf : []) {
    let branch: unknown = part;
    if (isRecord(branch) && typeof branch.$ref === 'string') branch = resolveRef(branch.$ref, root);
    if (!isRecord(branch)) continue;
    if (branch.allOf) branch = mergeAllOf(branch, root);
    const b = branch as Record<string, unknown>;
    for (const [key, value] of Object.entries(b)) {
      if (key === 'properties' && isRecord(value)) Object.assign(properties, value);
      else if (key === 'required' && Array.isArray(value)) for (const r of value) required.add(String(r));
      else if (!(key in merged)) merged[key] = value;
    }
  }
  if (Object.keys(properties).length > 0) merged.properties = properties;
  if (required.size > 0) merged.required = [...required];
  return merged;
}

const STRING_FORMATS: Record<string, string> = {
  'date-time': '2024-01-01T00:00:00Z',
  date: '2024-01-01',
  time: '00:00:00Z',
  email: 'user@example.com',
  'idn-email': 'user@example.com',
  uri: 'https://example.com',
  url: 'https://example.com',
  'uri-reference': 'https://example.com',
  iri: 'https://example.com',
  hostname: 'example.com',
  ipv4: '127.0.0.1',
  ipv6: '::1',
  uuid: '00000000-0000-4000-8000-000000000000',
  duration: 'P1D',
};
const STRING_CANDIDATES = [
  'a',
  'x',
  'A',
  '0',
  '1',
  'abc',
  'user@example.com',
  'https://example.com',
  '2024-01-01',
];

function minimalString(schema: Record<string, unknown>): string {
  const minLength = typeof schema.minLength === 'number' ? schema.minLength : 0;
  const maxLength = typeof schema.maxLength === 'number' ? schema.maxLength : Infinity;
  const fit = (s: string): string => (s.length < minLength ? s.padEnd(minLength, s.slice(-1) || 'a') : s);
  const format = typeof schema.format === 'string' ? STRING_FORMATS[schema.format] : undefined;
  if (format !== undefined) return format;
  if (typeof schema.pattern === 'string') {
    try {
      const pattern = new RegExp(schema.pattern, 'u');
      for (const candidate of STRING_CANDIDATES) {
        const value = fit(candidate);
        if (value.length <= maxLength && pattern.test(value)) return value;
      }
    } catch {
      // An invalid pattern: fall through to a plain string.
    }
  }
  return fit('a').slice(0, maxLength);
}

function minimalNumber(schema: Record<string, unknown>, integer: boolean): number {
  const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
  const step = integer ? 1 : 0.5;
  let low = num(schema.minimum);
  let high = num(schema.maximum);
  // Draft 6+: exclusiveMinimum is a number; draft 4: a boolean qualifying minimum.
  if (num(schema.exclusiveMinimum) !== undefined) low = num(schema.exclusiveMinimum)! + step;
  else if (schema.exclusiveMinimum === true && low !== undefined) low += step;
  if (num(schema.exclusiveMaximum) !== undefined) high = num(schema.exclusiveMaximum)! - step;
  else if (schema.exclusiveMaximum === true && high !== undefined) high -= step;
  let value = 0;
  if (low !== undefined && value < low) value = integer ? Math.ceil(low) : low;
  if (high !== undefined && value > high) value = integer ? Math.floor(high) : high;
  const multipleOf = num(schema.multipleOf);
  if (multipleOf !== undefined && multipleOf > 0) value = Math.ceil(value / multipleOf) * multipleOf;
  return value;
}

function distinctVariant(value: unknown, index: number): unknown {
  if (typeof value === 'string') return index === 0 ? value : `${value}${index}`;
  if (typeof value === 'number') return value + index;
  return value;
}

/** A small JSON value valid for `schema` (best effort: complex `pattern`s and `not` are not honoured). */
export function minimalInstance(schema: unknown, root: unknown = schema, depth = 0): unknown {
  if (!isRecord(schema) || depth > 32) return null;
  if (typeof schema.$ref === 'string') return minimalInstance(resolveRef(schema.$ref, root), root, depth + 1);
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  if (Array.isArray(schema.allOf)) return minimalInstance(mergeAllOf(schema, root), root, depth + 1);
  for (const key of ['anyOf', 'oneOf'] as const) {
    const branches = schema[key];
    if (Array.isArray(branches) && branches.length > 0) {
      const { [key]: _drop, ...rest } = schema;
      return minimalInstance({ ...rest, ...(branches[0] as object) }, root, depth + 1);
    }
  }
  let type = schema.type;
  if (Array.isArray(type)) type = type.find((t) => t !== 'null') ?? type[0];
  if (type === undefined) {
    if (isRecord(schema.properties) || Array.isArray(schema.required)) type = 'object';
    else if (schema.items !== undefined || schema.prefixItems !== undefined) type = 'array';
    else if (schema.minLength !== undefined || schema.pattern !== undefined || schema.format !== undefined)
      type = 'string';
    else if (schema.minimum !== undefined || schema.maximum !== undefined) type = 'number';
  }
  switch (type) {
    case 'object': {
      const properties = isRecord(schema.properties) ? schema.properties : {};
      const out: Record<string, unknown> = {};
      const required = Array.isArray(schema.required) ? (schema.required as unknown[]).map(String) : [];
      const extra = isRecord(schema.additionalProperties) ? schema.additionalProperties : {};
      for (const name of required) out[name] = minimalInstance(properties[name] ?? extra, root, depth + 1);
      const minProperties = typeof schema.minProperties === 'number' ? schema.minProperties : 0;
      for (const name of Object.keys(properties)) {
        if (Object.keys(out).length >= minProperties) break;
        if (!(name in out)) out[name] = minimalInstance(properties[name], root, depth + 1);
      }
      return out;
    }
    case 'array': {
      const minItems = typeof schema.minItems === 'number' ? schema.minItems : 0;
      const prefix = Array.isArray(schema.prefixItems)
        ? schema.prefixItems
        : Array.isArray(schema.items)
          ? schema.items
          : [];
      const items = isRecord(schema.items) ? schema.items : {};
      const out: unknown[] = [];
      for (let i = 0; i < Math.max(minItems, 0); i++) {
        const value = minimalInstance(i < prefix.length ? prefix[i] : items, root, depth + 1);
        out.push(schema.uniqueItems === true ? distinctVariant(value, i) : value);
      }
      return out;
    }
    case 'string':
      return minimalString(schema);
    case 'integer':
      return minimalNumber(schema, true);
    case 'number':
      return minimalNumber(schema, false);
    case 'boolean':
      return false;
    default:
      return null;
  }
}

// ---------------------------------------------------------------------------------------------------
// The default responder.

function lastMessage(body: FakeRequestBody): FakeWireMessage | undefined {
  const messages = body.messages ?? [];
  return messages[messages.length - 1];
}

/** The text of the last user message of a request ('' when there is none). */
export function lastUserText(body: FakeRequestBody): string {
  const messages = body.messages ?? [];
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i]!.role === 'user') return contentText(messages[i]!.content);
  }
  return '';
}

function toolArguments(tool: FakeWireTool): string {
  const value = minimalInstance(tool.function.parameters ?? { type: 'object' });
  return JSON.stringify(isRecord(value) ? value : {});
}

/**
 * What the server answers when nothing is scripted: a minimal instance for `response_format`
 * json_schema, a call of the named (or first) tool for `tool_choice` "required" / a named function,
 * an object for json_object, otherwise a short echo of the last user message (or of a tool result).
 */
export function defaultReply(body: FakeRequestBody): FakeReply {
  const tools = body.tools ?? [];
  const choice = body.tool_choice;
  if (tools.length > 0 && choice !== undefined && choice !== 'auto' && choice !== 'none') {
    const tool =
      typeof choice === 'object' ? tools.find((t) => t.function.name === choice.function.name) : tools[0];
    if (tool) return { toolCalls: [{ name: tool.function.name, arguments: toolArguments(tool) }] };
  }
  const format = body.response_format;
  if (format?.type === 'json_schema') {
    return { text: JSON.stringify(minimalInstance(format.json_schema?.schema ?? { type: 'object' })) };
  }
  if (format?.type === 'json_object')
    return { text: JSON.stringify({ echo: lastUserText(body).slice(0, 200) }) };
  const last = lastMessage(body);
  if (last?.role === 'tool') {
    return { text: `Tool result received: ${contentText(last.content).slice(0, 200)}` };
  }
  return { text: `Echo: ${lastUserText(body).slice(0, 200)}` };
}

/** Cuts default text at the first stop sequence and at max_tokens (~4 chars/token), like a real server. */
function applyLimits(text: string, body: FakeRequestBody): { text: string; finishReason: string } {
  let out = text;
  let finishReason = 'stop';
  const stops = typeof body.stop === 'string' ? [body.stop] : (body.stop ?? []);
  for (const stop of stops) {
    const at = stop ? out.indexOf(stop) : -1;
    if (at >= 0) out = out.slice(0, at);
  }
  const maxTokens = body.max_completion_tokens ?? body.max_tokens;
  if (typeof maxTokens === 'number' && tokensOf(out.length) > maxTokens) {
    out = out.slice(0, Math.max(0, maxTokens * 4));
    finishReason = 'length';
  }
  return { text: out, finishReason };
}

// ---------------------------------------------------------------------------------------------------
// Request validation (a subset of what the real API rejects with 400).

function validateChat(body: FakeRequestBody): string | undefined {
  if (typeof body.model !== 'string' || body.model === '') return 'you must provide a model parameter';
  if (!Array.isArray(body.messages) || body.messages.length === 0)
    return "'messages' must be a non-empty array";
  const callIds = new Set<string>();
  for (const [i, message] of body.messages.entries()) {
    if (!isRecord(message)) return `messages[${i}] must be an object`;
    if (!['system', 'developer', 'user', 'assistant', 'tool'].includes(message.role as string)) {
      return `messages[${i}].role '${String(message.role)}' is not one of system, developer, user, assistant, tool`;
    }
    const content = message.content;
    if (content !== undefined && content !== null && typeof content !== 'string' && !Array.isArray(content)) {
      return `messages[${i}].content must be a string or an array of parts`;
    }
    if (message.role === 'assistant' && message.tool_calls !== undefined) {
      if (!Array.isArray(message.tool_calls)) return `messages[${i}].tool_calls must be an array`;
      for (const call of message.tool_calls) {
        if (
          !isRecord(call) ||
          typeof call.id !== 'string' ||
          call.type !== 'function' ||
          !isRecord(call.function) ||
          typeof call.function.name !== 'string' ||
          typeof call.function.arguments !== 'string'
        ) {
          return `messages[${i}].tool_calls entries need id, type 'function', function.name and function.arguments (string)`;
        }
        callIds.add(call.id);
      }
    }
    if (message.role === 'tool') {
      if (typeof message.tool_call_id !== 'string')
        return `messages[${i}] with role 'tool' needs tool_call_id`;
      if (!callIds.has(message.tool_call_id)) {
        return `messages[${i}] with role 'tool' must answer a preceding assistant tool_calls id (got '${message.tool_call_id}')`;
      }
    }
  }
  if (body.tools !== undefined) {
    if (!Array.isArray(body.tools)) return "'tools' must be an array";
    for (const [i, tool] of body.tools.entries()) {
      if (!isRecord(tool) || tool.type !== 'function' || !isRecord(tool.function)) {
        return `tools[${i}] must be {type: 'function', function: {...}}`;
      }
      if (typeof tool.function.name !== 'string' || !/^[a-zA-Z0-9_-]{1,64}$/.test(tool.function.name)) {
        return `tools[${i}].function.name must match ^[a-zA-Z0-9_-]{1,64}$`;
      }
    }
  }
  const choice = body.tool_choice;
  if (isRecord(choice)) {
    const name = isRecord(choice.function) ? choice.function.name : undefined;
    if (!body.tools?.some((t) => t.function.name === name))
      return `tool_choice names unknown function '${String(name)}'`;
  }
  const format = body.response_format;
  if (format !== undefined && format !== null) {
    if (!isRecord(format) || !['text', 'json_object', 'json_schema'].includes(format.type as string)) {
      return "response_format.type must be 'text', 'json_object' or 'json_schema'";
    }
    if (
      format.type === 'json_schema' &&
      (!isRecord(format.json_schema) || !isRecord(format.json_schema.schema))
    ) {
      return 'response_format.json_schema.schema must be an object';
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------
// Response writers.

function sendJson(
  res: ServerResponse,
  status: number,
  payload: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(payload);
  res.writeHead(status, { ...JSON_HEADERS, 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function sendError(
  res: ServerResponse,
  status: number,
  message: string,
  type: string,
  code: string | null = null,
  headers: Record<string, string> = {},
): void {
  sendJson(res, status, { error: { message, type, param: null, code } }, headers);
}

interface BuiltReply {
  text: string | null;
  toolCalls: { id: string; type: 'function'; function: { name: string; arguments: string } }[];
  finishReason: string;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

function sseEvent(payload: unknown): string {
  return `data: ${JSON.stringify(payload)}\n\n`;
}

/** Splits text into word-sized SSE deltas (the real API sends roughly one token per chunk). */
function textPieces(text: string): string[] {
  return text.match(/\S+\s*|\s+/g) ?? [];
}

function streamEvents(
  id: string,
  created: number,
  model: string,
  reply: BuiltReply,
  includeUsage: boolean,
): string[] {
  const base = { id, object: 'chat.completion.chunk', created, model, system_fingerprint: 'fp_fake' };
  const usageField = includeUsage ? { usage: null } : {};
  const chunk = (delta: Record<string, unknown>, finish: string | null): string =>
    sseEvent({
      ...base,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      ...usageField,
    });
  const events: string[] = [chunk({ role: 'assistant', content: reply.toolCalls.length ? null : '' }, null)];
  if (reply.text) for (const piece of textPieces(reply.text)) events.push(chunk({ content: piece }, null));
  reply.toolCalls.forEach((call, index) => {
    events.push(
      chunk(
        {
          tool_calls: [
            { index, id: call.id, type: 'function', function: { name: call.function.name, arguments: '' } },
          ],
        },
        null,
      ),
    );
    const args = call.function.arguments;
    const half = Math.ceil(args.length / 2);
    for (const part of [args.slice(0, half), args.slice(half)]) {
      if (part) events.push(chunk({ tool_calls: [{ index, function: { arguments: part } }] }, null));
    }
  });
  events.push(chunk({}, reply.finishReason));
  if (includeUsage) events.push(sseEvent({ ...base, choices: [], usage: reply.usage }));
  events.push('data: [DONE]\n\n');
  return events;
}

function completionBody(id: string, created: number, model: string, reply: BuiltReply): unknown {
  const message: Record<string, unknown> = { role: 'assistant', content: reply.text, refusal: null };
  if (reply.toolCalls.length > 0) message.tool_calls = reply.toolCalls;
  return {
    id,
    object: 'chat.completion',
    created,
    model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: reply.finishReason }],
    usage: reply.usage,
    system_fingerprint: 'fp_fake',
  };
}

// ---------------------------------------------------------------------------------------------------
// Embeddings: feature hashing of lower-cased words into `dimensions` signed buckets, L2-normalised, so
// vectors are deterministic and texts sharing words are closer than unrelated ones.

function embed(text: string, dimensions: number): number[] {
  const vector = new Array<number>(dimensions).fill(0);
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [text];
  for (const word of words) {
    const digest = createHash('sha256').update(word).digest();
    const bucket = digest.readUInt32LE(0) % dimensions;
    vector[bucket]! += digest[4]! & 1 ? 1 : -1;
    // A second, weaker bucket spreads words over more dimensions.
    vector[digest.readUInt32LE(5) % dimensions]! += digest[9]! & 1 ? 0.5 : -0.5;
  }
  let norm = Math.hypot(...vector);
  if (norm === 0) {
    vector[0] = 1;
    norm = 1;
  }
  return vector.map((v) => v / norm);
}

function embeddingInputs(input: FakeRequestBody['input']): string[] | undefined {
  if (typeof input === 'string') return [input];
  if (!Array.isArray(input) || input.length === 0) return undefined;
  if (input.every((x) => typeof x === 'string')) return input as string[];
  // Token arrays: embed their textual form.
  if (input.every((x) => typeof x === 'number')) return [input.join(' ')];
  if (input.every((x) => Array.isArray(x))) return (input as number[][]).map((x) => x.join(' '));
  return undefined;
}

// ---------------------------------------------------------------------------------------------------

export async function startFakeOpenAI(options: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  const startLatency = options.latencyMs ?? 0;
  const models = options.models ?? ['fake-model'];
  const record = options.record ?? true;
  const requests: RecordedRequest[] = [];
  let queue: FakeReply[] = [];
  let responder: FakeResponder = defaultReply;
  const defaultCompletion: FakeResponder = (body) => {
    const prompt = Array.isArray(body.prompt) ? (body.prompt[0] ?? '') : (body.prompt ?? '');
    return { text: `Echo: ${prompt.slice(-200)}` };
  };
  let completionResponder: FakeResponder = defaultCompletion;
  let latencyMs = startLatency;
  let completionCounter = 0;
  let closed = false;
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();

  const later = (ms: number, fn: () => void): void => {
    if (ms <= 0) {
      fn();
      return;
    }
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };

  const buildReply = (
    body: FakeRequestBody,
    reply: FakeTextReply | FakeToolCallReply,
    scripted: boolean,
  ): BuiltReply => {
    const id = completionCounter;
    let text: string | null;
    let finishReason: string;
    let toolCalls: BuiltReply['toolCalls'] = [];
    let completionChars = 0;
    if ('toolCalls' in reply) {
      toolCalls = reply.toolCalls.map((call, i) => ({
        id: call.id ?? `call_fake_${id}_${i}`,
        type: 'function' as const,
        function: { name: call.name, arguments: call.arguments },
      }));
      text = reply.text ?? null;
      finishReason = reply.finishReason ?? 'tool_calls';
      for (const call of toolCalls)
        completionChars += call.function.name.length + call.function.arguments.length;
      completionChars += text?.length ?? 0;
    } else if (scripted) {
      text = reply.text;
      finishReason = reply.finishReason ?? 'stop';
      completionChars = text.length;
    } else {
      const limited = applyLimits(reply.text, body);
      text = limited.text;
      finishReason = reply.finishReason ?? limited.finishReason;
      completionChars = text.length;
    }
    const prompt = reply.usage?.prompt_tokens ?? promptTokens(body);
    const completion = reply.usage?.completion_tokens ?? Math.max(1, tokensOf(completionChars));
    return {
      text,
      toolCalls,
      finishReason,
      usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion },
    };
  };

  const answerChat = (
    req: IncomingMessage,
    res: ServerResponse,
    body: FakeRequestBody,
    arrivedAt: number,
  ): void => {
    const problem = validateChat(body);
    if (problem) return sendError(res, 400, problem, 'invalid_request_error');
    if (options.strictModels && !models.includes(body.model!)) {
      return sendError(
        res,
        404,
        `The model '${body.model}' does not exist`,
        'invalid_request_error',
        'model_not_found',
      );
    }
    const scripted = queue.shift();
    const reply = scripted ?? responder(body);
    completionCounter += 1;
    // Latency counts from the request's arrival, as a model server's does: reading and parsing the
    // body here is part of it, not added on top (under a burst of requests that would be the fake's
    // own CPU showing up as model latency).
    const delay = Math.max(0, (reply.delayMs ?? latencyMs) - (performance.now() - arrivedAt));
    if ('fault' in reply && reply.fault === 'hang') return; // close() destroys the socket
    if ('fault' in reply && reply.fault === 'drop_connection')
      return later(delay, () => req.socket.destroy());
    later(delay, () => {
      if (res.destroyed || res.writableEnded) return;
      respond(res, body, reply, scripted !== undefined);
    });
  };

  const respond = (res: ServerResponse, body: FakeRequestBody, reply: FakeReply, scripted: boolean): void => {
    const stream = body.stream === true;
    if ('fault' in reply) {
      switch (reply.fault) {
        case 'rate_limit':
          return sendError(
            res,
            429,
            'Rate limit reached for requests (fake)',
            'requests',
            'rate_limit_exceeded',
            {
              'Retry-After': String(reply.retryAfterSeconds ?? 1),
            },
          );
        case 'server_error':
          return sendError(
            res,
            reply.status ?? 500,
            'The server had an error while processing your request (fake)',
            'server_error',
          );
        case 'client_error':
          return sendError(
            res,
            reply.status ?? 400,
            reply.message ?? 'Bad request (fake)',
            'invalid_request_error',
          );
        case 'malformed_json':
          if (stream) {
            res.writeHead(200, SSE_HEADERS);
            res.end(
              'data: {"id":"chatcmpl-broken","object":"chat.completion.chunk","choices":[{"delta":\n\ndata: [DONE]\n\n',
            );
          } else {
            const text =
              '{"id":"chatcmpl-broken","object":"chat.completion","choices":[{"index":0,"message":{"role":';
            res.writeHead(200, { ...JSON_HEADERS, 'Content-Length': Buffer.byteLength(text) });
            res.end(text);
          }
          return;
        case 'cut_stream': {
          const built = buildReply(
            body,
            { text: 'This answer is cut off before it ends, mid-sentence and mid-stream.' },
            true,
          );
          const id = `chatcmpl-fake-${completionCounter}`;
          let partial: string;
          if (stream) {
            res.writeHead(200, SSE_HEADERS);
            const events = streamEvents(id, Math.floor(Date.now() / 1000), body.model!, built, false);
            partial = events.slice(0, Math.max(2, Math.floor(events.length / 2))).join('');
          } else {
            const full = JSON.stringify(
              completionBody(id, Math.floor(Date.now() / 1000), body.model!, built),
            );
            res.writeHead(200, { ...JSON_HEADERS, 'Content-Length': Buffer.byteLength(full) });
            partial = full.slice(0, Math.floor(full.length / 2));
          }
          // Let the partial answer reach the client, then kill the connection.
          res.write(partial, () => later(5, () => res.socket?.destroy()));
          return;
        }
        default:
          return;
      }
    }
    const built = buildReply(body, reply, scripted);
    const id = `chatcmpl-fake-${completionCounter}`;
    const created = Math.floor(Date.now() / 1000);
    if (stream) {
      const includeUsage = body.stream_options?.include_usage === true;
      res.writeHead(200, SSE_HEADERS);
      res.end(streamEvents(id, created, body.model!, built, includeUsage).join(''));
    } else {
      sendJson(res, 200, completionBody(id, created, body.model!, built));
    }
  };

  /**
   * `/v1/completions`: the next scripted reply (text or a fault; the queue is shared with chat), else an
   * echo of the prompt's end, cut at `stop` and `max_tokens` like a real server.
   */
  const answerCompletion = (
    req: IncomingMessage,
    res: ServerResponse,
    body: FakeRequestBody,
    arrivedAt: number,
  ): void => {
    if (typeof body.model !== 'string' || body.model === '') {
      return sendError(res, 400, 'you must provide a model parameter', 'invalid_request_error');
    }
    const prompt = Array.isArray(body.prompt) ? body.prompt[0] : body.prompt;
    if (typeof prompt !== 'string')
      return sendError(res, 400, "'prompt' must be a string", 'invalid_request_error');
    const scripted = queue.shift();
    const reply: FakeReply = scripted ?? completionResponder(body);
    completionCounter += 1;
    const delay = Math.max(0, (reply.delayMs ?? latencyMs) - (performance.now() - arrivedAt));
    if ('fault' in reply && reply.fault === 'hang') return;
    if ('fault' in reply && reply.fault === 'drop_connection')
      return later(delay, () => req.socket.destroy());
    later(delay, () => {
      if (res.destroyed || res.writableEnded) return;
      if ('fault' in reply) {
        if (reply.fault === 'malformed_json' || reply.fault === 'cut_stream') {
          const text = '{"id":"cmpl-broken","object":"text_completion","choices":[{"text":';
          res.writeHead(200, { ...JSON_HEADERS, 'Content-Length': Buffer.byteLength(text) + 20 });
          res.write(text, () => later(5, () => res.socket?.destroy()));
          return;
        }
        return respond(res, body, reply, true);
      }
      if ('toolCalls' in reply) {
        return sendError(res, 500, 'fake server: tool-call replies are for chat completions', 'server_error');
      }
      const limited =
        scripted !== undefined ? { text: reply.text, finishReason: 'stop' } : applyLimits(reply.text, body);
      const promptTokenCount = reply.usage?.prompt_tokens ?? tokensOf(prompt.length) + 1;
      const completion = reply.usage?.completion_tokens ?? Math.max(1, tokensOf(limited.text.length));
      sendJson(res, 200, {
        id: `cmpl-fake-${completionCounter}`,
        object: 'text_completion',
        created: Math.floor(Date.now() / 1000),
        model: body.model,
        choices: [
          {
            index: 0,
            text: limited.text,
            logprobs: null,
            finish_reason: reply.finishReason ?? limited.finishReason,
          },
        ],
        usage: {
          prompt_tokens: promptTokenCount,
          completion_tokens: completion,
          total_tokens: promptTokenCount + completion,
        },
      });
    });
  };

  const answerEmbeddings = (res: ServerResponse, body: FakeRequestBody): void => {
    const inputs = embeddingInputs(body.input);
    if (typeof body.model !== 'string' || body.model === '') {
      return sendError(res, 400, 'you must provide a model parameter', 'invalid_request_error');
    }
    if (!inputs)
      return sendError(res, 400, "'input' must be a string or a non-empty array", 'invalid_request_error');
    if (options.strictModels && !models.includes(body.model)) {
      return sendError(
        res,
        404,
        `The model '${body.model}' does not exist`,
        'invalid_request_error',
        'model_not_found',
      );
    }
    const dimensions =
      typeof body.dimensions === 'number' && body.dimensions > 0 ? Math.floor(body.dimensions) : 16;
    const base64 = body.encoding_format === 'base64';
    let chars = 0;
    const data = inputs.map((text, index) => {
      chars += text.length;
      const vector = embed(text, dimensions);
      const embedding = base64 ? Buffer.from(new Float32Array(vector).buffer).toString('base64') : vector;
      return { object: 'embedding', index, embedding };
    });
    const tokens = Math.max(1, tokensOf(chars));
    later(latencyMs, () => {
      if (res.destroyed) return;
      sendJson(res, 200, {
        object: 'list',
        data,
        model: body.model,
        usage: { prompt_tokens: tokens, total_tokens: tokens },
      });
    });
  };

  const handle = (req: IncomingMessage, res: ServerResponse, raw: string, arrivedAt: number): void => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q >= 0 ? url.slice(0, q) : url;
    let body: FakeRequestBody = {};
    let parseError = false;
    if (raw.length > 0) {
      try {
        const parsed: unknown = JSON.parse(raw);
        if (isRecord(parsed)) body = parsed as FakeRequestBody;
        else parseError = true;
      } catch {
        parseError = true;
      }
    }
    if (record) requests.push({ method: req.method ?? 'GET', path, headers: req.headers, body, arrivedAt });
    if (options.apiKey !== undefined && req.headers.authorization !== `Bearer ${options.apiKey}`) {
      return sendError(
        res,
        401,
        'Incorrect API key provided (fake)',
        'invalid_request_error',
        'invalid_api_key',
      );
    }
    if (parseError)
      return sendError(res, 400, 'The request body is not a JSON object', 'invalid_request_error');
    if (req.method === 'POST' && path === '/v1/chat/completions')
      return answerChat(req, res, body, arrivedAt);
    if (req.method === 'POST' && path === '/v1/completions')
      return answerCompletion(req, res, body, arrivedAt);
    if (req.method === 'POST' && path === '/v1/embeddings') return answerEmbeddings(res, body);
    if (req.method === 'GET' && path === '/v1/models') {
      const data = models.map((id) => ({ id, object: 'model', created: 1700000000, owned_by: 'fake' }));
      return sendJson(res, 200, { object: 'list', data });
    }
    if (req.method === 'GET' && path.startsWith('/v1/models/')) {
      const id = decodeURIComponent(path.slice('/v1/models/'.length));
      if (!models.includes(id))
        return sendError(
          res,
          404,
          `The model '${id}' does not exist`,
          'invalid_request_error',
          'model_not_found',
        );
      return sendJson(res, 200, { id, object: 'model', created: 1700000000, owned_by: 'fake' });
    }
    sendError(res, 404, `Unknown request URL: ${req.method} ${path}`, 'invalid_request_error', 'unknown_url');
  };

  const server = createServer({ keepAlive: true, noDelay: true }, (req, res) => {
    const arrivedAt = performance.now();
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
      try {
        handle(req, res, raw, arrivedAt);
      } catch (error) {
        // A throwing custom responder must fail the request, not crash the test process.
        const message = error instanceof Error ? error.message : String(error);
        if (!res.headersSent) sendError(res, 500, `fake server: ${message}`, 'server_error');
        else res.destroy();
      }
    });
  });
  // Keep idle connections longer than clients do, so clients (not the server) decide when to drop them.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const origin = `http://127.0.0.1:${port}`;

  return {
    baseUrl: `${origin}/v1`,
    origin,
    port,
    requests,
    script(...replies: FakeReply[]): void {
      queue.push(...replies);
    },
    pendingScript(): number {
      return queue.length;
    },
    chatRequests(): FakeRequestBody[] {
      return requests.filter((r) => r.path === '/v1/chat/completions').map((r) => r.body);
    },
    completionRequests(): FakeRequestBody[] {
      return requests.filter((r) => r.path === '/v1/completions').map((r) => r.body);
    },
    async waitForRequests(count: number, timeoutMs = 30_000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (requests.length < count) {
        if (Date.now() > deadline)
          throw new Error(`fake server: ${requests.length} of ${count} requests arrived`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
    setDefault(next: FakeResponder): void {
      responder = next;
    },
    setCompletionDefault(next: FakeResponder): void {
      completionResponder = next;
    },
    setLatency(ms: number): void {
      latencyMs = ms;
    },
    reset(): void {
      requests.length = 0;
      queue = [];
      responder = defaultReply;
      completionResponder = defaultCompletion;
      latencyMs = startLatency;
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      server.closeAllConnections();
      await done;
    },
  };
}
