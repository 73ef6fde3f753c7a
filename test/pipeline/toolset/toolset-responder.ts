/**
 * A scripted model for toolset builds on the fake OpenAI server. It tells the stage from the marker on
 * the first line of the build prompts (`[toolset:<stage>]`) and answers well by default: an introduction,
 * two functions in ToolAlpaca's layout, and an OpenAPI 3.0 spec with exactly those operations. Per API
 * name, a behaviour lists the replies to give per stage in order (the last one repeats): good, empty,
 * prose, yaml, truncated, wrong-api, invalid (parameters without descriptions), json (functions as a JSON
 * list), bad (functions not in the layout).
 */
import { stringify as toYaml } from 'yaml';
import type { FakeReply, FakeRequestBody } from '../../helpers/fake-openai-server.js';

export type Reply =
  'good' | 'empty' | 'prose' | 'yaml' | 'truncated' | 'wrong-api' | 'invalid' | 'json' | 'bad';
export type Behaviour = Partial<Record<'introduction' | 'functions' | 'documentation', Reply[]>>;

function contentOf(message: { content?: unknown } | undefined): string {
  const content = message?.content;
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((p: { text?: string }) => p.text ?? '').join('');
  return '';
}

function pascal(name: string): string {
  const words = name
    .replace(/[^A-Za-z0-9]+/g, ' ')
    .trim()
    .split(' ')
    .filter(Boolean);
  const joined = words.map((w) => w[0]?.toUpperCase() + w.slice(1).toLowerCase()).join('');
  return /^[A-Za-z]/.test(joined) ? joined : `Api${joined}`;
}

function functionNames(name: string): [string, string] {
  const p = pascal(name);
  return [`search${p}Items`, `get${p}ItemDetails`];
}

function goodFunctions(name: string): string {
  const [search, get] = functionNames(name);
  return `1. Name: ${search}
   Description: Search the items of ${name} by keyword.
   Input: {"query": "Required. String. Words to look for.", "limit": "Optional. Integer. How many items to return."}
   Output: A list of items, each with its id, title and a short summary.

2. Name: ${get}
   Description: Get one item of ${name} by its id.
   Input: {"itemId": "Required. String. The id returned by ${search}."}
   Output: The item's id, title, summary and creation date.`;
}

export function goodSpec(
  name: string,
  ops: readonly string[],
  opts: { describeParams?: boolean } = {},
): Record<string, unknown> {
  const describe = opts.describeParams ?? true;
  const paths: Record<string, unknown> = {};
  ops.forEach((op, index) => {
    const isSearch = index % 2 === 0;
    const param = isSearch
      ? {
          name: 'query',
          in: 'query',
          required: true,
          schema: { type: 'string' },
          ...(describe ? { description: 'Words to look for' } : {}),
        }
      : {
          name: 'itemId',
          in: 'path',
          required: true,
          schema: { type: 'string' },
          ...(describe ? { description: 'The item id' } : {}),
        };
    const path = isSearch ? `/${op}` : `/${op}/{itemId}`;
    paths[path] = {
      get: {
        operationId: op,
        summary: `${op} of ${name}`,
        parameters: [param],
        responses: {
          '200': {
            description: 'OK',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  properties: {
                    id: { type: 'string', description: 'Item id' },
                    title: { type: 'string', description: 'Item title' },
                  },
                },
              },
            },
          },
        },
      },
    };
  });
  return {
    openapi: '3.0.0',
    info: { title: name, version: '1.0.0', description: `The ${name} API` },
    servers: [{ url: 'https://api.example.com/v1' }],
    paths,
  };
}

export interface ToolsetResponder {
  respond(body: FakeRequestBody): FakeReply;
  /** Calls seen per `${api}|${stage}`. */
  calls: Map<string, number>;
}

export function toolsetResponder(behaviours: Record<string, Behaviour> = {}): ToolsetResponder {
  const calls = new Map<string, number>();
  const respond = (body: FakeRequestBody): FakeReply => {
    const messages = body.messages ?? [];
    const first = contentOf(messages.find((m) => m.role === 'user'));
    const stage = /^\[toolset:(introduction|functions|documentation)\]/.exec(first)?.[1] as
      'introduction' | 'functions' | 'documentation' | undefined;
    if (stage === undefined) return { text: 'OK.' };
    const name = /^Name: (.*)$/m.exec(first)?.[1]?.trim() ?? 'Unknown';
    const key = `${name}|${stage}`;
    const attempt = calls.get(key) ?? 0;
    calls.set(key, attempt + 1);
    const plan = behaviours[name]?.[stage] ?? ['good'];
    const reply = plan[Math.min(attempt, plan.length - 1)] ?? 'good';
    if (reply === 'empty') return { text: '' };
    if (reply === 'prose') {
      return {
        text: `Sure! ${name} is a wonderful API. It lets you do many things, such as searching and browsing.`,
      };
    }
    if (stage === 'introduction') {
      return {
        text: `The ${name} API helps developers work with its data. It offers: 1) searching items by keyword with a limit; 2) getting the details of one item by its id.`,
      };
    }
    if (stage === 'functions') {
      if (reply === 'bad') return { text: `${name} has a search and a details function.` };
      if (reply === 'json') {
        const [search, get] = functionNames(name);
        return {
          text: JSON.stringify([
            {
              name: search,
              description: 'Search items',
              input: { query: 'Required. String. Words.' },
              output: 'Items with ids.',
            },
            {
              name: get,
              description: 'Item details',
              input: { itemId: 'Required. String. The id.' },
              output: 'The item.',
            },
          ]),
        };
      }
      return { text: goodFunctions(name) };
    }
    // documentation: the operations are the functions named in the prompt
    const ops = [...first.matchAll(/^\s*\d+\. Name: (\w+)/gm)].map((m) => m[1] as string);
    const spec = goodSpec(name, ops);
    switch (reply) {
      case 'yaml':
        return { text: `\`\`\`yaml\n${toYaml(spec)}\`\`\`` };
      case 'truncated': {
        const text = JSON.stringify(spec, null, 1);
        return { text: text.slice(0, Math.floor(text.length / 2)), finishReason: 'length' };
      }
      case 'wrong-api':
        return { text: JSON.stringify(goodSpec('Weather Forecast', ['getWeatherForecast', 'listCities'])) };
      case 'invalid':
        return { text: JSON.stringify(goodSpec(name, ops, { describeParams: false })) };
      default:
        return { text: JSON.stringify(spec, null, 1) };
    }
  };
  return { respond, calls };
}
