/**
 * ToolAlpaca corpus items (a tool record and one of its instances, from ToolAlpaca JSON or a generation
 * journal) as SftExamples. Failed instances (`status: 'failed'`) are kept, marked not completed, so that
 * filters and the dataset card can count them.
 */
import {
  BUILTIN_PROMPT_FUNCTIONS,
  BUILTIN_TOOL_DEFINITIONS,
  GET_DETAILS,
  RETRIEVAL,
} from '../agents/builtin-tools.js';
import { toolPromptFunctions } from '../agents/prompts/index.js';
import { InputError, messageOf } from '../core/errors.js';
import type { Instance, IntermediateStep, ToolAlpacaRecord } from '../core/toolalpaca-record.js';
import { recordToTool } from '../formats/toolalpaca-json.js';
import type { SftExample, SftFunction, SftStep, SftTurn } from './example.js';

/** The thought of a logged step: its text before the `Action:` line, without a leading `Thought:` label. */
export function thoughtOf(text: string): string {
  const at = text.search(/\n\s*(?:ASSISTANT\s*)?Action\s*:/);
  const head = at >= 0 ? text.slice(0, at) : text;
  return head.replace(/^\s*(?:ASSISTANT\s*)?Thought\s*:/, '').trim();
}

/** What a verification stage wrote on an instance (`verification: {passed, stage, reasons}`), if anything. */
function verificationOf(instance: Instance): SftExample['verification'] {
  const verification = (instance as Record<string, unknown>).verification;
  if (typeof verification !== 'object' || verification === null) return 'none';
  return (verification as { passed?: unknown }).passed === true ? 'passed' : 'failed';
}

/** ToolAlpaca hints appended to instructions (`\nHint: ...`) are dropped, as build_dataset.py does. */
function questionOf(input: string): string {
  const at = input.lastIndexOf('\nHint: ');
  return at >= 0 ? input.slice(0, at) : input;
}

/** The functions a record's prompts list: getDetails first, then the tool's own. */
export async function functionsOfRecord(record: ToolAlpacaRecord, label: string): Promise<SftFunction[]> {
  let tool;
  try {
    tool = await recordToTool(record);
  } catch (error) {
    throw new InputError(`${label}: tool "${record.Name}": ${messageOf(error)}`, { cause: error });
  }
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

/**
 * The functions of each tool record, built once per record object (items of one tool share their record,
 * so a corpus of a million instances over a thousand tools builds a thousand lists).
 */
export class RecordFunctions {
  private readonly cache = new WeakMap<ToolAlpacaRecord, Promise<SftFunction[]>>();

  constructor(private readonly label: string) {}

  of(record: ToolAlpacaRecord): Promise<SftFunction[]> {
    let functions = this.cache.get(record);
    if (functions === undefined) {
      functions = functionsOfRecord(record, this.label);
      this.cache.set(record, functions);
    }
    return functions;
  }
}

function stepsOf(steps: readonly IntermediateStep[] | undefined): SftStep[] {
  return (steps ?? []).map(([call, observation]) => ({
    thought: thoughtOf(call[2] ?? ''),
    action: call[0] ?? '',
    actionInput: call[1] ?? '',
    observation,
  }));
}

/** A multi-turn instance's later turns (`follow_ups`), or undefined when it has none. */
function followUpsOf(instance: Instance): SftTurn[] | undefined {
  const turns = instance.follow_ups ?? [];
  if (turns.length === 0) return undefined;
  return turns.map((turn) => ({
    instruction: turn.input,
    steps: stepsOf(turn.intermediate_steps),
    finalThought: turn['Final Thought'] ?? '',
    finalAnswer: turn.output ?? '',
  }));
}

/**
 * The SftExample of one instance of `record`. `functions` are the record's (from RecordFunctions); a pass
 * that only filters may leave them out.
 */
export function exampleOfInstance(
  record: ToolAlpacaRecord,
  instance: Instance,
  index: number,
  functions: readonly SftFunction[] = [],
): SftExample {
  const raw = instance as Record<string, unknown>;
  const steps = stepsOf(instance.intermediate_steps);
  const followUps = followUpsOf(instance);
  const usesRetrieval = [steps, ...(followUps ?? []).map((turn) => turn.steps)].some((list) =>
    list.some((s) => s.action === RETRIEVAL),
  );
  const output = instance.output ?? '';
  const verification = verificationOf(instance);
  return {
    id: `toolalpaca/${record.Name}/${index}`,
    source: 'toolalpaca',
    tools: [record.Name],
    category: record.Category ?? 'Uncategorized',
    toolDescriptions: { [record.Name]: record.Description ?? '' },
    instruction: questionOf(instance.input),
    functions:
      usesRetrieval && functions.length > 0
        ? [
            ...functions,
            {
              name: RETRIEVAL,
              description: BUILTIN_PROMPT_FUNCTIONS[RETRIEVAL].description,
              parameters: BUILTIN_TOOL_DEFINITIONS[RETRIEVAL].parameters,
            },
          ]
        : [...functions],
    steps,
    finalThought: instance['Final Thought'] ?? '',
    finalAnswer: output,
    // Every turn answered: a follow-up without an answer would teach the model to stop mid-conversation.
    completed:
      raw.status !== 'failed' &&
      output.trim() !== '' &&
      (followUps ?? []).every((turn) => turn.finalAnswer.trim() !== ''),
    verified: verification === 'passed',
    verification,
    ...(typeof raw.kind === 'string' ? { kind: raw.kind } : {}),
    ...(followUps !== undefined ? { followUps } : {}),
  };
}
