/**
 * `toolalpaca/search`: solvers for ToolBench tasks over a chat model and an executor: a ReAct chain
 * (CoT) and DFSDT (depth-first search over a decision tree), behind one `Solver` port.
 */
export {
  SOLVER_NAMES,
  type SolveOptions,
  type Solver,
  type SolveResult,
  type SolverName,
  type SolverTask,
  type StopReason,
} from './solver.js';
export { createSolver, type SolverConfig } from './create-solver.js';
export { createReactSolver, REACT_DEFAULTS, type ReactOptions } from './react.js';
export { createDfsdtSolver, DFSDT_DEFAULTS, type DfsdtOptions } from './dfsdt.js';
export {
  loadToolBenchPromptSet,
  readToolBenchPromptTexts,
  toolBenchPromptSet,
  type ToolBenchPromptFiles,
  type ToolBenchPromptTexts,
} from './toolbench-prompts.js';
export { PROJECT_PROMPTS, type SolverPromptSet } from './prompts.js';
