/**
 * A scripted ToolBench solver for the fake OpenAI server: the first step calls the first function
 * offered (required arguments from the examples the function definition carries, as ToolBench's
 * defaults), the next gives the answer through `Finish`.
 */
import type { FakeReply, FakeRequestBody } from './fake-openai-server.js';

/** A solve request: the functions offered include ToolBench's Finish. */
export function isSolveRequest(body: FakeRequestBody): boolean {
  return body.tools?.some((t) => t.function.name === 'Finish') === true;
}

export function solverAssistant(body: FakeRequestBody): FakeReply {
  if (body.messages?.at(-1)?.role === 'tool') {
    return {
      toolCalls: [
        {
          name: 'Finish',
          arguments: JSON.stringify({ return_type: 'give_answer', final_answer: 'Here is what I found.' }),
        },
      ],
    };
  }
  const first = body.tools?.find((t) => t.function.name !== 'Finish');
  const parameters = (first?.function.parameters ?? {}) as {
    properties?: Record<string, { example?: unknown }>;
    required?: string[];
  };
  const args = Object.fromEntries(
    (parameters.required ?? []).map((name) => [name, parameters.properties?.[name]?.example ?? 'x']),
  );
  return {
    text: 'Let me look that up.',
    toolCalls: [{ name: first?.function.name ?? 'Finish', arguments: JSON.stringify(args) }],
  };
}
