/**
 * The ToolEval judge: three questions asked of a model through `chatJson` with a JSON Schema.
 * Prompts are this project's own; what each question decides follows ToolEval:
 * - answer status (Solved / Unsolved / Unsure), first from the final answer alone and, when unsure,
 *   again with the whole trajectory;
 * - task solvability (Solvable / Unsolvable / Unsure) from the query and the tools offered;
 * - which of two answers is better, for the win rate.
 */
import type { ChatModel } from '../../models/chat-model.js';
import { chatJson } from '../../models/structured.js';
import type { JsonSchema } from '../../core/tool.js';
import type { AnswerStatus, TaskStatus } from './decision.js';

/** One tool call of an answer's chosen path. */
export interface JudgedStep {
  name: string;
  arguments: string;
  response: string;
}

/** What the judge sees of one answer. */
export interface JudgedAnswer {
  queryId: string;
  query: string;
  /** True when the chosen path calls `Finish` (ToolEval: no Finish → failed, no judge). */
  hasFinish: boolean;
  /** The `final_answer` text ("" for a give-up or no answer). */
  finalAnswer: string;
  /** True when the run ended with `give_up_and_restart` (or an empty answer). */
  gaveUp: boolean;
  steps: JudgedStep[];
  /** Names and descriptions of the functions the run was offered (Finish excluded). */
  tools: { name: string; description: string }[];
}

export interface JudgeOptions {
  /** Sampling temperature of judge calls (default 0.7, so that K runs can differ). */
  temperature?: number;
  /** Longest text of one tool response shown to the judge (default 1,500 characters). */
  maxResponseChars?: number;
}

const REASON = { type: 'string', description: 'one or two sentences explaining the verdict' };

const ANSWER_STATUS_SCHEMA: JsonSchema = {
  type: 'object',
  properties: { reason: REASON, answer_status: { type: 'string', enum: ['Solved', 'Unsolved', 'Unsure'] } },
  required: ['reason', 'answer_status'],
  additionalProperties: false,
};

const TASK_STATUS_SCHEMA: JsonSchema = {
  type: 'object',
  properties: { reason: REASON, task_status: { type: 'string', enum: ['Solvable', 'Unsolvable', 'Unsure'] } },
  required: ['reason', 'task_status'],
  additionalProperties: false,
};

const PREFERENCE_SCHEMA: JsonSchema = {
  type: 'object',
  properties: { reason: REASON, better: { type: 'string', enum: ['A', 'B'] } },
  required: ['reason', 'better'],
  additionalProperties: false,
};

const JUDGE_SYSTEM =
  'You grade the work of an AI assistant that answers user requests by calling web APIs. ' +
  'Judge only from the material given; do not use outside knowledge to fill gaps. ' +
  'Reply with a single JSON object and nothing else.';

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}… [${text.length - max} more characters]` : text;
}

function trajectory(answer: JudgedAnswer, maxChars: number): string {
  if (answer.steps.length === 0) return '(no API was called)';
  return answer.steps
    .map(
      (s, i) =>
        `${i + 1}. ${s.name}(${clip(s.arguments, 400)})\n   → ${clip(s.response === '' ? '(empty response)' : s.response, maxChars)}`,
    )
    .join('\n');
}

function toolList(answer: JudgedAnswer): string {
  if (answer.tools.length === 0) return '(no functions listed)';
  return answer.tools.map((t) => `- ${t.name}: ${clip(t.description.replace(/\s+/g, ' '), 300)}`).join('\n');
}

async function ask<T>(
  model: ChatModel,
  user: string,
  schema: JsonSchema,
  name: string,
  run: number,
  options: JudgeOptions,
): Promise<T> {
  const { value } = await chatJson<T>(
    model,
    {
      messages: [
        { role: 'system', content: JUDGE_SYSTEM },
        { role: 'user', content: user },
      ],
      temperature: options.temperature ?? 0.7,
      // Each judge run is its own sample: the seed keeps runs distinct in the response cache.
      seed: run + 1,
    },
    schema,
    { name, stage: 'tooleval' },
  );
  return value;
}

/**
 * ToolEval's answer status. An empty or given-up answer is Unsolved without a call; otherwise the
 * judge reads the final answer, and reads the whole trajectory when that left it unsure.
 */
export async function judgeAnswerStatus(
  model: ChatModel,
  answer: JudgedAnswer,
  run: number,
  options: JudgeOptions = {},
): Promise<{ status: AnswerStatus; reason: string }> {
  if (answer.gaveUp || answer.finalAnswer.trim() === '')
    return { status: 'Unsolved', reason: 'empty or given-up final answer' };
  const first = await ask<{ answer_status: AnswerStatus; reason: string }>(
    model,
    [
      'Decide whether the final answer below solves the user request.',
      '- "Solved": it answers every part of the request with concrete information, or clearly explains why a part cannot be done.',
      '- "Unsolved": it misses a part of the request, is a refusal or a give-up, or says it will do something instead of doing it.',
      '- "Unsure": it looks like an answer but you cannot tell from the text alone whether it is right or complete.',
      '',
      `User request:\n${answer.query}`,
      '',
      `Final answer:\n${clip(answer.finalAnswer, 4000)}`,
      '',
      'Reply as {"reason": "...", "answer_status": "Solved" | "Unsolved" | "Unsure"}.',
    ].join('\n'),
    ANSWER_STATUS_SCHEMA,
    'answer_status',
    run,
    options,
  );
  if (first.answer_status !== 'Unsure') return { status: first.answer_status, reason: first.reason };
  const second = await ask<{ answer_status: AnswerStatus; reason: string }>(
    model,
    [
      'Decide whether the assistant solved the user request, checking its final answer against what the API calls actually returned.',
      '- "Solved": every part of the request is answered, and the facts in the answer come from the API responses (or the answer explains correctly why a part cannot be done).',
      '- "Unsolved": a part is missing, or the answer states things the API responses do not support.',
      '- "Unsure": even with the calls you cannot decide.',
      '',
      `User request:\n${answer.query}`,
      '',
      `API calls, in order:\n${trajectory(answer, options.maxResponseChars ?? 1500)}`,
      '',
      `Final answer:\n${clip(answer.finalAnswer, 4000)}`,
      '',
      'Reply as {"reason": "...", "answer_status": "Solved" | "Unsolved" | "Unsure"}.',
    ].join('\n'),
    ANSWER_STATUS_SCHEMA,
    'answer_status_detailed',
    run,
    options,
  );
  return { status: second.answer_status, reason: second.reason };
}

/** ToolEval's task solvability: could the request be solved with the functions offered? */
export async function judgeTaskStatus(
  model: ChatModel,
  answer: Pick<JudgedAnswer, 'query' | 'tools'>,
  run: number,
  options: JudgeOptions = {},
): Promise<{ status: TaskStatus; reason: string }> {
  const reply = await ask<{ task_status: TaskStatus; reason: string }>(
    model,
    [
      'Decide whether the user request below can be solved with the functions listed, assuming they work as described.',
      '- "Solvable": the functions cover every part of the request and the request gives the information they need.',
      '- "Unsolvable": some part needs a capability none of the functions offers, or the request lacks information that cannot be looked up (for example an ID the user never gave).',
      '- "Unsure": you cannot tell from the descriptions.',
      '',
      `User request:\n${answer.query}`,
      '',
      `Functions:\n${toolList(answer as JudgedAnswer)}`,
      '',
      'Reply as {"reason": "...", "task_status": "Solvable" | "Unsolvable" | "Unsure"}.',
    ].join('\n'),
    TASK_STATUS_SCHEMA,
    'task_status',
    run,
    options,
  );
  return { status: reply.task_status, reason: reply.reason };
}

/** Which of two answers to the same request is better: 'A' (the first shown) or 'B'. */
export async function judgePreference(
  model: ChatModel,
  query: string,
  a: JudgedAnswer,
  b: JudgedAnswer,
  run: number,
  options: JudgeOptions = {},
): Promise<{ better: 'A' | 'B'; reason: string }> {
  const show = (label: string, answer: JudgedAnswer): string =>
    [
      `Assistant ${label}: ${answer.steps.length} API call${answer.steps.length === 1 ? '' : 's'}`,
      trajectory(answer, Math.min(options.maxResponseChars ?? 1500, 800)),
      `Final answer of ${label}: ${answer.finalAnswer.trim() === '' ? '(none, gave up)' : clip(answer.finalAnswer, 3000)}`,
    ].join('\n');
  const reply = await ask<{ better: 'A' | 'B'; reason: string }>(
    model,
    [
      'Two assistants worked on the same user request by calling APIs. Pick the better one.',
      'Prefer, in this order: the answer that solves more of the request with information backed by its API responses;',
      'then the one that explored the possible solutions more sensibly; then the one that needed fewer calls.',
      'The order in which the assistants are shown carries no meaning.',
      '',
      `User request:\n${query}`,
      '',
      show('A', a),
      '',
      show('B', b),
      '',
      'Reply as {"reason": "...", "better": "A" | "B"}.',
    ].join('\n'),
    PREFERENCE_SCHEMA,
    'preference',
    run,
    options,
  );
  return { better: reply.better, reason: reply.reason };
}
