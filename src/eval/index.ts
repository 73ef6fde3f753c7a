/**
 * `toolalpaca/eval`: evaluation runs (a model on unseen tools, resumable), the LLM judge and the
 * deterministic checker, statistics and agreement, ToolEval (pass and win rates on ToolBench answers),
 * and imports of ToolAlpaca's published results.
 */
export {
  DEFAULT_EVAL_PROMPT,
  readRunFile,
  runEvaluation,
  type EvaluationFigures,
  type EvaluationOptions,
  type EvaluationSummary,
} from './run-eval.js';
export {
  DETERMINISTIC_JUDGE,
  judgeRun,
  readJudgedFile,
  runJudge,
  type JudgeOptions,
  type JudgeProgress,
  type JudgeRunResult,
} from './judge/judge-run.js';
export { checkProcess, type CheckResult } from './deterministic/index.js';
export { computeStatistics, formatStatistics, runSpread } from './statistics.js';
export {
  checkerAgreement,
  cohenKappa,
  computeAgreement,
  type Agreement,
  type AgreementFigures,
  type CheckerAgreement,
} from './agreement.js';
export {
  runTooleval,
  type ToolevalCoverage,
  type ToolevalReport,
  type ToolevalRunOptions,
} from './tooleval/run-tooleval.js';
export {
  evaluatePassRate,
  evaluateWinRate,
  type PassRateReport,
  type ToolEvalOptions,
  type WinRateReport,
} from './tooleval/evaluate.js';
export {
  importResults,
  readResultsFile,
  type ImportedResults,
  type ImportOptions,
} from './import/toolalpaca.js';
