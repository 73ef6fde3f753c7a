/**
 * DFSDT (ToolLLM's depth-first search-based decision tree), without the LLM ranking filter as ToolBench
 * runs it ("woFilter"): a pre-order walk where every expansion is one model call. A node gets up to
 * `width` children; when it already has some, the call carries a diversity prompt listing what the
 * earlier children did. A `give_answer` ends the search. A give-up (`Finish` → `give_up_and_restart`)
 * backs off two levels — the give-up's own step and the step before it, whose other children are not
 * tried — and an executor failure or an empty reply backs off one level (the next sibling is tried).
 * Limits: `maxDepth` tree levels (ToolBench's levels: Thought, Action and Action Input nodes each count)
 * and `maxCalls` model calls.
 */
import type { Solver, SolveOptions, SolveResult, SolverTask, StopReason } from './solver.js';
import { SearchSpace, type TreeNode } from './tree.js';

export interface DfsdtOptions {
  /** Children per node (ToolBench's tree_beam_size). Default 2. */
  width?: number;
  /** Deepest tree level a node may be expanded from (ToolBench's single_chain_max_step). Default 12. */
  maxDepth?: number;
  /** Model calls per query at most (ToolBench's max_query_count). Default 200. */
  maxCalls?: number;
}

export const DFSDT_DEFAULTS = { width: 2, maxDepth: 12, maxCalls: 200 } as const;

/** Levels to go back after a final answer or a give-up (ToolBench's final_answer_back_length / prune_back_length). */
const BACK_AFTER_GIVE_UP = 2;
/** A return value that unwinds the whole search. */
const STOP = Number.MAX_SAFE_INTEGER;

export function createDfsdtSolver(config: DfsdtOptions = {}): Solver {
  const width = Math.max(1, config.width ?? DFSDT_DEFAULTS.width);
  const maxDepth = Math.max(1, config.maxDepth ?? DFSDT_DEFAULTS.maxDepth);
  const maxCalls = Math.max(1, config.maxCalls ?? DFSDT_DEFAULTS.maxCalls);

  return {
    name: 'dfsdt',
    method: `DFS_woFilter_w${width}`,
    async solve(task: SolverTask, options: SolveOptions): Promise<SolveResult> {
      const space = new SearchSpace(task, options);
      let hitDepth = false;
      let hitCalls = false;
      let emptyReplies = 0;

      const dfs = async (node: TreeNode): Promise<number> => {
        space.markExpanded(node);
        if (node.isTerminal) {
          space.terminalNodes.push(node);
          return STOP;
        }
        if (node.pruned) {
          if (node.gaveUp) {
            space.giveUpNodes.push(node);
            return BACK_AFTER_GIVE_UP;
          }
          if (node.error?.startsWith('empty reply') === true) emptyReplies++;
          return 1;
        }
        if (node.depth >= maxDepth) {
          node.pruned = true;
          hitDepth = true;
          return 1;
        }
        for (let i = 0; i < width; i++) {
          options.signal?.throwIfAborted();
          if (space.queryCount >= maxCalls) {
            hitCalls = true;
            return STOP;
          }
          const earlier = node.children.length > 0 ? space.earlierCandidates(node) : [];
          const extra = earlier.length > 0 ? space.prompts.diversity(earlier, node.observation) : undefined;
          const { node: child } = await space.expand(node, extra);
          const result = await dfs(child);
          if (result === STOP) return STOP;
          if (result > 1) return result - 1;
        }
        return 1;
      };

      await dfs(space.root);
      const finishType = space.finishType();
      const stopReason: StopReason =
        finishType === 'give_answer'
          ? 'answer'
          : hitCalls
            ? 'call_limit'
            : finishType === 'give_up'
              ? 'give_up'
              : hitDepth
                ? 'depth_limit'
                : emptyReplies > 0
                  ? 'empty_reply'
                  : 'exhausted';
      const answer = space.answerFile({
        solver: 'dfsdt',
        method: `DFS_woFilter_w${width}`,
        stopReason,
        model: options.model.id,
        executor: options.executor.kind,
        forwardArgs: {
          single_chain_max_step: maxDepth,
          tree_beam_size: width,
          max_query_count: maxCalls,
          answer: 1,
          with_filter: false,
        },
      });
      return {
        answer,
        finishType,
        stopReason,
        finalAnswer: space.finalAnswer(),
        queryCount: space.queryCount,
        promptTokens: space.promptTokens,
        completionTokens: space.completionTokens,
      };
    },
  };
}
