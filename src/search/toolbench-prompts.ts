/**
 * ToolBench's own prompts, read at run time from the files `datasets fetch toolbench-prompts` brings
 * (nothing of them is copied into this project), rendered as ToolBench's inference renders them, so that
 * checkpoints trained on ToolBench (ToolLLaMA) see the input they were trained on:
 *
 * - `ReAct_prompts.py`: the system prompt (`FORMAT_INSTRUCTIONS_SYSTEM_FUNCTION`, its `{task_description}`
 *   slot filled with the task description) and the user prompt (`FORMAT_INSTRUCTIONS_USER_FUNCTION`,
 *   `{input_description}` = the query);
 * - `Tree_search_prompts.py`: DFSDT's `DIVERSITY_PROMPT` (`{previous_candidate}` = the earlier children
 *   as `json.dumps(..., indent=2)`, then the node's own observation);
 * - a ChatGPT DFSDT answer of ToolBench's example data (the data ToolLLaMA was trained on): the `Finish`
 *   function as it was offered, the task description's text before the tool list, and the line that
 *   introduces the former observation in a diversity message. The module holds none of these (ToolBench
 *   builds them in its environment code), so they are read from a conversation rendered with it.
 *
 * The task description's tool list is ToolBench's: `{k}.{tool}: {description}` per distinct tool, the
 * description cut to 512 characters, newlines removed, stripped, "None" when empty.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError, messageOf } from '../core/errors.js';
import type { Tool } from '../core/tool.js';
import {
  AnswerGenerationSchema,
  FINISH_FUNCTION_NAME,
  type AnswerFunction,
  type AnswerMessage,
} from '../core/toolbench.js';
import { defaultDatasetDir } from '../datasets/catalog.js';
import { pythonStringConstants, requirePythonString } from '../datasets/python-constants.js';
import { toolOfFunction } from '../formats/toolbench.js';
import { parsePythonJson, pythonJsonDumps } from '../formats/python-json.js';
import type { EarlierCandidate, SolverPromptSet } from './prompts.js';

/** The example answer `datasets fetch toolbench-prompts` brings beside the module. */
export const TOOLBENCH_EXAMPLE_ANSWER = '57_ChatGPT_DFS_woFilter_w2.json';

/** The texts of ToolBench's prompt set, as read from the files. */
export interface ToolBenchPromptTexts {
  /** `FORMAT_INSTRUCTIONS_SYSTEM_FUNCTION` (with its `{task_description}` slot). */
  system: string;
  /** `FORMAT_INSTRUCTIONS_USER_FUNCTION` (with its `{input_description}` slot). */
  user: string;
  /** `DIVERSITY_PROMPT` (with its `{previous_candidate}` slot). */
  diversity: string;
  /** The task description up to its tool list. */
  taskHeader: string;
  /** What precedes the node's own observation in a diversity message. */
  observationLead: string;
  finish: AnswerFunction;
}

export interface ToolBenchPromptFiles {
  /** Folder with `ReAct_prompts.py` and `Tree_search_prompts.py` (default: the fetched dataset's folder). */
  dir?: string;
  /** A ToolBench DFSDT answer file (default `DIR/57_ChatGPT_DFS_woFilter_w2.json`). */
  answer?: string;
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new InputError(
      missing
        ? `${path}: ${what} not found; run \`toolalpaca datasets fetch toolbench-prompts\` (or give the folder as \`dir\`)`
        : `${path}: cannot read ${what} (${messageOf(error)})`,
      missing ? { details: { reason: 'toolbench-prompts-missing', path, what } } : {},
    );
  }
}

/** Python's `str.replace(slot, value)`: every occurrence, no pattern syntax. */
function fill(template: string, slot: string, value: string): string {
  return template.split(slot).join(value);
}

/** The two sides of `slot` in `template`, or an InputError. */
function around(template: string, slot: string, label: string): [string, string] {
  const at = template.indexOf(slot);
  if (at < 0) throw new InputError(`${label}: no ${slot} slot`);
  return [template.slice(0, at), template.slice(at + slot.length)];
}

/** Reads and checks the texts; every failure is one InputError naming the file and what is missing. */
export async function readToolBenchPromptTexts(
  files: ToolBenchPromptFiles = {},
): Promise<ToolBenchPromptTexts> {
  const dir = files.dir ?? defaultDatasetDir('toolbench-prompts');
  const reactPath = join(dir, 'ReAct_prompts.py');
  const treePath = join(dir, 'Tree_search_prompts.py');
  const react = pythonStringConstants(await readText(reactPath, "ToolBench's ReAct prompts"), reactPath);
  const tree = pythonStringConstants(await readText(treePath, "ToolBench's tree-search prompts"), treePath);
  const system = requirePythonString(react, 'FORMAT_INSTRUCTIONS_SYSTEM_FUNCTION', reactPath);
  const user = requirePythonString(react, 'FORMAT_INSTRUCTIONS_USER_FUNCTION', reactPath);
  const diversity = requirePythonString(tree, 'DIVERSITY_PROMPT', treePath);
  const [systemHead, systemTail] = around(
    system,
    '{task_description}',
    `${reactPath}: FORMAT_INSTRUCTIONS_SYSTEM_FUNCTION`,
  );
  around(user, '{input_description}', `${reactPath}: FORMAT_INSTRUCTIONS_USER_FUNCTION`);
  const [diversityHead, diversityTail] = around(
    diversity,
    '{previous_candidate}',
    `${treePath}: DIVERSITY_PROMPT`,
  );

  const answerPath = files.answer ?? join(dir, TOOLBENCH_EXAMPLE_ANSWER);
  let data: unknown;
  try {
    data = JSON.parse(await readText(answerPath, "ToolBench's example answer")) as unknown;
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(`${answerPath}: not valid JSON (${messageOf(error)})`);
  }
  const parsed = AnswerGenerationSchema.safeParse(
    (data as { answer_generation?: unknown } | null)?.answer_generation,
  );
  if (!parsed.success)
    throw new InputError(`${answerPath}: not a ToolBench answer file (no answer_generation)`);
  const generation = parsed.data;
  const finish = generation.function.find((f) => f.name === FINISH_FUNCTION_NAME);
  if (finish === undefined)
    throw new InputError(`${answerPath}: no Finish function among answer_generation.function`);
  const conversations = generation.train_messages ?? [];
  const systemText = conversations[0]?.[0]?.content ?? '';
  if (!systemText.startsWith(systemHead) || !systemText.endsWith(systemTail))
    throw new InputError(`${answerPath}: its system message was not rendered from ${reactPath}`);
  const taskDescription = systemText.slice(systemHead.length, systemText.length - systemTail.length);
  const firstTool = generation.function.find((f) => f.name !== FINISH_FUNCTION_NAME);
  const listStart =
    firstTool === undefined ? -1 : taskDescription.indexOf(`\n1.${toolOfFunction(firstTool.name)}: `);
  if (listStart < 0) throw new InputError(`${answerPath}: no tool list found in its task description`);
  const taskHeader = taskDescription.slice(0, listStart + 1);
  const observationLead = diversityObservationLead(conversations, diversityHead, diversityTail);
  if (observationLead === undefined)
    throw new InputError(
      `${answerPath}: no diversity message with a former observation to read the prompt's layout from`,
    );
  return { system, user, diversity, taskHeader, observationLead, finish };
}

/**
 * In a diversity message, the earlier candidates (a JSON list ending in "\n]\n") are followed by a lead-in
 * and the observation the previous message of the conversation carries: returns that lead-in.
 */
function diversityObservationLead(
  conversations: readonly (readonly AnswerMessage[])[],
  head: string,
  tail: string,
): string | undefined {
  for (const messages of conversations) {
    for (let i = 1; i < messages.length; i++) {
      const content = messages[i]?.content ?? '';
      if (messages[i]?.role !== 'user' || !content.startsWith(head) || !content.endsWith(tail)) continue;
      const filled = content.slice(head.length, content.length - tail.length);
      const observation = messages[i - 1]?.content ?? '';
      if (observation === '' || !filled.endsWith(`${observation}\n`)) continue;
      const observationAt = filled.length - observation.length - 1;
      const listEnd = filled.lastIndexOf('\n]\n', observationAt);
      if (listEnd < 0) continue;
      return filled.slice(listEnd + 3, observationAt);
    }
  }
  return undefined;
}

/** ToolBench's tool list line text for one tool description. */
function toolLine(description: string): string {
  // Python slices by code point.
  const cut = Array.from(description).slice(0, 512).join('').replace(/\n/g, '').trim();
  return cut === '' ? 'None' : cut;
}

/** The prompt set from the texts, rendered as ToolBench's inference does. */
export function toolBenchPromptSet(texts: ToolBenchPromptTexts): SolverPromptSet {
  return {
    name: 'toolbench',
    finish: texts.finish,
    system(tools: readonly Tool[]): string {
      // One line per distinct tool; a later duplicate keeps the first position and the last description.
      const byName = new Map<string, string>();
      for (const tool of tools) byName.set(tool.name, tool.description);
      const lines = [...byName].map(
        ([name, description], k) => `${k + 1}.${name}: ${toolLine(description)}\n`,
      );
      return fill(texts.system, '{task_description}', texts.taskHeader + lines.join(''));
    },
    user(query: string): string {
      return fill(texts.user, '{input_description}', query);
    },
    diversity(candidates: readonly EarlierCandidate[], formerObservation: string): string {
      // ToolBench lists each with a "mento-carlo-action-value", a float that DFSDT never sets (0.0).
      const items = candidates.map((c) =>
        parsePythonJson(
          `{"name": ${JSON.stringify(c.name)}, "arguments": ${JSON.stringify(c.arguments)}, "function_output": ${JSON.stringify(c.function_output)}, "mento-carlo-action-value": 0.0}`,
        ),
      );
      let text = `${pythonJsonDumps(items, { indent: 2 })}\n`;
      if (formerObservation !== '') text += `${texts.observationLead}${formerObservation}\n`;
      return fill(texts.diversity, '{previous_candidate}', text);
    },
  };
}

/** `readToolBenchPromptTexts` then `toolBenchPromptSet`. */
export async function loadToolBenchPromptSet(files: ToolBenchPromptFiles = {}): Promise<SolverPromptSet> {
  return toolBenchPromptSet(await readToolBenchPromptTexts(files));
}
