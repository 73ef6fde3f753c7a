/**
 * The behaviour every ChatModel backend must share, as a reusable node:test suite. Each backend's test
 * file calls `runChatModelContract(label, setup)`; the suite only asserts what any conforming backend
 * can guarantee (a tiny random-weight GGUF included), and asks for real tool calls only when the setup
 * says its backend calls tools deterministically (`deterministicTools`).
 *
 * Not a test file itself (no `.test.ts`): it registers `describe` blocks when a test file calls it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { JsonSchema } from '../../src/core/tool.js';
import type {
  ChatModel,
  ChatRequest,
  ChatResponse,
  FinishReason,
  ToolDefinition,
} from '../../src/models/chat-model.js';
import { ModelCallError } from '../../src/models/model-errors.js';
import { withReplyChecks } from '../../src/models/reply-checks.js';

// ajv-formats is CommonJS; under NodeNext the callable sits on `.default`.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as unknown as (ajv: Ajv2020) => Ajv2020;

export interface ContractSetup {
  model: ChatModel;
  /** Closes the model and whatever the setup started (servers, temp folders). */
  teardown: () => Promise<void>;
  /** The backend reliably produces a tool call when `toolChoice` is "required" or names a tool. */
  deterministicTools?: boolean;
}

export interface ContractOptions {
  /** Timeout of each test and of the setup, in ms (default 60 000; raise it for slow local models). */
  timeoutMs?: number;
}

export const FINISH_REASONS: readonly FinishReason[] = [
  'stop',
  'length',
  'tool_calls',
  'content_filter',
  'other',
];

export const CONTRACT_TOOLS: ToolDefinition[] = [
  {
    name: 'get_weather',
    description: 'Current weather for a city.',
    parameters: {
      type: 'object',
      properties: {
        city: { type: 'string', description: 'City name' },
        unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
      },
      required: ['city'],
    },
  },
  {
    name: 'get_time',
    description: 'Current local time in a time zone.',
    parameters: {
      type: 'object',
      properties: { timezone: { type: 'string', description: 'IANA time zone, e.g. Europe/Paris' } },
      required: ['timezone'],
    },
  },
];

/** Small on purpose: enum and boolean keep even a random-weight model under a grammar short. */
export const CONTRACT_JSON_SCHEMA: JsonSchema = {
  type: 'object',
  properties: {
    answer: { type: 'string', enum: ['yes', 'no'] },
    sure: { type: 'boolean' },
  },
  required: ['answer', 'sure'],
  additionalProperties: false,
};

const ajv = addFormats(new Ajv2020({ strict: false, allErrors: true }));

function validatorFor(schema: JsonSchema): (value: unknown) => string | undefined {
  const validate = ajv.compile(schema);
  return (value) => (validate(value) ? undefined : ajv.errorsText(validate.errors));
}

/** Asserts the shape every ChatResponse must have, whatever was asked. */
export function assertChatResponse(response: ChatResponse, context = 'response'): void {
  assert.equal(typeof response.text, 'string', `${context}: text is a string`);
  assert.ok(Array.isArray(response.toolCalls), `${context}: toolCalls is an array`);
  assert.ok(
    FINISH_REASONS.includes(response.finishReason),
    `${context}: finishReason '${response.finishReason}'`,
  );
  const { promptTokens, completionTokens } = response.usage;
  assert.ok(
    Number.isInteger(promptTokens) && promptTokens > 0,
    `${context}: promptTokens ${promptTokens} > 0`,
  );
  assert.ok(
    Number.isInteger(completionTokens) && completionTokens >= 0,
    `${context}: completionTokens ${completionTokens} >= 0`,
  );
  if (response.text.length > 0 || response.toolCalls.length > 0) {
    assert.ok(completionTokens > 0, `${context}: output was produced, so completionTokens > 0`);
  }
  assert.ok(
    Number.isFinite(response.latencyMs) && response.latencyMs >= 0,
    `${context}: latencyMs ${response.latencyMs}`,
  );
  assert.equal(typeof response.cached, 'boolean', `${context}: cached is a boolean`);
  assert.ok(typeof response.model === 'string' && response.model.length > 0, `${context}: model is named`);
}

/** Every call names an offered tool, has an id, and carries a JSON object (validated when `strict`). */
function assertToolCalls(response: ChatResponse, tools: ToolDefinition[], strict: boolean): void {
  const byName = new Map(tools.map((tool) => [tool.name, tool]));
  const ids = new Set<string>();
  for (const call of response.toolCalls) {
    const tool = byName.get(call.name);
    assert.ok(tool, `tool call names an offered tool (got '${call.name}')`);
    assert.ok(typeof call.id === 'string' && call.id.length > 0, 'tool call has an id');
    assert.ok(!ids.has(call.id), `tool call ids are unique (${call.id})`);
    ids.add(call.id);
    let args: unknown;
    assert.doesNotThrow(() => {
      args = JSON.parse(call.arguments);
    }, `arguments of ${call.name} are JSON: ${call.arguments}`);
    assert.ok(
      typeof args === 'object' && args !== null && !Array.isArray(args),
      'arguments are a JSON object',
    );
    if (strict) {
      const problem = validatorFor(tool.parameters)(args);
      assert.equal(problem, undefined, `arguments of ${call.name} match its schema: ${call.arguments}`);
    }
  }
  if (response.toolCalls.length > 0) assert.equal(response.finishReason, 'tool_calls');
}

function isAbortError(error: unknown): boolean {
  if (error instanceof ModelCallError) return error.kind === 'aborted';
  return error instanceof Error && error.name === 'AbortError';
}

export function runChatModelContract(
  label: string,
  setup: () => Promise<ContractSetup>,
  options: ContractOptions = {},
): void {
  const timeout = options.timeoutMs ?? 60_000;

  describe(`ChatModel contract: ${label}`, { timeout }, () => {
    let context: ContractSetup | undefined;
    // Backends are checked as createChatModel delivers them: behind the reply checks every backend
    // shares (size cap, JSON re-validation).
    let checked: ChatModel | undefined;
    const model = (): ChatModel => {
      assert.ok(context, 'setup succeeded');
      checked ??= withReplyChecks(context.model);
      return checked;
    };
    const deterministic = (): boolean => context?.deterministicTools === true;

    before(
      async () => {
        context = await setup();
      },
      { timeout },
    );
    after(
      async () => {
        await context?.teardown();
      },
      { timeout },
    );

    test('has an id and a backend name', () => {
      assert.ok(model().id.length > 0);
      assert.match(model().backend, /^[a-z][a-z0-9-]*$/);
    });

    test('answers text with usage, a finish reason and a latency; sampling options are accepted', async () => {
      const response = await model().chat({
        messages: [
          { role: 'system', content: 'You are a terse assistant.' },
          { role: 'user', content: 'Say hello to the contract suite.' },
        ],
        temperature: 0,
        topP: 1,
        seed: 42,
        maxTokens: 48,
      });
      assertChatResponse(response);
      assert.deepEqual(response.toolCalls, [], 'no tools offered, no tool calls');
      assert.notEqual(response.finishReason, 'tool_calls');
      assert.equal(response.json, undefined, 'json only when a jsonSchema was asked for');
    });

    test('maxTokens bounds the completion tokens', async () => {
      const maxTokens = 6;
      const response = await model().chat({
        messages: [
          {
            role: 'user',
            content:
              'Repeat this sentence ten times without stopping: the quick brown fox jumps over the lazy dog.',
          },
        ],
        temperature: 0,
        maxTokens,
      });
      assertChatResponse(response);
      assert.ok(
        response.usage.completionTokens <= maxTokens,
        `completionTokens ${response.usage.completionTokens} <= ${maxTokens}`,
      );
      assert.ok(['length', 'stop'].includes(response.finishReason), `finishReason ${response.finishReason}`);
    });

    test('stop sequences do not appear in the text', async () => {
      const response = await model().chat({
        messages: [{ role: 'user', content: 'Repeat exactly: alpha beta gamma delta' }],
        temperature: 0,
        maxTokens: 32,
        stop: ['gamma'],
      });
      assertChatResponse(response);
      assert.ok(!response.text.includes('gamma'), `text '${response.text}' stops before 'gamma'`);
    });

    test('jsonSchema: the text is JSON valid for the schema and `json` holds it parsed', async () => {
      const request: ChatRequest = {
        messages: [
          { role: 'system', content: 'Answer with a JSON object only.' },
          { role: 'user', content: 'Is the sky blue on a clear day? Say how sure you are.' },
        ],
        temperature: 0,
        jsonSchema: { name: 'verdict', schema: CONTRACT_JSON_SCHEMA },
      };
      const response = await model().chat(request);
      assertChatResponse(response);
      let parsed: unknown;
      assert.doesNotThrow(() => {
        parsed = JSON.parse(response.text);
      }, `text is JSON: ${response.text}`);
      assert.equal(
        validatorFor(CONTRACT_JSON_SCHEMA)(parsed),
        undefined,
        `valid for the schema: ${response.text}`,
      );
      assert.deepEqual(response.json, parsed);
    });

    test('tools with toolChoice auto: any tool call is well-formed', async () => {
      const response = await model().chat({
        messages: [{ role: 'user', content: 'What is the weather in Paris right now? Use get_weather.' }],
        tools: CONTRACT_TOOLS,
        toolChoice: 'auto',
        temperature: 0,
        maxTokens: 64,
      });
      assertChatResponse(response);
      assertToolCalls(response, CONTRACT_TOOLS, deterministic());
    });

    test('toolChoice required: a tool is called (when deterministic) and calls are well-formed', async () => {
      const response = await model().chat({
        messages: [{ role: 'user', content: 'What is the weather in Paris right now?' }],
        tools: CONTRACT_TOOLS,
        toolChoice: 'required',
        temperature: 0,
        maxTokens: 64,
      });
      assertChatResponse(response);
      assertToolCalls(response, CONTRACT_TOOLS, deterministic());
      if (deterministic()) assert.ok(response.toolCalls.length > 0, 'a tool was called');
    });

    test('toolChoice naming a tool: that tool is called (when deterministic)', async () => {
      const response = await model().chat({
        messages: [{ role: 'user', content: 'What time is it in Tokyo?' }],
        tools: CONTRACT_TOOLS,
        toolChoice: { name: 'get_time' },
        temperature: 0,
        maxTokens: 64,
      });
      assertChatResponse(response);
      assertToolCalls(response, CONTRACT_TOOLS, deterministic());
      if (deterministic()) assert.equal(response.toolCalls[0]?.name, 'get_time');
    });

    test('toolChoice none: no tool is called', async () => {
      const response = await model().chat({
        messages: [{ role: 'user', content: 'What is the weather in Paris? Answer in words.' }],
        tools: CONTRACT_TOOLS,
        toolChoice: 'none',
        temperature: 0,
        maxTokens: 32,
      });
      assertChatResponse(response);
      assert.deepEqual(response.toolCalls, []);
    });

    test('accepts a history with an assistant tool call followed by its tool result', async () => {
      const response = await model().chat({
        messages: [
          { role: 'system', content: 'You answer questions using tools.' },
          { role: 'user', content: 'What is the weather in Paris?' },
          {
            role: 'assistant',
            content: '',
            toolCalls: [{ id: 'call_contract_1', name: 'get_weather', arguments: '{"city":"Paris"}' }],
          },
          {
            role: 'tool',
            toolCallId: 'call_contract_1',
            name: 'get_weather',
            content: '{"temperature": 21, "unit": "celsius"}',
          },
        ],
        tools: CONTRACT_TOOLS,
        temperature: 0,
        maxTokens: 48,
      });
      assertChatResponse(response);
      assertToolCalls(response, CONTRACT_TOOLS, deterministic());
    });

    test('accepts a multi-turn history with assistant text', async () => {
      const response = await model().chat({
        messages: [
          { role: 'user', content: 'My name is Ada.' },
          { role: 'assistant', content: 'Nice to meet you, Ada.' },
          { role: 'user', content: 'What is my name?' },
        ],
        temperature: 0,
        maxTokens: 24,
      });
      assertChatResponse(response);
    });

    test('concurrent calls all complete', async () => {
      const prompts = ['Name a colour.', 'Name an animal.', 'Name a city.'];
      const responses = await Promise.all(
        prompts.map((content) =>
          model().chat({ messages: [{ role: 'user', content }], temperature: 0, maxTokens: 16 }),
        ),
      );
      responses.forEach((response, i) => assertChatResponse(response, `call ${i}`));
    });

    test('an already-aborted signal rejects with an abort error', async () => {
      const controller = new AbortController();
      controller.abort();
      await assert.rejects(
        model().chat(
          { messages: [{ role: 'user', content: 'This must not run.' }] },
          { signal: controller.signal },
        ),
        (error: unknown) => {
          assert.ok(isAbortError(error), `abort error expected, got ${String(error)}`);
          return true;
        },
      );
    });

    test('close() is idempotent', async () => {
      const current = model();
      if (!current.close) return;
      await current.close();
      await current.close();
    });
  });
}
