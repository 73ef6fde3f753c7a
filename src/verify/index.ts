/** Verification of corpora: the three stages, instance kinds' expectations, the durable run. */
export {
  admitsFailure,
  deterministicSemanticReasons,
  formatReasons,
  goldenAnswersOf,
  kindReasons,
  KNOWN_KINDS,
  recordedExecutionReasons,
  type CheckOptions,
} from './checks.js';
export { judgeInstance, parseVerifyVerdict, verifyJudgePrompt, type VerifyJudgeOptions } from './judge.js';
export { judgedCorpus, type JudgedInstanceLabel } from './judged-corpus.js';
export {
  reason,
  REASON_CODES,
  stageOfReason,
  VERIFICATION_STAGES,
  type JudgeRecord,
  type ReasonCode,
  type Verification,
  type VerificationReason,
  type VerificationStage,
} from './reasons.js';
export { formatVerificationReport, formatVerificationSummary } from './report.js';
export { stepLabel, trajectoryOf, type Trajectory, type TrajectoryStep, type Turn } from './trajectory.js';
export {
  hashFile,
  runVerification,
  verifyInstance,
  VERIFY_JUDGES,
  type ReportCases,
  type VerificationSummary,
  type VerifyJudgeKind,
  type VerifyOptions,
  type VerifyProgress,
  type VerifyTaskInput,
  type VerifyTaskOutput,
} from './verify-run.js';
