/** The deterministic process checker (no LLM): see checker.ts for the rules. */
export {
  BUILTIN_FUNCTIONS,
  callOutcome,
  checkProcess,
  functionKey,
  isBuiltin,
  readSolutionCalls,
  readStandardSteps,
  type CallOutcome,
  type CheckResult,
  type SolutionCall,
  type StandardStep,
} from './checker.js';
export {
  isCodeOf,
  isMentioned,
  isPlaceholder,
  isPronoun,
  normalizeText,
  parseSolutionParameters,
  parseStandardParameters,
  prepareInstruction,
  sameScalar,
  valueMismatch,
  type InstructionText,
  type ParsedParameters,
  type Placeholder,
} from './values.js';
