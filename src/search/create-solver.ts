/** A solver by name, as `toolalpaca solve --solver` names them. */
import { InputError } from '../core/errors.js';
import { createDfsdtSolver, type DfsdtOptions } from './dfsdt.js';
import { createReactSolver, type ReactOptions } from './react.js';
import { SOLVER_NAMES, type Solver } from './solver.js';

export type SolverConfig = DfsdtOptions & ReactOptions;

export function createSolver(name: string, config: SolverConfig = {}): Solver {
  if (name === 'dfsdt') return createDfsdtSolver(config);
  if (name === 'react') return createReactSolver(config);
  throw new InputError(`unknown solver '${name}'; expected one of: ${SOLVER_NAMES.join(', ')}`);
}
