/**
 * The solver contract: a ToolBench-style task (a query and its tools) in, a ToolBench answer file out.
 * Every solver calls the model through `ChatModel` with native function calling (the task's functions
 * plus `Finish`) and runs tools through a `ToolExecutor`, so it works with every backend and executor.
 */
import type { Tool } from '../core/tool.js';
import type { ChatModel } from '../models/chat-model.js';
import type { ToolExecutor } from '../executors/executor.js';
import type { SolverPromptSet } from './prompts.js';

export type SolverName = 'react' | 'dfsdt';
export const SOLVER_NAMES: readonly SolverName[] = ['react', 'dfsdt'];

/** What a solver needs of a task (a `ToolBenchTask` fits). */
export interface SolverTask {
  queryId: string;
  query: string;
  tools: Tool[];
}

export interface SolveOptions {
  model: ChatModel;
  executor: ToolExecutor;
  signal?: AbortSignal;
  temperature?: number;
  maxTokens?: number;
  /** Observations longer than this are cut and end with "..." (ToolBench's max_observation_length). Default 1024. */
  maxObservationChars?: number;
  /** Ledger stage of the model calls. Default "assistant". */
  stage?: string;
  /** System, user and diversity prompts and the Finish function. Default `PROJECT_PROMPTS`. */
  prompts?: SolverPromptSet;
}

/** Why the search stopped. */
export type StopReason = 'answer' | 'give_up' | 'call_limit' | 'depth_limit' | 'exhausted' | 'empty_reply';

export interface SolveResult {
  /** The answer file, in ToolBench's layout (plus `query_id`, `solver`, `model`, `stop_reason`). */
  answer: Record<string, unknown>;
  /** "give_answer" when a `Finish` → give_answer was reached, "give_up" when only give-ups, else "none". */
  finishType: 'give_answer' | 'give_up' | 'none';
  stopReason: StopReason;
  /** The final answer text (the `final_answer` of the Finish call), "" when none. */
  finalAnswer: string;
  queryCount: number;
  promptTokens: number;
  completionTokens: number;
}

export interface Solver {
  readonly name: SolverName;
  /**
   * ToolBench's method name, used in answer file names (`{query_id}_{method}.json`) as ToolBench's and
   * StableToolBench's scripts expect: `DFS_woFilter_w{width}` for DFSDT, `CoT@1` for ReAct.
   */
  readonly method: string;
  solve(task: SolverTask, options: SolveOptions): Promise<SolveResult>;
}
