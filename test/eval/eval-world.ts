/**
 * A scripted "world" for evaluation tests on the fake OpenAI server. One responder plays:
 * - the assistant (test_v1 ReAct text): replays the instruction's golden answer, one step per turn
 *   (optionally dropping the last step for chosen instructions), then gives a Final Answer;
 * - the simulated executor: a 200 with a small JSON body;
 * - the LLM judge: reads the Standard Answer and the Solution in the prompt and answers with ToolAlpaca's
 *   `## Results` block: process Yes when every standard function appears in the solution, else No;
 *   response Yes when the final response is not empty.
 * It tells the roles apart by the request's prompt.
 */
import { promptText, type FakeReply, type FakeRequestBody } from '../helpers/fake-openai-server.js';
import type { GoldenAnswerStep } from '../../src/core/run.js';

export type WorldRole = 'judge' | 'executor' | 'assistant' | 'user' | 'other';

export function roleOf(body: FakeRequestBody): WorldRole {
  const text = promptText(body);
  if (text.includes("## AI Assistant's Solution")) return 'judge';
  if (text.includes('You stand in for a web API')) return 'executor';
  if (/Action Input:/.test(text)) return 'assistant';
  if (body.messages?.[0]?.role === 'system') return 'user';
  return 'other';
}

export interface EvalWorldOptions {
  /** Golden answers by instruction text (from the evaluation set). */
  golden: Map<string, GoldenAnswerStep[]>;
  /** Instructions for which the assistant leaves out the last golden step. */
  skipLastFor?: (instruction: string) => boolean;
  /** Judge replies that are unreadable for the first N judge requests. */
  garbledJudgeReplies?: number;
  onRole?: (role: WorldRole) => void;
}

/** Golden answers of an evaluation set keyed by instruction. */
export function goldenByInstruction(
  records: readonly { Instructions?: string[]; Golden_Answers?: GoldenAnswerStep[][] }[],
): Map<string, GoldenAnswerStep[]> {
  const map = new Map<string, GoldenAnswerStep[]>();
  for (const record of records) {
    (record.Instructions ?? []).forEach((instruction, i) => {
      map.set(instruction.trim(), record.Golden_Answers?.[i] ?? []);
    });
  }
  return map;
}

/** A golden step's function name without ToolAlpaca's `[Optional]` marker. */
export function plainAction(action: string): string {
  return action.replace(/\[Optional\]\s*/gi, '').trim();
}

function judgeReply(text: string): string {
  const standard = /## Standard Answer\n([\s\S]*?)\n## AI Assistant's Solution/.exec(text)?.[1] ?? '';
  const solution = /## AI Assistant's Solution\n([\s\S]*?)\n## Analysis/.exec(text)?.[1] ?? '';
  const wanted = [...standard.matchAll(/^\d+\. Function: (.*)$/gm)].map((m) => plainAction(m[1] ?? ''));
  const called = new Set([...solution.matchAll(/^\d+\. Function: (.*)$/gm)].map((m) => (m[1] ?? '').trim()));
  const process = wanted.every((fn) => called.has(fn)) ? 'Yes' : 'No';
  const final = /\d+\. Final Response: (.*)$/s.exec(solution)?.[1]?.trim() ?? '';
  const response = final !== '' ? 'Yes' : 'No';
  return `## Analysis\nThe solution calls ${called.size} function(s); the standard answer has ${wanted.length}.\n## Results \nProcess Correctness: ${process} \nFinal Response Correctness: ${response}`;
}

export function evalWorld(options: EvalWorldOptions): (body: FakeRequestBody) => FakeReply {
  let garbled = options.garbledJudgeReplies ?? 0;
  return (body) => {
    const role = roleOf(body);
    options.onRole?.(role);
    const text = promptText(body);
    if (role === 'judge') {
      if (garbled > 0) {
        garbled--;
        return { text: 'I think it is mostly fine, but I cannot decide.' };
      }
      return { text: judgeReply(text) };
    }
    if (role === 'executor') {
      return { text: 'Status Code: 200\nResponse: {"ok": true, "items": [1, 2]}\nExplanation: valid.' };
    }
    if (role === 'assistant') {
      const at = text.lastIndexOf('USER: ');
      const tail = text.slice(at + 'USER: '.length);
      const instruction = tail.split('\nASSISTANT Thought:')[0]?.trim() ?? '';
      let steps = options.golden.get(instruction) ?? [];
      if (options.skipLastFor?.(instruction) === true) steps = steps.slice(0, -1);
      const done = tail.split('ASSISTANT Observation:').length - 1;
      const step = steps[done];
      if (step === undefined) {
        return { text: ' I now know the answer.\nASSISTANT Response: Here is what I found for you.' };
      }
      const input = step.Action_Input.replace(/\[Optional\]/g, '').trim();
      const action = plainAction(step.Action);
      return {
        text: ` I should call ${action}.\nASSISTANT Action: ${action}\nASSISTANT Action Input: ${input}`,
      };
    }
    if (role === 'user') return { text: 'Please use the defaults.' };
    return { text: 'OK.' };
  };
}
