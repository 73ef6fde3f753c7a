/**
 * The LLM part of the semantic stage: a judge model reads the tool's documentation, the request, every
 * call with its return and the final answer, and says whether the answer is grounded in the returns and
 * answers the request. Asked K times (seed + k), the majority decides and the agreement (share of
 * verdicts equal to the majority) is recorded on the instance.
 */
import type { ChatModel } from '../models/chat-model.js';
import { agreementShare, majorityLabel } from '../eval/statistics.js';
import type { JudgeRecord } from './reasons.js';
import type { Trajectory } from './trajectory.js';

export const VERIFY_JUDGE_GUIDELINES = `You check one example of a training corpus for an AI assistant that uses a REST API.
Read the API's documentation, the user's request, each function call with its return, and the assistant's final answer.
Decide whether the final answer
1. is grounded in the returns: every fact, number or name it states comes from a return or from the request, and it does not claim that a call succeeded when its return is an error;
2. answers the request, or honestly says why it cannot be answered.
First write a short analysis, then end with exactly one line:
Verdict: Yes
or
Verdict: No`;

/** The judge's user message for one instance. */
export function verifyJudgePrompt(documentation: string, trajectory: Trajectory): string {
  const lines = [VERIFY_JUDGE_GUIDELINES, '', '## Documentation', documentation];
  for (const [t, turn] of trajectory.turns.entries()) {
    lines.push('', t === 0 ? '## Request' : `## Follow-up ${t}`, turn.input, '', '## Calls');
    if (turn.steps.length === 0) lines.push('(none)');
    for (const step of turn.steps) {
      lines.push(
        `${step.index}. Function: ${step.action}`,
        `Parameters: ${step.actionInput}`,
        `Returns: ${step.observation}`,
      );
    }
    lines.push('', '## Final Answer', turn.output);
  }
  lines.push('', '## Analysis');
  return lines.join('\n');
}

/** The verdict of a reply: its last `Verdict:` line (Yes, No or Uncertain), or undefined when unreadable. */
export function parseVerifyVerdict(text: string): 'Yes' | 'No' | 'Uncertain' | undefined {
  const matches = [...text.matchAll(/verdict\s*[:：]\s*\**\s*(yes|no|uncertain)\b/gi)];
  const last = matches.at(-1)?.[1]?.toLowerCase();
  if (last === undefined) return undefined;
  return last === 'yes' ? 'Yes' : last === 'no' ? 'No' : 'Uncertain';
}

export interface VerifyJudgeOptions {
  model: ChatModel;
  runs: number;
  seed: number;
  temperature: number;
  signal?: AbortSignal;
}

/** K verdicts on one instance and their majority (an unreadable reply counts as `error`, left out of the vote). */
export async function judgeInstance(
  documentation: string,
  trajectory: Trajectory,
  options: VerifyJudgeOptions,
): Promise<JudgeRecord> {
  const prompt = verifyJudgePrompt(documentation, trajectory);
  const verdicts: JudgeRecord['verdicts'] = [];
  for (let k = 0; k < options.runs; k++) {
    const response = await options.model.chat(
      {
        messages: [{ role: 'user', content: prompt }],
        temperature: options.temperature,
        seed: options.seed + k,
      },
      { stage: 'judge', ...(options.signal !== undefined ? { signal: options.signal } : {}) },
    );
    verdicts.push(parseVerifyVerdict(response.text) ?? 'error');
  }
  const readable = verdicts.filter((v): v is 'Yes' | 'No' | 'Uncertain' => v !== 'error');
  return {
    model: options.model.id,
    runs: options.runs,
    verdicts,
    majority: majorityLabel(readable) ?? 'Uncertain',
    agreement: agreementShare(readable),
  };
}
