/**
 * A generation run: tools (ToolAlpaca JSON or OpenAPI) → instructions for tools that have none → one
 * episode per (tool, instruction), run on the durable-run engine (`src/run`) → ToolAlpaca JSON with
 * every tool's `Instances`.
 *
 * Durability is the engine's: each finished instance is journaled (one fsynced line of
 * `OUT.json.log.jsonl`) before it counts as done, and the final JSON is written atomically from the
 * journal. After a kill -9, `resume: true` skips the instances already journaled (and runs again those
 * that failed for an infrastructure reason), so a crash loses at most the instances in flight and never
 * duplicates one. A journal made with other parameters is refused. Generated instructions are journaled
 * as notes (`instructions:TOOL`, with `--kinds` also `instruction-kinds:TOOL`) and reused on resume.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { InputError, messageOf, oneLine } from '../core/errors.js';
import type { InstanceKind, InstructionKindSpec, ToolAlpacaRecord } from '../core/toolalpaca-record.js';
import type { PromptLayoutName } from '../agents/episode.js';
import type { ChatModel } from '../models/chat-model.js';
import { endpointOf } from '../models/preflight.js';
import {
  readToolSource,
  recomputeDerivedFields,
  recordToTool,
  toolToRecord,
  toolsOfSource,
  type ToolSource,
} from '../formats/toolalpaca-json.js';
import { instructionsNoteKey, openToolAlpacaWriter, toolNoteKey } from '../formats/corpus-stream.js';
import {
  executionOptionsOf,
  startOptionsOf,
  withDurableRun,
  writeRunMeta,
  type DurableRun,
} from '../run/index.js';
import {
  cutRecords,
  episodeParameters,
  episodeProgressReporter,
  episodeRunFigures,
  episodeTaskRunner,
  instanceOf,
  planEpisodeTasks,
  type EpisodeProgress,
  type EpisodeRecord,
  type EpisodeRunFigures,
  type EpisodeRunOptions,
  type EpisodeTaskOutput,
  type LoadedTool,
  type ToolLookup,
} from './episode-run.js';
import { generateInstructions, type ToolInstructionReport } from './instructions.js';

/** ToolAlpaca's generation prompt. */
export const DEFAULT_GENERATION_PROMPT: PromptLayoutName = 'train_v2';
/** Instructions generated for a tool without any. */
export const DEFAULT_INSTRUCTIONS_PER_TOOL = 10;

export type GenerationProgress = EpisodeProgress;

export interface GenerationOptions extends EpisodeRunOptions {
  /** Model for instructions of tools that have none; default `assistant`. */
  instructionModel?: ChatModel;
  /** Called once per tool whose instructions were generated. */
  onInstructions?: (report: ToolInstructionReport) => void;
  /**
   * Instance kinds of the instructions generated for tools without any (as `instructions --kinds`: each
   * kind asked with its own request, `perTool` split over them, recorded in `Instruction_Kinds`).
   * Tools that come with instructions keep theirs. Absent: ToolAlpaca's mix, no kind recorded.
   */
  kinds?: readonly InstanceKind[];
}

/** A tool whose generated instructions fell short of the target. */
export interface InstructionShortfall {
  tool: string;
  have: number;
  target: number;
}

export interface GenerationSummary extends EpisodeRunFigures {
  out: string;
  log: string;
  meta: string;
  tools: number;
  instructionReports: ToolInstructionReport[];
  /** Tools left with fewer instructions than asked (duplicates, model errors). */
  instructionShortfall: InstructionShortfall[];
  skippedTools: { tool: string; error: string }[];
  durationMs: number;
}

/** sha256 of a tools input: the file's bytes, or every file under a folder (sorted by relative path). */
export async function hashToolsInput(path: string): Promise<string> {
  const hash = createHash('sha256');
  const info = await stat(path);
  if (!info.isDirectory()) {
    hash.update(await readFile(path));
    return `sha256:${hash.digest('hex')}`;
  }
  const files: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile()) files.push(full);
    }
  };
  await walk(path);
  files.sort();
  for (const file of files) {
    hash
      .update(relative(path, file))
      .update('\0')
      .update(await readFile(file))
      .update('\0');
  }
  return `sha256:${hash.digest('hex')}`;
}

/** `record` with its NL documentation, derived from its OpenAPI spec when it has none. */
function withNlDocumentation(record: ToolAlpacaRecord): ToolAlpacaRecord {
  return record.NLDocumentation === undefined || record.NLDocumentation.trim() === ''
    ? recomputeDerivedFields(record)
    : record;
}

/** The tools of a ToolAlpaca or OpenAPI input as records with NL documentation, plus the unreadable ones. */
export async function loadGenerationTools(
  path: string,
): Promise<{ tools: LoadedTool[]; skipped: { tool: string; error: string }[] }> {
  return toolsOfReadSource(await readToolSource(path), path);
}

/** `loadGenerationTools` for a source already read. */
async function toolsOfReadSource(
  source: ToolSource,
  path: string,
): Promise<{ tools: LoadedTool[]; skipped: { tool: string; error: string }[] }> {
  const sourced = await toolsOfSource(source);
  const tools: LoadedTool[] = [];
  const skipped: { tool: string; error: string }[] = [];
  for (const item of sourced) {
    if (item.tool === undefined) {
      skipped.push({ tool: item.name, error: item.error ?? 'cannot be read' });
      continue;
    }
    tools.push({ record: withNlDocumentation(item.record ?? toolToRecord(item.tool)), tool: item.tool });
  }
  const seen = new Set<string>();
  for (const { record } of tools) {
    if (seen.has(record.Name)) {
      throw new InputError(
        `${path}: two tools are named "${record.Name}"; tool names must be unique in a run`,
      );
    }
    seen.add(record.Name);
  }
  return { tools, skipped };
}

/**
 * The tools of a run's input found by name, each ToolAlpaca record turned into a tool the first time a
 * task names it. A queue worker runs only some of a run's tasks: converting every record of a large
 * tools file (OpenAPI dereferencing, a millisecond or more each) on its first job would hold that job,
 * and every other worker's, for seconds. Other inputs (OpenAPI, MCP) are loaded whole, as for a run.
 */
export async function lookupRunTools(toolsPath: string): Promise<ToolLookup> {
  const source = await readToolSource(toolsPath);
  if (source.kind !== 'toolalpaca') {
    const { tools } = await toolsOfReadSource(source, toolsPath);
    const byName = new Map(tools.map((loaded) => [loaded.record.Name, loaded]));
    return (name) => Promise.resolve(byName.get(name));
  }
  const records = new Map(source.records.map((record) => [record.Name, record]));
  const converted = new Map<string, Promise<LoadedTool>>();
  return (name) => {
    const record = records.get(name);
    if (record === undefined) return Promise.resolve(undefined);
    let loaded = converted.get(name);
    if (loaded === undefined) {
      loaded = recordToTool(record).then((tool) => ({ record: withNlDocumentation(record), tool }));
      converted.set(name, loaded);
    }
    return loaded;
  };
}

/** The tools of a run's input, loaded and hashed; unreadable tools are skipped with a warning. */
export async function loadRunTools(
  options: Pick<EpisodeRunOptions, 'toolsPath' | 'limit' | 'onWarning'>,
): Promise<{ toolsHash: string; tools: LoadedTool[]; skipped: { tool: string; error: string }[] }> {
  if (options.limit !== undefined && (!Number.isInteger(options.limit) || options.limit < 1)) {
    throw new InputError(`limit must be a positive integer, got ${options.limit}`);
  }
  const toolsHash = await hashToolsInput(options.toolsPath).catch((error: unknown) => {
    throw new InputError(oneLine(`${options.toolsPath}: cannot read: ${messageOf(error)}`), { cause: error });
  });
  const { tools, skipped } = await loadGenerationTools(options.toolsPath);
  for (const item of skipped) options.onWarning?.(`skipping tool "${item.tool}": ${item.error}`);
  if (tools.length === 0) throw new InputError(`${options.toolsPath}: no usable tools`);
  return { toolsHash, tools, skipped };
}

function needsInstructions(record: ToolAlpacaRecord): boolean {
  return (record.Instructions ?? []).length === 0;
}

/** The header of a generation run: the episode parameters, plus the instruction model when one is used. */
function generationParameters(
  options: GenerationOptions,
  tools: readonly LoadedTool[],
  toolsHash: string,
): Record<string, unknown> {
  const parameters = episodeParameters(options, { prompt: DEFAULT_GENERATION_PROMPT }, toolsHash);
  if (tools.some(({ record }) => needsInstructions(record))) {
    const model = options.instructionModel ?? options.assistant;
    parameters.instructionModel = model.id;
    parameters.instructionEndpoint = endpointOf(model);
    // Only when given, so that journals of runs without kinds resume as before.
    if (options.kinds !== undefined) parameters.kinds = [...options.kinds];
  }
  return parameters;
}

/**
 * `kinds` apply to the instructions a run writes: an error when every tool already has instructions
 * (the kinds would change nothing), a warning naming how many tools keep theirs.
 */
function checkKinds(options: GenerationOptions, tools: readonly LoadedTool[]): void {
  if (options.kinds === undefined) return;
  const have = tools.filter(({ record }) => !needsInstructions(record)).length;
  if (have === tools.length) {
    throw new InputError(
      `${options.toolsPath}: kinds apply to the instructions generate writes for tools without any, and every tool has instructions (give them kinds with the instructions command first)`,
    );
  }
  if (have > 0) {
    options.onWarning?.(
      `${have} of ${tools.length} tools already have instructions: they keep them (and their recorded kinds, if any); kinds apply to the others`,
    );
  }
}

const instructionsKey = instructionsNoteKey;
/** The journal note holding the kinds of a tool's generated instructions (aligned with them). */
const instructionKindsKey = (tool: string): string => `instruction-kinds:${tool}`;

/**
 * Journals each tool's record (instructions included, instances left out) as a note, once, so that the
 * journal alone is a corpus: `export` (and later verify, view) stream it during or after a run.
 */
async function noteToolRecords(
  run: DurableRun<EpisodeTaskOutput, Record<string, unknown>>,
  tools: readonly LoadedTool[],
): Promise<void> {
  const notes = run.journal.previous.notes;
  // Appended together, they go out in one group-committed write.
  await Promise.all(
    tools.map(({ record }) => {
      const { Instances: _instances, ...rest } = record;
      const key = toolNoteKey(record.Name);
      return JSON.stringify(notes.get(key)) === JSON.stringify(rest) ? undefined : run.note(key, rest);
    }),
  );
}

/**
 * Gives every tool instructions: its record's own, else those generated earlier in this run (journal
 * notes), else new ones (journaled as notes). Updates `tools` in place; returns the reports.
 */
async function ensureInstructions(
  run: DurableRun<EpisodeTaskOutput, Record<string, unknown>>,
  tools: LoadedTool[],
  options: GenerationOptions,
): Promise<ToolInstructionReport[]> {
  const notes = run.journal.previous.notes;
  for (const item of tools) {
    const logged = notes.get(instructionsKey(item.record.Name));
    const kinds = notes.get(instructionKindsKey(item.record.Name));
    if (needsInstructions(item.record) && Array.isArray(logged)) {
      item.record = {
        ...item.record,
        Instructions: logged as string[],
        ...(Array.isArray(kinds) ? { Instruction_Kinds: kinds as (InstructionKindSpec | null)[] } : {}),
      };
    }
  }
  const missing = tools.filter(({ record }) => needsInstructions(record));
  if (missing.length === 0) return [];
  const generated = await generateInstructions(
    missing.map((t) => t.record),
    {
      model: options.instructionModel ?? options.assistant,
      perTool: options.perTool ?? DEFAULT_INSTRUCTIONS_PER_TOOL,
      ...(options.kinds !== undefined ? { kinds: options.kinds, tools: missing.map((t) => t.tool) } : {}),
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
      concurrency: Math.max(1, options.concurrency ?? 4),
      onProgress: (report) => options.onInstructions?.(report),
    },
  );
  for (let i = 0; i < missing.length; i++) {
    const item = missing[i] as LoadedTool;
    const record = generated.records[i] as ToolAlpacaRecord;
    item.record = record;
    // The kinds first: a run killed between the two notes generates both again on resume.
    if (record.Instruction_Kinds !== undefined)
      await run.note(instructionKindsKey(record.Name), record.Instruction_Kinds);
    await run.note(instructionsKey(record.Name), record.Instructions ?? []);
  }
  return generated.reports;
}

/** Tools whose generated instructions fell short of `target`. */
export function instructionShortfall(
  reports: readonly ToolInstructionReport[],
  target: number,
): InstructionShortfall[] {
  return reports.filter((r) => r.total < target).map((r) => ({ tool: r.tool, have: r.total, target }));
}

/** The corpus: every tool, its instances (journaled and cut) in instruction order. */
async function writeCorpus(
  out: string,
  tools: readonly LoadedTool[],
  records: readonly EpisodeRecord[],
): Promise<void> {
  const byTool = new Map<string, EpisodeRecord[]>();
  for (const record of records) {
    const list = byTool.get(record.output.tool) ?? [];
    list.push(record);
    byTool.set(record.output.tool, list);
  }
  // Written by streaming: one JSON string of a large corpus would pass V8's string limit (~512 MB).
  const writer = await openToolAlpacaWriter(out);
  try {
    for (const { record } of tools) {
      const entries = (byTool.get(record.Name) ?? []).sort((a, b) => a.output.index - b.output.index);
      await writer.tool(record);
      for (const entry of entries) await writer.instance(instanceOf(entry));
    }
    await writer.close();
  } catch (error) {
    await writer.abort();
    throw error;
  }
}

/** Runs a generation; see the module comment for the files and the resume rules. */
export async function runGeneration(options: GenerationOptions): Promise<GenerationSummary> {
  const started = performance.now();
  const { toolsHash, tools, skipped } = await loadRunTools(options);
  checkKinds(options, tools);
  const prompt = options.prompt ?? DEFAULT_GENERATION_PROMPT;
  const parameters = generationParameters(options, tools, toolsHash);
  return withDurableRun<EpisodeTaskOutput, Record<string, unknown>, GenerationSummary>(
    {
      kind: 'generate',
      out: options.out,
      parameters,
      context: { tools: options.toolsPath, out: options.out },
      ...startOptionsOf(options),
    },
    async (run) => {
      const instructionReports = await ensureInstructions(run, tools, options);
      await noteToolRecords(run, tools);
      const outcome = await run.execute({
        tasks: planEpisodeTasks(tools, options),
        runTask: episodeTaskRunner(tools, options, prompt),
        ...executionOptionsOf(options, 4),
        ...episodeProgressReporter(options),
      });
      await writeCorpus(options.out, tools, [...outcome.finished, ...cutRecords(outcome)]);
      const files = run.files;
      const summary: GenerationSummary = {
        out: options.out,
        log: files?.journal ?? '',
        meta: files?.meta ?? '',
        tools: tools.length,
        ...episodeRunFigures(outcome, options),
        instructionReports,
        instructionShortfall: instructionShortfall(
          instructionReports,
          options.perTool ?? DEFAULT_INSTRUCTIONS_PER_TOOL,
        ),
        skippedTools: skipped,
        durationMs: Math.round(performance.now() - started),
      };
      await writeRunMeta(summary.meta, {
        parameters,
        options: {
          concurrency: options.concurrency ?? 4,
          limit: options.limit ?? null,
          retryFailed: options.retryFailed ?? 'infrastructure',
        },
        summary,
        ledger: options.ledger,
      });
      await run.end(outcome);
      return summary;
    },
  );
}
