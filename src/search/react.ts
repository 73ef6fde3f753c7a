/**
 * ReAct as ToolBench runs it for CoT@1: one chain of model calls (native function calling), each
 * continuing from the last, until `Finish` (either return type), the depth limit or the call limit. No
 * backtracking: a failed call is just an observation the model reads, as in ToolBench's single chain.
 */
import type { Solver, SolveOptions, SolveResult, SolverTask, StopReason } from './solver.js';
import { SearchSpace } from './tree.js';

export interface ReactOptions {
  /** Deepest tree level the chain may continue from (ToolBench's single_chain_max_step). Default 12. */
  maxDepth?: number;
  /** Model calls at most. Default 200. */
  maxCalls?: number;
}

export const REACT_DEFAULTS = { maxDepth: 12, maxCalls: 200 } as const;

export function createReactSolver(config: ReactOptions = {}): Solver {
  const maxDepth = Math.max(1, config.maxDepth ?? REACT_DEFAULTS.maxDepth);
  const maxCalls = Math.max(1, config.maxCalls ?? REACT_DEFAULTS.maxCalls);
  return {
    name: 'react',
    method: 'CoT@1',
    async solve(task: SolverTask, options: SolveOptions): Promise<SolveResult> {
      const space = new SearchSpace(task, options);
      let node = space.root;
      let stopReason: StopReason;
      for (;;) {
        space.markExpanded(node);
        if (node.isTerminal) {
          space.terminalNodes.push(node);
          stopReason = 'answer';
          break;
        }
        if (node.gaveUp) {
          space.giveUpNodes.push(node);
          stopReason = 'give_up';
          break;
        }
        if (node.pruned && node.error?.startsWith('empty reply') === true) {
          stopReason = 'empty_reply';
          break;
        }
        // In a chain an executor failure is only an observation: the model decides what to do next.
        node.pruned = false;
        if (node.depth >= maxDepth) {
          node.pruned = true;
          stopReason = 'depth_limit';
          break;
        }
        if (space.queryCount >= maxCalls) {
          stopReason = 'call_limit';
          break;
        }
        options.signal?.throwIfAborted();
        node = (await space.expand(node)).node;
      }
      const answer = space.answerFile({
        solver: 'react',
        method: 'CoT@1',
        chain: node,
        stopReason,
        model: options.model.id,
        executor: options.executor.kind,
        forwardArgs: { single_chain_max_step: maxDepth, pass_at: 1, max_query_count: maxCalls, answer: 1 },
      });
      return {
        answer,
        finishType: space.finishType(),
        stopReason,
        finalAnswer: space.finalAnswer(),
        queryCount: space.queryCount,
        promptTokens: space.promptTokens,
        completionTokens: space.completionTokens,
      };
    },
  };
}
