/**
 * Instruction generation: for each tool, ask a model for realistic user requests (ToolAlpaca's rules:
 * 1 to 2 sentences, mixed sentence types, no API names, concrete nouns instead of placeholders,
 * multi-call requests preferred) from the tool's name, description and NL documentation. Replies are
 * asked as JSON `{instructions: string[]}`; a reply that is not JSON is read as a numbered list.
 * Near-duplicates (of each other and of the tool's existing instructions) are dropped, and the model is
 * asked again, a bounded number of rounds, until the tool has `perTool` instructions; every round is a
 * new request (its own seed). A tool that still has fewer is reported (`total` below `perTool`).
 *
 * With `kinds` (see ./instruction-kinds.ts) the new instructions are split over the kinds, each kind
 * asked with its own request, and the record gets `Instruction_Kinds` beside `Instructions`.
 */
import PQueue from 'p-queue';
import { messageOf, oneLine } from '../core/errors.js';
import type { JsonSchema, Tool } from '../core/tool.js';
import type { InstanceKind, InstructionKindSpec, ToolAlpacaRecord } from '../core/toolalpaca-record.js';
import type { ChatModel, TokenUsage } from '../models/chat-model.js';
import { checkJsonReply } from '../models/structured.js';
import { kindInstructionPrompt, kindQuotas, kindReplySchema, parseKindReply } from './instruction-kinds.js';
import { InstructionDeduper } from './similarity.js';
import { apiBlockLines, avoidLines } from './request-prompt-parts.js';

export interface InstructionGenerationOptions {
  model: ChatModel;
  /** Instructions each tool should have at the end (existing ones count unless `replace`). */
  perTool: number;
  seed?: number;
  /** ROUGE-L similarity at or above which an instruction is a near-duplicate. Default 0.7. */
  similarityThreshold?: number;
  /** Requests per tool at most (the first included). Default 3. */
  maxRounds?: number;
  /** Sampling temperature. Default 0.7. */
  temperature?: number;
  /** Tools worked on at once. Default 4. */
  concurrency?: number;
  /** Discard the tools' existing Instructions instead of keeping and topping them up. */
  replace?: boolean;
  signal?: AbortSignal;
  /**
   * Instance kinds to generate, each with its own request (new instructions split evenly over them).
   * Absent: ToolAlpaca's prompt and mix, and no kind recorded.
   */
  kinds?: readonly InstanceKind[];
  /** The tools of `records` (same order), to check the argument a missing-info instruction leaves out. */
  tools?: readonly (Tool | undefined)[];
  /** Called when a tool is finished. */
  onProgress?: (report: ToolInstructionReport, finished: number, total: number) => void;
}

export interface ToolInstructionReport {
  tool: string;
  /** New instructions kept. */
  kept: number;
  /** Candidates dropped as empty, repeated or near-duplicate (including candidates beyond `perTool`). */
  dropped: number;
  /** Model requests made for this tool. */
  rounds: number;
  /** Instructions the tool has now. */
  total: number;
  /** Set when a request failed; the tool keeps what was collected before. */
  error?: string;
  /** With `kinds`: new instructions kept per kind. */
  kinds?: Partial<Record<InstanceKind, number>>;
}

export interface InstructionGenerationResult {
  /** Copies of the input records (same order) with `Instructions` filled. */
  records: ToolAlpacaRecord[];
  reports: ToolInstructionReport[];
  usage: TokenUsage & { calls: number };
}

export const INSTRUCTIONS_SCHEMA: JsonSchema = {
  type: 'object',
  properties: { instructions: { type: 'array', items: { type: 'string' } } },
  required: ['instructions'],
  additionalProperties: false,
};

/** The prompt asking for `count` instructions for one tool (wording written for this project). */
export function instructionPrompt(
  record: ToolAlpacaRecord,
  count: number,
  avoid: readonly string[] = [],
): string {
  const lines = [
    'You are helping to build a dataset of realistic requests that people make to a digital assistant which can call web APIs.',
    `Write ${count} different requests that a real person might make, each of which the API below can fulfil.`,
    '',
    'Rules:',
    '1. Each request is one or two sentences long.',
    '2. Vary the form: questions, first-person statements ("I need..."), direct commands and polite asks; do not start every request with the same verb.',
    "3. Never mention the API's name or its function names; describe the need as a user would.",
    '4. Only ask for what the API functions can do. Requests that need several calls (or several functions) are preferred.',
    '5. Use concrete details: real places, names, titles, dates, amounts and identifiers instead of placeholders such as "a city", "this item", "a specific xxx" or "[name]".',
    '6. Cover different functions of the API and different everyday situations.',
    '',
    ...apiBlockLines(record),
    ...avoidLines(avoid),
  ];
  lines.push(
    '',
    `Answer with JSON only: {"instructions": ["first request", "second request", ...]} holding exactly ${count} requests.`,
  );
  return lines.join('\n');
}

/** Strips list numbering, bullets and pairs of surrounding quotes from one candidate line. */
export function cleanInstruction(text: string): string {
  let out = text.trim();
  out = out.replace(/^(?:[-*•]\s+|\(?\d{1,3}[.):]\s*|#\d+\s*)/u, '').trim();
  out = out.replace(/^(?:instruction|request)\s*\d*\s*:\s*/iu, '').trim();
  for (const [open, close] of [
    ['"', '"'],
    ["'", "'"],
    ['“', '”'],
    ['`', '`'],
  ] as const) {
    if (out.length >= 2 && out.startsWith(open) && out.endsWith(close)) out = out.slice(1, -1).trim();
  }
  return out;
}

/**
 * The instructions in a model reply: the `instructions` array of a JSON reply (or a bare JSON array of
 * strings), else the numbered or bulleted lines of the text.
 */
export function parseInstructionReply(text: string): { instructions: string[]; format: 'json' | 'list' } {
  const json = checkJsonReply(text, INSTRUCTIONS_SCHEMA);
  if (json.ok) {
    const items = (json.value as { instructions: string[] }).instructions;
    return { instructions: items.map(cleanInstruction).filter((s) => s !== ''), format: 'json' };
  }
  const array = checkJsonReply(text, { type: 'array', items: { type: 'string' } });
  if (array.ok) {
    return {
      instructions: (array.value as string[]).map(cleanInstruction).filter((s) => s !== ''),
      format: 'json',
    };
  }
  const lines = text
    .replace(/```[a-z]*\n?/gi, '')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
  // Prefer numbered/bulleted lines when the reply has any (skipping preambles such as "Sure, here are...").
  const listed = lines.filter((line) => /^(?:[-*•]\s+|\(?\d{1,3}[.):]\s*)/u.test(line));
  const chosen = listed.length > 0 ? listed : lines.filter((line) => !/:\s*$/.test(line));
  return { instructions: chosen.map(cleanInstruction).filter((s) => s !== ''), format: 'list' };
}

async function generateForTool(
  record: ToolAlpacaRecord,
  options: InstructionGenerationOptions,
  toolIndex: number,
  usage: InstructionGenerationResult['usage'],
): Promise<{ record: ToolAlpacaRecord; report: ToolInstructionReport }> {
  if (options.kinds !== undefined) return generateKindsForTool(record, options, toolIndex, usage);
  const existing = options.replace === true ? [] : [...(record.Instructions ?? [])];
  const deduper = new InstructionDeduper(existing, options.similarityThreshold ?? 0.7);
  const kept: string[] = [];
  const maxRounds = Math.max(1, options.maxRounds ?? 3);
  const report: ToolInstructionReport = { tool: record.Name, kept: 0, dropped: 0, rounds: 0, total: 0 };
  for (let round = 0; round < maxRounds; round++) {
    const missing = options.perTool - existing.length - kept.length;
    if (missing <= 0) break;
    options.signal?.throwIfAborted();
    report.rounds++;
    let text: string;
    try {
      const response = await options.model.chat(
        {
          messages: [{ role: 'user', content: instructionPrompt(record, missing, [...existing, ...kept]) }],
          temperature: options.temperature ?? 0.7,
          jsonSchema: { name: 'instructions', schema: INSTRUCTIONS_SCHEMA },
          // A seed per tool and round: a later round is never the same request as an earlier one
          // (the response cache would answer it with the same duplicates).
          seed: (options.seed ?? 0) + toolIndex * 101 + round,
        },
        { stage: 'instructions', ...(options.signal !== undefined ? { signal: options.signal } : {}) },
      );
      usage.calls++;
      usage.promptTokens += response.usage.promptTokens;
      usage.completionTokens += response.usage.completionTokens;
      text = response.text;
    } catch (error) {
      if (options.signal?.aborted === true) throw error;
      report.error = oneLine(`tool "${record.Name}": ${messageOf(error)}`, 300);
      break;
    }
    for (const candidate of parseInstructionReply(text).instructions) {
      if (existing.length + kept.length >= options.perTool) {
        report.dropped++;
        continue;
      }
      if (deduper.offer(candidate)) kept.push(candidate);
      else report.dropped++;
    }
  }
  report.kept = kept.length;
  const instructions = [...existing, ...kept];
  report.total = instructions.length;
  // A record that came with kinds keeps them aligned (the new instructions have none).
  const specs =
    record.Instruction_Kinds === undefined
      ? undefined
      : instructions.map((_text, i) =>
          options.replace === true ? null : (record.Instruction_Kinds?.[i] ?? null),
        );
  return { record: withInstructions(record, instructions, specs), report };
}

/** One request to the instruction model; counts its usage. */
async function askModel(
  options: InstructionGenerationOptions,
  prompt: string,
  schema: { name: string; schema: JsonSchema },
  seed: number,
  usage: InstructionGenerationResult['usage'],
): Promise<string> {
  const response = await options.model.chat(
    {
      messages: [{ role: 'user', content: prompt }],
      temperature: options.temperature ?? 0.7,
      jsonSchema: schema,
      seed,
    },
    { stage: 'instructions', ...(options.signal !== undefined ? { signal: options.signal } : {}) },
  );
  usage.calls++;
  usage.promptTokens += response.usage.promptTokens;
  usage.completionTokens += response.usage.completionTokens;
  return response.text;
}

/**
 * `generateForTool` with kinds: each kind's quota asked with the kind's own request (up to `maxRounds`
 * each), one deduper over all; the new instructions interleaved kind by kind (so that a `--limit` on
 * the corpus still covers every kind), with their specs in `Instruction_Kinds`.
 */
async function generateKindsForTool(
  record: ToolAlpacaRecord,
  options: InstructionGenerationOptions,
  toolIndex: number,
  usage: InstructionGenerationResult['usage'],
): Promise<{ record: ToolAlpacaRecord; report: ToolInstructionReport }> {
  const kinds = options.kinds ?? [];
  const replace = options.replace === true;
  const existing = replace ? [] : [...(record.Instructions ?? [])];
  const existingSpecs: (InstructionKindSpec | null)[] = existing.map(
    (_text, i) => (replace ? undefined : record.Instruction_Kinds?.[i]) ?? null,
  );
  const deduper = new InstructionDeduper(existing, options.similarityThreshold ?? 0.7);
  const maxRounds = Math.max(1, options.maxRounds ?? 3);
  const report: ToolInstructionReport = { tool: record.Name, kept: 0, dropped: 0, rounds: 0, total: 0 };
  const quotas = kindQuotas(kinds, options.perTool - existing.length);
  const tool = options.tools?.[toolIndex];
  const byKind = new Map<InstanceKind, { instruction: string; spec: InstructionKindSpec }[]>();
  const keptTexts: string[] = [];
  outer: for (const [kindIndex, kind] of kinds.entries()) {
    const quota = quotas.get(kind) ?? 0;
    const kept: { instruction: string; spec: InstructionKindSpec }[] = [];
    byKind.set(kind, kept);
    for (let round = 0; round < maxRounds && kept.length < quota; round++) {
      options.signal?.throwIfAborted();
      report.rounds++;
      let text: string;
      try {
        text = await askModel(
          options,
          kindInstructionPrompt(record, kind, quota - kept.length, [...existing, ...keptTexts]),
          { name: 'instructions', schema: kindReplySchema(kind) },
          (options.seed ?? 0) + toolIndex * 101 + kindIndex * 7 + round,
          usage,
        );
      } catch (error) {
        if (options.signal?.aborted === true) throw error;
        report.error = oneLine(`tool "${record.Name}", kind ${kind}: ${messageOf(error)}`, 300);
        break outer;
      }
      const parsed = parseKindReply(text, kind, tool);
      report.dropped += Object.values(parsed.rejected).reduce((sum, n) => sum + n, 0);
      for (const candidate of parsed.candidates) {
        const instruction = cleanInstruction(candidate.instruction);
        if (kept.length >= quota || !deduper.offer(instruction)) {
          report.dropped++;
          continue;
        }
        kept.push({ instruction, spec: candidate.spec });
        keptTexts.push(instruction);
      }
    }
  }
  const added: { instruction: string; spec: InstructionKindSpec }[] = [];
  const lists = kinds.map((kind) => byKind.get(kind) ?? []);
  for (let i = 0; lists.some((list) => i < list.length); i++) {
    for (const list of lists) if (i < list.length) added.push(list[i] as (typeof added)[number]);
  }
  report.kept = added.length;
  report.kinds = Object.fromEntries(kinds.map((kind) => [kind, byKind.get(kind)?.length ?? 0]));
  const instructions = [...existing, ...added.map((a) => a.instruction)];
  report.total = instructions.length;
  const specs = [...existingSpecs, ...added.map((a) => a.spec)];
  return { record: withInstructions(record, instructions, specs), report };
}

/** A copy of `record` with `Instructions` set (kept in place, or added after Function_Projection). */
function withInstructions(
  record: ToolAlpacaRecord,
  instructions: string[],
  kinds?: (InstructionKindSpec | null)[],
): ToolAlpacaRecord {
  // Instruction_Kinds follows Instructions, and only when kinds were asked for.
  const { Instruction_Kinds: _old, ...rest } = record;
  const base = kinds !== undefined ? rest : record;
  const out: Record<string, unknown> = {};
  let placed = false;
  const place = (): void => {
    out.Instructions = instructions;
    if (kinds !== undefined) out.Instruction_Kinds = kinds;
    placed = true;
  };
  for (const [key, value] of Object.entries(base)) {
    if (key === 'Instructions') {
      place();
      continue;
    }
    if (!placed && (key === 'Golden_Answers' || key === 'Instances')) place();
    out[key] = value;
  }
  if (!placed) place();
  return out as ToolAlpacaRecord;
}

/**
 * Fills every record's `Instructions` up to `perTool`; one report per record, in input order. Tools
 * are worked on concurrently (a small in-memory queue: this is a step of a run, not a durable run).
 */
export async function generateInstructions(
  records: readonly ToolAlpacaRecord[],
  options: InstructionGenerationOptions,
): Promise<InstructionGenerationResult> {
  const usage = { calls: 0, promptTokens: 0, completionTokens: 0 };
  const results = new Array<{ record: ToolAlpacaRecord; report: ToolInstructionReport }>(records.length);
  const queue = new PQueue({ concurrency: Math.max(1, options.concurrency ?? 4) });
  let finished = 0;
  let failure: unknown;
  records.forEach((record, index) => {
    void queue
      .add(async () => {
        if (failure !== undefined) return;
        const result = await generateForTool(record, options, index, usage);
        results[index] = result;
        finished++;
        options.onProgress?.(result.report, finished, records.length);
      })
      .catch((error: unknown) => {
        failure ??= error;
      });
  });
  await queue.onIdle();
  if (failure !== undefined) throw failure;
  return {
    records: results.map((r) => r.record),
    reports: results.map((r) => r.report),
    usage,
  };
}
