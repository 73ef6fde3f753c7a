/**
 * ToolAlpaca's built-in tools: `getDetails` (the assistant asks the user for missing information) and
 * `retrievalDataFromFile` (an observation too long for the prompt is stored and replaced by a notice; the
 * assistant then asks for the part it needs).
 *
 * ToolAlpaca retrieved with an LLM; here a deterministic keyword extractor does it, and a model can be
 * given to do it ToolAlpaca's way (falling back to the extractor when the model's answer is empty).
 */
import type { ChatModel, TokenUsage, ToolDefinition } from '../models/chat-model.js';
import type { PromptFunction } from './prompts/layout.js';
import type { UserAgent } from './user-agent.js';

export const GET_DETAILS = 'getDetails';
export const RETRIEVAL = 'retrievalDataFromFile';
export type BuiltinName = typeof GET_DETAILS | typeof RETRIEVAL;

/** ToolAlpaca's `max_output_len`: longer observations go to a file. */
export const DEFAULT_RETRIEVAL_THRESHOLD = 3000;
/** Longest retrieved slice returned (characters). */
export const DEFAULT_RETRIEVAL_MAX_CHARS = 1500;

// ToolAlpaca's descriptions (agent/tools.py), which models trained on its data have seen.
export const GET_DETAILS_DESCRIPTION = `If the user's question lacks the essential information needed to answer the question effectively, or if the question contains vague terms or pronouns without sufficient context, invoke the \`getDetails\` function to prompt the user for the missing critical details. However, \`getDetails\` should not be used in cases where the user omits optional parameters, unless these parameters become necessary in the course of the conversation. 
Parameters: {"Question": "The question to prompt user to provide sufficient information."}
Output: User's response.`;

export const RETRIEVAL_DESCRIPTION = `Retrieve specified information from a file. This tool can ONLY be used when you receive the message 'The output is too long. You need to use the 'retrievalDataFromFile' function to retrieve the output from the file: <file_path>'.
Parameters: {"file_path": "Required. String. The path to the file from which information needs to be retrieved.", "query": "Required. String. The specific information to be retrieved from the file."}
Output: The retrieved information from the file.
 - Format: text/json
 - Structure: {"retrieved_info": "String containing the requested information retrieved from the file."}`;

export const BUILTIN_PROMPT_FUNCTIONS: Readonly<Record<BuiltinName, PromptFunction>> = {
  [GET_DETAILS]: {
    name: GET_DETAILS,
    description: GET_DETAILS_DESCRIPTION,
    summary: 'Ask the user for missing required information.',
    parameters: [{ name: 'Question', type: 'string', required: true }],
  },
  [RETRIEVAL]: {
    name: RETRIEVAL,
    description: RETRIEVAL_DESCRIPTION,
    summary: 'Read part of a stored long output.',
    parameters: [
      { name: 'file_path', type: 'string', required: true },
      { name: 'query', type: 'string', required: true },
    ],
  },
};

/** Function-calling definitions of the built-ins. */
export const BUILTIN_TOOL_DEFINITIONS: Readonly<Record<BuiltinName, ToolDefinition>> = {
  [GET_DETAILS]: {
    name: GET_DETAILS,
    description:
      'Ask the user for essential information missing from the request (not for optional parameters).',
    parameters: {
      type: 'object',
      properties: { Question: { type: 'string', description: 'The question to ask the user.' } },
      required: ['Question'],
    },
  },
  [RETRIEVAL]: {
    name: RETRIEVAL,
    description: 'Retrieve specified information from a stored output that was too long to show.',
    parameters: {
      type: 'object',
      properties: {
        file_path: { type: 'string', description: 'The file named in the notice.' },
        query: { type: 'string', description: 'The information to retrieve.' },
      },
      required: ['file_path', 'query'],
    },
  },
};

export const INVALID_JSON_OBSERVATION =
  "Invalid JSON format. Please ensure 'Action Input' is a valid JSON object.";
export const GET_DETAILS_USAGE =
  'For `getDetails`, the "Action Input" must be like {"Question": "The question to prompt user to provide sufficient information."}.';

/** The notice that replaces a stored observation (ToolAlpaca's wording). */
export function retrievalNotice(fileId: string): string {
  return `The output is too long. You need to use the '${RETRIEVAL}' function to retrieve the output from the file: ${fileId}`;
}

/** Long observations of one episode, by file id. */
export class RetrievalStore {
  private readonly files = new Map<string, string>();

  /** Stores `text` and returns its file id (`./tmp/retrieval_<n>.txt`, numbered per episode). */
  put(text: string): string {
    const id = `./tmp/retrieval_${this.files.size + 1}.txt`;
    this.files.set(id, text);
    return id;
  }

  /** The stored text; also found by the bare file name or number the model may write. */
  get(fileId: string): string | undefined {
    const exact = this.files.get(fileId.trim());
    if (exact !== undefined) return exact;
    const base = fileId.trim().split('/').pop() ?? '';
    for (const [id, text] of this.files) if (id.endsWith(`/${base}`) && base !== '') return text;
    return undefined;
  }

  get size(): number {
    return this.files.size;
  }
}

const STOPWORDS = new Set(
  'a an and are as at be by can could do does for from get give has have how i in is it its me my of on or please retrieve show tell that the their them this to was what when where which who why will with you your all about find list information info data details'.split(
    ' ',
  ),
);

function terms(text: string): string[] {
  const out = new Set<string>();
  for (const raw of text.toLowerCase().split(/[^\p{L}\p{N}]+/u)) {
    if (raw.length < 2 || STOPWORDS.has(raw)) continue;
    out.add(stem(raw));
  }
  return [...out];
}

function stem(word: string): string {
  if (word.length > 4 && word.endsWith('ies')) return `${word.slice(0, -3)}y`;
  if (word.length > 3 && word.endsWith('es') && !word.endsWith('ses')) return word.slice(0, -2);
  if (word.length > 3 && word.endsWith('s') && !word.endsWith('ss')) return word.slice(0, -1);
  return word;
}

/** Flattens JSON into `path: value` lines, grouped by the innermost array element they belong to. */
function flatten(value: unknown, path: string, group: string, out: { group: string; line: string }[]): void {
  if (Array.isArray(value)) {
    value.forEach((item, i) => flatten(item, `${path}[${i}]`, `${path}[${i}]`, out));
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) flatten(item, path ? `${path}.${key}` : key, group, out);
  } else {
    out.push({ group: group || path, line: `${path || 'value'}: ${JSON.stringify(value)}` });
  }
}

/** Pieces of a stored observation: JSON leaves grouped by record, or text lines. */
function piecesOf(text: string): { group: string; line: string }[] {
  const match = /^(Status Code: \d+\. Response: )/.exec(text);
  const body = match ? text.slice(match[1]?.length ?? 0) : text;
  try {
    const value: unknown = JSON.parse(body);
    if (typeof value === 'object' && value !== null) {
      const out: { group: string; line: string }[] = [];
      flatten(value, '', '', out);
      if (out.length > 0) return out;
    }
  } catch {
    // not JSON: fall through to lines
  }
  return body
    .split(/\n+|(?<=[.!?])\s+(?=[A-Z])/)
    .map((line, i) => ({ group: String(i), line: line.trim() }))
    .filter((p) => p.line !== '');
}

/**
 * The part of `text` relevant to `query`, deterministically: JSON outputs are flattened to `path: value`
 * lines grouped by array element; groups are scored by the query words they contain and those with the
 * best score are returned in their original order, within `maxChars`. When nothing matches, the beginning is returned
 * with a note saying so.
 */
export function extractRelevant(text: string, query: string, maxChars = DEFAULT_RETRIEVAL_MAX_CHARS): string {
  const pieces = piecesOf(text);
  const wanted = terms(query);
  const groups = new Map<string, { order: number; lines: string[]; score: number }>();
  for (const piece of pieces) {
    let g = groups.get(piece.group);
    if (g === undefined) {
      g = { order: groups.size, lines: [], score: 0 };
      groups.set(piece.group, g);
    }
    g.lines.push(piece.line);
  }
  for (const g of groups.values()) {
    const have = new Set(terms(g.lines.join(' ')));
    g.score = wanted.filter((t) => have.has(t)).length;
  }
  // Only the best-scoring records: a record matching one common query word ("day") is noise next to one
  // matching all of them ("Bastille day").
  const best = Math.max(0, ...[...groups.values()].map((g) => g.score));
  const ranked = [...groups.values()]
    .filter((g) => g.score > 0 && g.score === best)
    .sort((a, b) => b.score - a.score || a.order - b.order);
  const chosen: typeof ranked = [];
  let used = 0;
  for (const g of ranked) {
    const size = g.lines.join('\n').length + 1;
    if (used + size > maxChars && chosen.length > 0) continue;
    chosen.push(g);
    used += size;
  }
  if (chosen.length === 0) {
    const head = pieces.map((p) => p.line).join('\n');
    return `No part of the output matches "${query}". Its beginning:\n${head.slice(0, maxChars)}`;
  }
  chosen.sort((a, b) => a.order - b.order);
  const out = chosen.map((g) => g.lines.join('\n')).join('\n');
  return out.length > maxChars ? out.slice(0, maxChars) : out;
}

export interface BuiltinResult {
  observation: string;
  usage: TokenUsage;
  calls: number;
}

const NO_USAGE: TokenUsage = { promptTokens: 0, completionTokens: 0 };

/** Runs `getDetails` with already-parsed arguments. A user-model error propagates. */
export async function runGetDetails(
  args: Record<string, unknown>,
  user: UserAgent,
  signal?: AbortSignal,
): Promise<BuiltinResult> {
  const question = args.Question ?? args.question;
  if (typeof question !== 'string' || question.trim() === '') {
    return { observation: GET_DETAILS_USAGE, usage: NO_USAGE, calls: 0 };
  }
  const answer = await user.answer(question, signal);
  return { observation: answer.text, usage: answer.usage, calls: answer.calls };
}

export interface RetrievalOptions {
  /** When given, the model extracts the information as ToolAlpaca did; else the keyword extractor. */
  model?: ChatModel;
  maxChars?: number;
  signal?: AbortSignal;
}

/** Runs `retrievalDataFromFile`: `{"retrieved_info": "..."}` as JSON text, or an error message. */
export async function runRetrieval(
  args: Record<string, unknown>,
  store: RetrievalStore,
  options: RetrievalOptions = {},
): Promise<BuiltinResult> {
  const filePath = args.file_path ?? args.filePath ?? args.file;
  const query = args.query;
  if (typeof filePath !== 'string' || typeof query !== 'string') {
    return {
      observation: `For \`${RETRIEVAL}\`, the "Action Input" must be like {"file_path": "<the file named in the notice>", "query": "<what to retrieve>"}.`,
      usage: NO_USAGE,
      calls: 0,
    };
  }
  const content = store.get(filePath);
  if (content === undefined) return { observation: 'File does not exist.', usage: NO_USAGE, calls: 0 };
  const maxChars = options.maxChars ?? DEFAULT_RETRIEVAL_MAX_CHARS;
  let info: string | undefined;
  let usage = NO_USAGE;
  let calls = 0;
  if (options.model !== undefined) {
    const response = await options.model.chat(
      {
        messages: [
          {
            role: 'user',
            content: `Here is the output of an API call:\n\n${content.slice(0, 40_000)}\n\nExtract from it this information: ${query}\nAnswer concisely with the extracted information only.`,
          },
        ],
        temperature: 0,
        maxTokens: 512,
      },
      { stage: 'retrieval', ...(options.signal ? { signal: options.signal } : {}) },
    );
    usage = response.usage;
    calls = 1;
    info = response.text.trim().slice(0, maxChars) || undefined;
  }
  info ??= extractRelevant(content, query, maxChars);
  return { observation: JSON.stringify({ retrieved_info: info }), usage, calls };
}
