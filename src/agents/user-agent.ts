/**
 * The user agent: a language model playing the person who gave the instruction, answering the
 * assistant's `getDetails` questions. It sees the instruction and the earlier questions and answers, so
 * that its answers stay consistent; it hands out authentication values when asked for keys.
 * Without a model it answers deterministically (auth values for a credentials question, otherwise
 * "no further details").
 *
 * The prompt is written for this project (ToolAlpaca's prompts/get_details.txt was the inspiration).
 */
import type { MissingArgument } from '../core/toolalpaca-record.js';
import type { ChatMessage, ChatModel, TokenUsage } from '../models/chat-model.js';

/** The deterministic answer when there is no user model (or nothing to say). */
export const NO_FURTHER_DETAILS =
  'I have no further details to give. Please work with the information in my request, or tell me in your answer what is missing.';

/** Longest answer kept (characters); the user is asked for short answers, this bounds a runaway model. */
export const MAX_USER_ANSWER_CHARS = 1500;

export interface UserTurn {
  question: string;
  answer: string;
}

export interface UserAgentOptions {
  model?: ChatModel;
  /** Authentication values the user gives when asked (e.g. `{ api_key: "..." }`). */
  authValues?: Record<string, string>;
  temperature?: number;
  seed?: number;
  /**
   * A missing-info instruction's left-out argument: the user gives its value when asked (a model is
   * told to; without a model it is the answer to any question that is not about credentials).
   */
  withheld?: MissingArgument;
  /** A multi-turn instruction's follow-up, asked after the first answer (`followUp()`). */
  followUp?: string;
}

export interface UserAnswer {
  text: string;
  usage: TokenUsage;
  calls: number;
}

const CREDENTIAL_WORDS =
  /\b(api[ _-]?key|key|token|auth\w*|credential\w*|password|secret|client[ _-]?id|login|bearer)\b/i;

/** True when the question asks for something only credentials can answer. */
export function asksForCredentials(question: string): boolean {
  return CREDENTIAL_WORDS.test(question);
}

function authLine(authValues: Record<string, string>): string {
  return Object.entries(authValues)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

/** The messages sent to the user model. */
export function userAgentMessages(
  instruction: string,
  history: readonly UserTurn[],
  question: string,
  authValues: Record<string, string> = {},
  withheld?: MissingArgument,
): ChatMessage[] {
  const hasAuth = Object.keys(authValues).length > 0;
  const system = [
    'You are a person who asked an AI assistant for help. The assistant can use tools you cannot see, and it has just asked you a question because it thinks something is missing from your request.',
    'Answer as that person: in one or two short sentences, directly and concretely, consistent with your request and with what you already said.',
    'When your request does not settle a detail, choose a realistic, specific value (a real-looking name, date, number, address...) and stick to it; never use placeholders such as <name> or "example".',
    hasAuth
      ? `If asked for an API key, token or other credentials, give exactly these: ${authLine(authValues)}`
      : 'If asked for credentials, say you do not have any.',
    'Reply with your answer only: no greeting, no question back, no role labels.',
    ...(withheld !== undefined ? [withheldLine(withheld)] : []),
  ].join('\n');
  const lines = [`My request to the assistant: ${instruction.trim()}`];
  if (history.length > 0) {
    lines.push('', 'Earlier in this conversation:');
    for (const turn of history) lines.push(`[AI]: ${turn.question}`, `[User]: ${turn.answer}`);
  }
  lines.push('', `The assistant now asks: ${question.trim()}`, '', 'Your answer:');
  return [
    { role: 'system', content: system },
    { role: 'user', content: lines.join('\n') },
  ];
}

/** The user model's instruction about the value its request left out. */
function withheldLine(withheld: MissingArgument): string {
  const where = withheld.function !== undefined ? ` (which ${withheld.function} needs)` : '';
  const value =
    withheld.value !== undefined ? `give exactly this value: ${withheld.value}` : 'choose a realistic value';
  return `Your request left out the ${withheld.argument}${where}. When the assistant asks for it, ${value}.`;
}

/** The deterministic answer that supplies a left-out value. */
export function withheldAnswer(withheld: MissingArgument): string {
  return withheld.value !== undefined
    ? `The ${withheld.argument} is ${withheld.value}.`
    : `I do not know the ${withheld.argument}; please pick a sensible one.`;
}

/** A model's answer without role labels, without a continued dialogue, bounded in length. */
export function cleanUserAnswer(text: string): string {
  let answer = text.trim();
  answer = answer.replace(/^\[?(?:User|Me|Answer)\]?\s*:\s*/i, '');
  const next = answer.search(/\n?\s*\[?(?:AI|Assistant)\]?\s*:/i);
  if (next > 0) answer = answer.slice(0, next);
  answer = answer
    .trim()
    .replace(/^"(.*)"$/s, '$1')
    .trim();
  return answer.length > MAX_USER_ANSWER_CHARS ? answer.slice(0, MAX_USER_ANSWER_CHARS) : answer;
}

/** One user per episode: keeps the Q&A history so that later answers agree with earlier ones. */
export class UserAgent {
  readonly instruction: string;
  readonly history: UserTurn[] = [];
  private readonly options: UserAgentOptions;

  constructor(instruction: string, options: UserAgentOptions = {}) {
    this.instruction = instruction;
    this.options = options;
  }

  /** The user's answer to `question`. A model error propagates (the episode records it). */
  async answer(question: string, signal?: AbortSignal): Promise<UserAnswer> {
    const { model, authValues = {} } = this.options;
    let text: string;
    let usage: TokenUsage = { promptTokens: 0, completionTokens: 0 };
    let calls = 0;
    if (model === undefined) {
      const hasAuth = Object.keys(authValues).length > 0;
      const { withheld } = this.options;
      text =
        hasAuth && asksForCredentials(question)
          ? authLine(authValues)
          : withheld !== undefined
            ? withheldAnswer(withheld)
            : NO_FURTHER_DETAILS;
    } else {
      const response = await model.chat(
        {
          messages: userAgentMessages(
            this.instruction,
            this.history,
            question,
            authValues,
            this.options.withheld,
          ),
          temperature: this.options.temperature ?? 0,
          maxTokens: 256,
          ...(this.options.seed !== undefined ? { seed: this.options.seed } : {}),
        },
        { stage: 'user', ...(signal ? { signal } : {}) },
      );
      usage = response.usage;
      calls = 1;
      text = cleanUserAnswer(response.text);
      if (text === '') text = NO_FURTHER_DETAILS;
    }
    this.history.push({ question, answer: text });
    return { text, usage, calls };
  }

  /**
   * The follow-up of a multi-turn instruction, asked once the assistant has answered (`undefined` when
   * there is none, or it was asked already). Kept in the history so later answers agree with it.
   */
  followUp(answer: string): string | undefined {
    const text = this.options.followUp;
    if (text === undefined || this.followedUp) return undefined;
    this.followedUp = true;
    this.history.push({ question: answer, answer: text });
    return text;
  }

  private followedUp = false;
}
