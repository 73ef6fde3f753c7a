/**
 * ToolBench / StableToolBench data: the raw query and answer layouts as ToolBench writes them (loose, so
 * unknown fields survive), and this project's task: one query with its tools in the project's tool model.
 */
import { z } from 'zod';
import { ToolSchema } from './tool.js';

// ---------------------------------------------------------------------------------------------------------
// Raw query files (`G1_instruction.json`, `instruction/G1_query.json`...)

export const RawToolBenchParameterSchema = z.looseObject({
  name: z.string(),
  type: z.string().optional(),
  description: z.string().nullable().optional(),
  default: z.unknown().optional(),
});
export type RawToolBenchParameter = z.infer<typeof RawToolBenchParameterSchema>;

export const RawToolBenchApiSchema = z.looseObject({
  category_name: z.string().optional(),
  tool_name: z.string(),
  api_name: z.string(),
  api_description: z.string().nullable().optional(),
  required_parameters: z.array(RawToolBenchParameterSchema).optional(),
  optional_parameters: z.array(RawToolBenchParameterSchema).optional(),
  method: z.string().optional(),
  template_response: z.unknown().optional(),
});
export type RawToolBenchApi = z.infer<typeof RawToolBenchApiSchema>;

export const RawToolBenchQuerySchema = z.looseObject({
  query: z.string(),
  query_id: z.union([z.number(), z.string()]).optional(),
  api_list: z.array(RawToolBenchApiSchema).optional(),
  'relevant APIs': z.array(z.array(z.string())).optional(),
});
export type RawToolBenchQuery = z.infer<typeof RawToolBenchQuerySchema>;

// ---------------------------------------------------------------------------------------------------------
// Tasks (this project's shape)

/** `[toolName, apiName]` with the names as the query file spells them (not standardised). */
export const ApiRefSchema = z.tuple([z.string(), z.string()]);
export type ApiRef = z.infer<typeof ApiRefSchema>;

/** One API of a task: where it came from and the function name the model sees. */
export const TaskApiSchema = z.object({
  category: z.string(),
  /** Tool name as the query file has it, e.g. "TheClique". */
  toolName: z.string(),
  /** API name as the query file has it, e.g. "Transfermarkt search". */
  apiName: z.string(),
  /** `standardize(toolName)`: the project `Tool.name`. */
  standardToolName: z.string(),
  /** `{api}_for_{tool}`, ToolBench-normalised, at most 64 characters, unique in the task. */
  functionName: z.string(),
  description: z.string().default(''),
});
export type TaskApi = z.infer<typeof TaskApiSchema>;

export const ToolBenchTaskSchema = z.object({
  /** `query_id` as a string (numbers are stringified). */
  queryId: z.string(),
  query: z.string(),
  /** One tool per distinct (category, tool) of the query's api_list; functions named ToolBench-style. */
  tools: z.array(ToolSchema),
  /** Every API of the task, in api_list order (duplicates dropped). */
  apis: z.array(TaskApiSchema).default([]),
  /** The query's `relevant APIs`, `[toolName, apiName]` as spelled in the file. */
  relevantApis: z.array(ApiRefSchema).default([]),
  /** Group/file label, e.g. "G1_instruction". */
  group: z.string().optional(),
});
export type ToolBenchTask = z.infer<typeof ToolBenchTaskSchema>;

/** The file `toolbench import` writes: tasks in this project's shape. */
export const TOOLBENCH_TASKS_KIND = 'toolalpaca-toolbench-tasks';
export const ToolBenchTasksFileSchema = z.looseObject({
  kind: z.literal(TOOLBENCH_TASKS_KIND),
  version: z.number().int().default(1),
  tasks: z.array(ToolBenchTaskSchema),
});
export type ToolBenchTasksFile = z.infer<typeof ToolBenchTasksFileSchema>;

// ---------------------------------------------------------------------------------------------------------
// Answer files (ToolBench's layout: `answer/G1_answer/10_ChatGPT_DFS_woFilter_w2.json`)

/**
 * A message of `train_messages` / tree node `messages`: OpenAI's legacy function-calling shape
 * (ToolBench: `function_call`, then a `function` message), or its tool-calls shape for parallel calls
 * (StableToolBench: `tool_calls`, then one `tool` message per call with `tool_call_id`).
 */
export const AnswerMessageSchema = z.looseObject({
  role: z.string(),
  content: z.string().nullable().optional(),
  name: z.string().optional(),
  function_call: z.looseObject({ name: z.string(), arguments: z.string() }).optional(),
  tool_calls: z
    .array(
      z.looseObject({
        id: z.string(),
        function: z.looseObject({ name: z.string(), arguments: z.string() }),
      }),
    )
    .optional(),
  tool_call_id: z.string().optional(),
});
export type AnswerMessage = z.infer<typeof AnswerMessageSchema>;

/** A function as ToolBench sends it: `parameters` with `required` and `optional` name lists. */
export const AnswerFunctionSchema = z.looseObject({
  name: z.string(),
  description: z.string().optional(),
  parameters: z.record(z.string(), z.unknown()).optional(),
});
export type AnswerFunction = z.infer<typeof AnswerFunctionSchema>;

export const FinishTypeSchema = z.enum(['give_answer', 'give_up']);

export const AnswerGenerationSchema = z.looseObject({
  valid_data: z.boolean(),
  query: z.string().optional(),
  /** The `Finish` call's arguments text (ToolBench keeps the JSON text, not the bare answer). */
  final_answer: z.string().default(''),
  finish_type: z.string().default('give_answer'),
  query_count: z.number().default(0),
  total_tokens: z.number().default(0),
  function: z.array(AnswerFunctionSchema).default([]),
  chain: z.array(z.unknown()).optional(),
  /** Absent when the run found neither an answer nor a give-up. */
  train_messages: z.array(z.array(AnswerMessageSchema)).optional(),
});
export type AnswerGeneration = z.infer<typeof AnswerGenerationSchema>;

/** A node of ToolBench's tree: node_type "Thought" | "Action" | "Action Input". */
export interface AnswerTreeNode {
  is_terminal: boolean;
  pruned: boolean;
  finished: boolean;
  depth: number;
  node_type: string;
  description: string;
  Elo?: number;
  child_count?: number;
  expand_num: number;
  observation?: string;
  observation_code?: number;
  messages?: AnswerMessage[];
  io_state?: Record<string, unknown>;
  children: AnswerTreeNode[];
  [key: string]: unknown;
}

export const AnswerTreeNodeSchema: z.ZodType<AnswerTreeNode> = z.lazy(() =>
  z.looseObject({
    is_terminal: z.boolean().default(false),
    pruned: z.boolean().default(false),
    finished: z.boolean().default(false),
    depth: z.number(),
    node_type: z.string(),
    description: z.string().default(''),
    Elo: z.number().optional(),
    child_count: z.number().optional(),
    expand_num: z.number().default(0),
    observation: z.string().optional(),
    observation_code: z.number().optional(),
    messages: z.array(AnswerMessageSchema).optional(),
    io_state: z.record(z.string(), z.unknown()).optional(),
    children: z.array(AnswerTreeNodeSchema).default([]),
  }),
) as z.ZodType<AnswerTreeNode>;

export const AnswerTreeSchema = z.looseObject({
  size: z.number(),
  max_length: z.number(),
  tree: AnswerTreeNodeSchema,
});
export type AnswerTree = z.infer<typeof AnswerTreeSchema>;

export const ToolBenchAnswerSchema = z.looseObject({
  win: z.boolean().optional(),
  tree: AnswerTreeSchema.optional(),
  forward_args: z.record(z.string(), z.unknown()).optional(),
  compare_candidates: z.array(z.unknown()).optional(),
  answer_generation: AnswerGenerationSchema,
});
export type ToolBenchAnswer = z.infer<typeof ToolBenchAnswerSchema>;

/**
 * What SFT export needs of an answer file, read loosely: ToolBench's own files and this project's
 * (`valid_data` may be absent; the functions' parameters are any object).
 */
export const SftAnswerFileSchema = z.looseObject({
  answer_generation: z.looseObject({
    valid_data: z.boolean().optional(),
    query: z.string(),
    finish_type: z.string().optional(),
    function: z.array(
      z.looseObject({
        name: z.string(),
        description: z.string().optional(),
        parameters: z.record(z.string(), z.unknown()).optional(),
      }),
    ),
    train_messages: z.array(z.array(AnswerMessageSchema)).optional(),
  }),
});
export type SftAnswerFile = z.infer<typeof SftAnswerFileSchema>;

/** An answer file with what its name and contents say about the query it answers. */
export interface ToolBenchAnswerRecord {
  /** From the file name `{queryId}_{method}.json` (or the `query_id` field when the file carries one). */
  queryId: string;
  /** The part of the file name after the query id, e.g. "ChatGPT_DFS_woFilter_w2" or "dfsdt". */
  method: string;
  path: string;
  answer: ToolBenchAnswer;
  /** True when the run ended with `Finish` → `give_answer` (`finish_type` "give_answer" and valid data). */
  answered: boolean;
  /** The `final_answer` text out of the Finish arguments JSON ("" when none). */
  finalAnswerText: string;
}

// ---------------------------------------------------------------------------------------------------------
// Finish

export const FINISH_FUNCTION_NAME = 'Finish';
export const FinishArgumentsSchema = z.looseObject({
  return_type: z.enum(['give_answer', 'give_up_and_restart']),
  final_answer: z.string().optional(),
});
export type FinishArguments = z.infer<typeof FinishArgumentsSchema>;
