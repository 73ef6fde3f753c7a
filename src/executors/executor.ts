/**
 * The executor contract: run one call of a tool function and describe what came back as an `Observation`.
 * Every executor (schema, simulated, replay, real, cache, chain) implements `ToolExecutor`.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../core/json-schema.js';
import type { Tool, ToolFunction } from '../core/tool.js';

export type ObservationSource = 'real' | 'simulated' | 'schema' | 'cache' | 'replay' | 'mcp';

export interface Observation {
  /** HTTP-like status; 400 for a call rejected by argument validation. */
  status: number;
  /** Parsed JSON when the response is JSON, else a string. */
  body: unknown;
  headers: Record<string, string>;
  source: ObservationSource;
  latencyMs: number;
  /** For rejected calls: the type-check message shown to the assistant (which parameter, what is allowed). */
  validationErrors?: string[];
  /** Set when the executor failed (model gave up, network error...) rather than the API answering. */
  error?: string;
  truncated?: boolean;
  /**
   * Problems that did not stop the call (e.g. an unknown parameter that was ignored, as ToolAlpaca ignores
   * it). Additive to the interface; `observationText` shows them after the response.
   */
  warnings?: string[];
}

export interface ExecutionContext {
  instanceId?: string;
  signal?: AbortSignal;
}

export interface ToolExecutor {
  readonly kind: string;
  /**
   * True when an observation depends on nothing but the call (tool, function, arguments): the same call
   * always gets the same answer, whatever the instance, the time or the calls before it, so a caller may
   * reuse an answer (`serve` does). The schema executor is; model, network and recorded executors are not.
   */
  readonly deterministic?: boolean;
  execute(
    tool: Tool,
    functionName: string,
    args: Record<string, unknown>,
    context?: ExecutionContext,
  ): Promise<Observation>;
  /**
   * The instance `instanceId` is over: state kept for it (an MCP server started for it and its folder) can
   * go. Optional; the run loops call it when an instance ends, `serve --mcp` when a session closes.
   */
  endInstance?(instanceId: string): Promise<void>;
  close?(): Promise<void>;
}

export interface ObservationTextOptions {
  /**
   * Longest text returned; longer text is cut (ToolAlpaca's `max_output_len` is 3000, the default).
   * `Infinity` disables the cut.
   */
  maxChars?: number;
}

/** ToolAlpaca's advice appended to every non-2xx observation. */
export const NON_2XX_ADVICE =
  "You should choose one of: (1) change the input and retry; (2) return the 'Final Answer' and explain what happened; (You must choose this one when the error occurs more than 3 times.) (3) call another function.";

const DEFAULT_OBSERVATION_CHARS = 3000;

/** The body as the assistant reads it: strings as they are, anything else as compact JSON. */
export function bodyText(body: unknown): string {
  if (typeof body === 'string') return body;
  if (body === undefined) return '';
  try {
    return JSON.stringify(body) ?? String(body);
  } catch {
    return String(body);
  }
}

/**
 * How the assistant sees an observation, as ToolAlpaca renders it: `Status Code: 200. Response: {...}`;
 * non-2xx answers get ToolAlpaca's advice appended; a call rejected by argument validation shows the
 * type-check messages and asks for a corrected input.
 */
export function observationText(o: Observation, options: ObservationTextOptions = {}): string {
  const maxChars = options.maxChars ?? DEFAULT_OBSERVATION_CHARS;
  let text: string;
  if (o.validationErrors !== undefined && o.validationErrors.length > 0) {
    text = `${o.validationErrors.join('\n')}\nYou need to change the input and try again.`;
  } else {
    const ok = o.status >= 200 && o.status < 300;
    const shown = o.error !== undefined && (o.body === undefined || o.body === null || o.body === '');
    text = shown
      ? `Status Code: ${o.status}. Error: ${o.error ?? ''}`
      : `Status Code: ${o.status}. Response: ${bodyText(o.body)}`;
    if (o.truncated === true) text += ' [truncated]';
    if (!ok) text += `. ${NON_2XX_ADVICE}`;
  }
  if (o.warnings !== undefined && o.warnings.length > 0) text += `\nNote: ${o.warnings.join('; ')}`;
  return text.length > maxChars ? text.slice(0, maxChars) : text;
}

/** The canonical key of a tool call: canonical JSON of `[tool, function, args]`. */
export function callKey(toolName: string, functionName: string, args: Record<string, unknown>): string {
  return flatCallKey(toolName, functionName, args) ?? canonicalJson([toolName, functionName, args]);
}

/**
 * `callKey` written directly for the usual call, whose arguments are strings, numbers, booleans and nulls
 * (the generic canonical JSON copies every object to sort it). Undefined for anything else, and for names
 * that look like array indices, which JSON objects list first whatever their sorted order.
 */
function flatCallKey(
  toolName: string,
  functionName: string,
  args: Record<string, unknown>,
): string | undefined {
  const names = Object.keys(args);
  for (const name of names) {
    const value = args[name];
    if (
      value !== null &&
      typeof value !== 'string' &&
      typeof value !== 'number' &&
      typeof value !== 'boolean'
    ) {
      return undefined;
    }
    const first = name.charCodeAt(0);
    if (first >= 48 && first <= 57) return undefined; // 0-9
  }
  names.sort();
  let text = `[${JSON.stringify(toolName)},${JSON.stringify(functionName)},{`;
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    text += `${i === 0 ? '' : ','}${JSON.stringify(name)}:${JSON.stringify(args[name])}`;
  }
  return `${text}}]`;
}

/** sha256 (hex) of a tool call's canonical key (`callKey`). */
export function callHash(toolName: string, functionName: string, args: Record<string, unknown>): string {
  return createHash('sha256')
    .update(callKey(toolName, functionName, args))
    .digest('hex');
}

/** A 32-bit seed from a call's hash: the same call gets the same generated answer. */
export function callSeed(toolName: string, functionName: string, args: Record<string, unknown>): number {
  return Number.parseInt(callHash(toolName, functionName, args).slice(0, 8), 16);
}

/** The function called `name` in `tool`, or undefined. */
export function findFunction(tool: Tool, name: string): ToolFunction | undefined {
  return tool.functions.find((fn) => fn.name === name);
}

/** Observation for a call of a function the tool does not have (404, `error` lists what exists). */
export function unknownFunctionObservation(
  tool: Tool,
  functionName: string,
  source: ObservationSource,
  latencyMs = 0,
): Observation {
  const names = tool.functions.map((fn) => fn.name).join(', ');
  return {
    status: 404,
    body: { error: `unknown function '${functionName}' of tool '${tool.name}'`, functions: names },
    headers: { 'content-type': 'application/json' },
    source,
    latencyMs,
    error: `tool '${tool.name}' has no function '${functionName}'; functions: ${names}`,
  };
}

/** Milliseconds since `start` (a `performance.now()` value), rounded to 0.01 ms. */
export function elapsedMs(start: number): number {
  return Math.round((performance.now() - start) * 100) / 100;
}
