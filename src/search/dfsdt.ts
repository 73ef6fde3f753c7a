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

interface DfsdtLimits {
  width: number;
  maxDepth: number;
  maxCalls: number;
}

/** The pre-order walk over one query's tree, and what it ran into (for the stop reason). */
class DfsdtWalk {
  hitDepth = false;
  hitCalls = false;
  emptyReplies = 0;

  constructor(
    private readonly space: SearchSpace,
    private readonly limits: DfsdtLimits,
    private readonly options: SolveOptions,
  ) {}

  /** Visits `node` and its subtree; the levels to back off afterwards (`STOP` ends the search). */
  async visit(node: TreeNode): Promise<number> {
    this.space.markExpanded(node);
    if (node.isTerminal) {
      this.space.terminalNodes.push(node);
      return STOP;
    }
    if (node.pruned) return this.backOffPruned(node);
    if (node.depth >= this.limits.maxDepth) {
      node.pruned = true;
      this.hitDepth = true;
      return 1;
    }
    return this.expandChildren(node);
  }

  /** A give-up backs off two levels; an executor failure or an empty reply one. */
  private backOffPruned(node: TreeNode): number {
    if (node.gaveUp) {
      this.space.giveUpNodes.push(node);
      return BACK_AFTER_GIVE_UP;
    }
    if (node.error?.startsWith('empty reply') === true) this.emptyReplies++;
    return 1;
  }

  /** Up to `width` children, each a model call (with the diversity prompt after the first) then visited. */
  private async expandChildren(node: TreeNode): Promise<number> {
    const { space } = this;
    for (let i = 0; i < this.limits.width; i++) {
      this.options.signal?.throwIfAborted();
      if (space.queryCount >= this.limits.maxCalls) {
        this.hitCalls = true;
        return STOP;
      }
      const earlier = node.children.length > 0 ? space.earlierCandidates(node) : [];
      const extra = earlier.length > 0 ? space.prompts.diversity(earlier, node.observation) : undefined;
      const { node: child } = await space.expand(node, extra);
      const result = await this.visit(child);
      if (result === STOP) return STOP;
      if (result > 1) return result - 1;
    }
    return 1;
  }

  /** Why the search ended: an answer first, then the call limit, a give-up, the depth limit, empty replies. */
  stopReason(finishType: 'give_answer' | 'give_up' | 'none'): StopReason {
    if (finishType === 'give_answer') return 'answer';
    if (this.hitCalls) return 'call_limit';
    if (finishType === 'give_up') return 'give_up';
    if (this.hitDepth) return 'depth_limit';
    return this.emptyReplies > 0 ? 'empty_reply' : 'exhausted';
  }
}

export function createDfsdtSolver(config: DfsdtOptions = {}): Solver {
  const limits: DfsdtLimits = {
    width: Math.max(1, config.width ?? DFSDT_DEFAULTS.width),
    maxDepth: Math.max(1, config.maxDepth ?? DFSDT_DEFAULTS.maxDepth),
    maxCalls: Math.max(1, config.maxCalls ?? DFSDT_DEFAULTS.maxCalls),
  };
  const method = `DFS_woFilter_w${limits.width}`;

  return {
    name: 'dfsdt',
    method,
    async solve(task: SolverTask, options: SolveOptions): Promise<SolveResult> {
      const space = new SearchSpace(task, options);
      const walk = new DfsdtWalk(space, limits, options);
      await walk.visit(space.root);
      const finishType = space.finishType();
      const stopReason = walk.stopReason(finishType);
      const answer = space.answerFile({
        solver: 'dfsdt',
        method,
        stopReason,
        model: options.model.id,
        executor: options.executor.kind,
        forwardArgs: {
          single_chain_max_step: limits.maxDepth,
          tree_beam_size: limits.width,
          max_query_count: limits.maxCalls,
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
