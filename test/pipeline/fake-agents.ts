/**
 * A scripted "world" for generation tests on the fake OpenAI server: one responder that plays the
 * assistant (ReAct text: calls a real function of the tool with valid arguments, then gives a Final
 * Answer), the simulated executor (`Status Code:/Response:/Explanation:` with a body built from the
 * function's response schema), the user agent and the instruction generator, telling the roles apart by
 * the request's prompt.
 */
import {
  minimalInstance,
  promptText,
  type FakeRequestBody,
  type FakeReply,
} from '../helpers/fake-openai-server.js';
import { httpBindingOf } from '../../src/core/http-binding.js';
import type { Tool, ToolFunction } from '../../src/core/tool.js';
import { validateArguments } from '../../src/executors/arguments.js';

export interface CallPlan {
  tool: string;
  fn: ToolFunction;
  args: Record<string, unknown>;
}

function candidateArgs(fn: ToolFunction): Record<string, unknown> {
  const args: Record<string, unknown> = {};
  const binding = httpBindingOf(fn)!;
  for (const p of binding.parameters) if (p.required) args[p.name] = minimalInstance(p.schema);
  const body = binding.requestBody?.schema as
    { properties?: Record<string, unknown>; required?: string[] } | undefined;
  if (body?.properties !== undefined) {
    for (const name of body.required ?? []) args[name] = minimalInstance(body.properties[name] ?? {});
  }
  return args;
}

/** For each tool, a function and arguments that pass argument validation (the first such function). */
export function planCalls(tools: readonly Tool[]): Map<string, CallPlan> {
  const plans = new Map<string, CallPlan>();
  for (const tool of tools) {
    for (const fn of tool.functions) {
      const args = candidateArgs(fn);
      if (validateArguments(fn, args).length === 0) {
        plans.set(tool.name, { tool: tool.name, fn, args });
        break;
      }
    }
    if (!plans.has(tool.name) && tool.functions[0] !== undefined) {
      plans.set(tool.name, { tool: tool.name, fn: tool.functions[0], args: {} });
    }
  }
  return plans;
}

export type Role = 'assistant' | 'executor' | 'user' | 'instructions' | 'other';

export function roleOf(body: FakeRequestBody): Role {
  const text = promptText(body);
  if (text.includes('You stand in for a web API')) return 'executor';
  if (text.includes('Answer with JSON only: {"instructions"')) return 'instructions';
  if (/Action Input:/.test(text) && /Question:/.test(text)) return 'assistant';
  if (
    body.messages?.[0]?.role === 'system' &&
    /getDetails|assistant asks|playing|you are the user/i.test(text)
  )
    return 'user';
  return 'other';
}

export interface WorldOptions {
  /** Calls per episode before the Final Answer (default 1). */
  calls?: number;
  /** Called with every request's role (counting). */
  onRole?: (role: Role) => void;
}

/** The responder: pass to `server.setDefault`. */
export function worldResponder(
  plans: Map<string, CallPlan>,
  options: WorldOptions = {},
): (body: FakeRequestBody) => FakeReply {
  const calls = options.calls ?? 1;
  let instructionCounter = 0;
  return (body) => {
    const role = roleOf(body);
    options.onRole?.(role);
    const text = promptText(body);
    if (role === 'executor') {
      const plan = [...plans.values()].find(
        (p) => text.includes(httpBindingOf(p.fn)!.path) || text.includes(p.fn.name),
      );
      const response = plan?.fn.outputSchema !== undefined ? minimalInstance(plan.fn.outputSchema) : {};
      return {
        text: `Status Code: 200\nResponse: ${JSON.stringify(response)}\nExplanation: The request is valid.`,
      };
    }
    if (role === 'instructions') {
      instructionCounter++;
      const name = /Name: (.*)/.exec(text)?.[1] ?? 'the service';
      return {
        text: JSON.stringify({
          instructions: [
            `Could you look up what ${name} offers for a trip to Lisbon in March ${2000 + instructionCounter}?`,
            `I want a summary of everything ${name} knows about Kyoto temples, version ${instructionCounter}.`,
            `List the newest entries about Patagonia glaciers from ${name}, batch ${instructionCounter}.`,
          ],
        }),
      };
    }
    if (role === 'assistant') {
      const names =
        /one of \[([^\]]*)\]/
          .exec(text)?.[1]
          ?.split(',')
          .map((s) => s.trim()) ?? [];
      const plan = [...plans.values()].find((p) => names.includes(p.fn.name));
      const done = (text.split('Question:').pop() ?? '').split('Observation:').length - 1;
      if (plan === undefined || done >= calls) {
        return {
          text: ' I now have what the user asked for.\nFinal Answer: Here is what I found for you.',
        };
      }
      return {
        text: ` I should call ${plan.fn.name} to get the data.\nAction: ${plan.fn.name}\nAction Input: ${JSON.stringify(plan.args)}`,
      };
    }
    if (role === 'user') return { text: 'I mean Lisbon, Portugal, for two adults.' };
    return { text: 'OK.' };
  };
}
