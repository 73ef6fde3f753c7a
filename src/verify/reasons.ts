/**
 * What verification writes on an instance: `verification: {passed, stage, reasons[]}`. Stages run in
 * order (format → execution → semantic) and the first failing one is recorded; a passed instance records
 * the last stage run. Reasons are stable machine-readable codes (counted, filtered, shown by the viewer as
 * plain strings) with a human message naming the step.
 */

export const VERIFICATION_STAGES = ['format', 'execution', 'semantic'] as const;
export type VerificationStage = (typeof VERIFICATION_STAGES)[number];

/** Every reason code, by stage (docs/verification.md explains each). */
export const REASON_CODES = {
  format: [
    'not-completed',
    'no-final-answer',
    'unknown-function',
    'unparseable-input',
    'invalid-arguments',
    'empty-thought',
    'action-after-final-answer',
    'zero-steps',
    'over-five-steps',
    'only-get-details',
    'unknown-kind',
    'irrelevance-called-tool',
    'parallel-single-call',
    'multi-step-single-call',
    'single-no-call',
    'missing-info-not-asked',
    'missing-info-invented',
    'multi-turn-no-follow-up',
    'multi-turn-unanswered',
  ],
  execution: [
    'empty-observation',
    'rejected-call-not-corrected',
    'confident-answer-after-error',
    'reexecution-failed',
  ],
  semantic: ['process-incorrect', 'ungrounded-number', 'judge-rejected', 'judge-undecided'],
} as const satisfies Record<VerificationStage, readonly string[]>;

export type ReasonCode = (typeof REASON_CODES)[VerificationStage][number];

export interface VerificationReason {
  code: ReasonCode;
  message: string;
}

/** The LLM judge's figures on an instance: K verdicts, the majority and how many agreed with it. */
export interface JudgeRecord {
  model: string;
  runs: number;
  verdicts: ('Yes' | 'No' | 'Uncertain' | 'error')[];
  majority: 'Yes' | 'No' | 'Uncertain';
  /** Share (0-1) of the readable verdicts equal to the majority. */
  agreement: number;
}

export interface Verification {
  passed: boolean;
  /** The first failing stage, or the last stage run when passed. */
  stage: VerificationStage;
  reasons: VerificationReason[];
  /** Present when an LLM judge ran on the instance. */
  judge?: JudgeRecord;
}

export function reason(code: ReasonCode, message: string): VerificationReason {
  return { code, message };
}

export function stageOfReason(code: string): VerificationStage | undefined {
  return VERIFICATION_STAGES.find((stage) => (REASON_CODES[stage] as readonly string[]).includes(code));
}
