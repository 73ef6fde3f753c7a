/**
 * A ToolAlpaca corpus (the generation stage's output: ToolAlpaca JSON whose tools carry `Instances`) as
 * SftExamples. Failed instances (`status: 'failed'`) are kept, marked not completed, so that filters and
 * the dataset card can count them.
 */
import {
  BUILTIN_PROMPT_FUNCTIONS,
  BUILTIN_TOOL_DEFINITIONS,
  GET_DETAILS,
  RETRIEVAL,
} from '../agents/builtin-tools.js';
import { toolPromptFunctions } from '../agents/prompts/index.js';
import { InputError, messageOf } from '../core/errors.js';
import type { Instance, ToolAlpacaRecord } from '../core/toolalpaca-record.js';
import { readToolAlpacaFile, recordToTool } from '../formats/toolalpaca-json.js';
import type { SftExample, SftFunction, SftStep } from './example.js';

/** The thought of a logged step: its text before the `Action:` line, without a leading `Thought:` label. */
export function thoughtOf(text: string): string {
  const at = text.search(/\n\s*(?:ASSISTANT\s*)?Action\s*:/);
  const head = at >= 0 ? text.slice(0, at) : text;
  return head.replace(/^\s*(?:ASSISTANT\s*)?Thought\s*:/, '').trim();
}

function isVerified(instance: Instance): boolean {
  const raw = instance as Record<string, unknown>;
  if (raw.verified === true) return true;
  const verification = raw.verification;
  return (
    typeof verification === 'object' &&
    verification !== null &&
    (verification as { passed?: unknown }).passed === true
  );
}

/** ToolAlpaca hints appended to instructions (`\nHint: ...`) are dropped, as build_dataset.py does. */
function questionOf(input: string): string {
  const at = input.lastIndexOf('\nHint: ');
  return at >= 0 ? input.slice(0, at) : input;
}

async function functionsOf(record: ToolAlpacaRecord): Promise<SftFunction[]> {
  const tool = await recordToTool(record);
  const prompt = toolPromptFunctions(tool, record);
  const byName = new Map(tool.functions.map((fn) => [fn.name, fn]));
  const getDetails = BUILTIN_PROMPT_FUNCTIONS[GET_DETAILS];
  return [
    {
      name: getDetails.name,
      description: getDetails.description,
      parameters: BUILTIN_TOOL_DEFINITIONS[GET_DETAILS].parameters,
    },
    ...prompt.map((fn) => {
      const source = byName.get(fn.name);
      return {
        name: fn.name,
        description: fn.description,
        parameters: source ? source.inputSchema : { type: 'object', properties: {} },
      };
    }),
  ];
}

/** The SftExamples of one record (one per instance, in order). */
export async function examplesOfRecord(record: ToolAlpacaRecord, label: string): Promise<SftExample[]> {
  const instances = record.Instances ?? [];
  if (instances.length === 0) return [];
  let functions: SftFunction[];
  try {
    functions = await functionsOf(record);
  } catch (error) {
    throw new InputError(`${label}: tool "${record.Name}": ${messageOf(error)}`, { cause: error });
  }
  const examples: SftExample[] = [];
  instances.forEach((instance, index) => {
    const raw = instance as Record<string, unknown>;
    const steps: SftStep[] = (instance.intermediate_steps ?? []).map(([call, observation]) => ({
      thought: thoughtOf(call[2] ?? ''),
      action: call[0] ?? '',
      actionInput: call[1] ?? '',
      observation,
    }));
    const usesRetrieval = steps.some((s) => s.action === RETRIEVAL);
    const output = instance.output ?? '';
    examples.push({
      id: `toolalpaca/${record.Name}/${index}`,
      source: 'toolalpaca',
      tools: [record.Name],
      category: record.Category ?? 'Uncategorized',
      toolDescriptions: { [record.Name]: record.Description ?? '' },
      instruction: questionOf(instance.input),
      functions: usesRetrieval
        ? [
            ...functions,
            {
              name: RETRIEVAL,
              description: BUILTIN_PROMPT_FUNCTIONS[RETRIEVAL].description,
              parameters: BUILTIN_TOOL_DEFINITIONS[RETRIEVAL].parameters,
            },
          ]
        : functions,
      steps,
      finalThought: instance['Final Thought'] ?? '',
      finalAnswer: output,
      completed: raw.status !== 'failed' && output.trim() !== '',
      verified: isVerified(instance),
    });
  });
  return examples;
}

/** Every instance of every tool in a ToolAlpaca corpus file. */
export async function readToolAlpacaCorpus(path: string): Promise<SftExample[]> {
  const records = await readToolAlpacaFile(path);
  const out: SftExample[] = [];
  for (const record of records) out.push(...(await examplesOfRecord(record, path)));
  return out;
}
