/**
 * Judged items seen by the viewer: the LLM judge's labels and reasoning beside the deterministic checker's
 * result (recorded, or computed here). Apart from trajectory.ts because the checker is only loaded for
 * judged and run files.
 */
import type { JudgedItem, RunItem } from '../core/run.js';
import { checkProcess } from '../eval/deterministic/checker.js';
import type { JudgmentsView, LlmJudgmentView } from './api.js';

/** True when a judge file's judge does not judge the final response (the deterministic checker). */
export function judgesResponse(judgeModel: string | undefined, item?: JudgedItem): boolean {
  if (judgeModel === 'deterministic') return false;
  if (
    item !== undefined &&
    item.verdicts.length > 0 &&
    item.verdicts.every((v) => v.responseJudged === false)
  )
    return false;
  return true;
}

/**
 * The judgments of a judged item: the LLM judge's labels and reasoning (unless the judge is the checker
 * itself) and the deterministic checker's result (recorded, or computed here).
 */
export function judgmentsOf(item: JudgedItem, judgeModel: string): JudgmentsView {
  const view: JudgmentsView = {};
  const deterministicJudge = judgeModel === 'deterministic';
  if (!deterministicJudge) {
    const llm: LlmJudgmentView = {
      model: judgeModel,
      responseJudged: judgesResponse(judgeModel, item),
      verdicts: item.verdicts.map((v) => ({
        ...(v.process !== undefined ? { process: v.process } : {}),
        ...(v.response !== undefined ? { response: v.response } : {}),
        analysis: v.analysis,
        ...(v.error !== undefined ? { error: v.error } : {}),
      })),
    };
    if (item.majority !== undefined) {
      llm.process = item.majority.process;
      llm.response = item.majority.response;
    }
    if (item.error !== undefined) llm.error = item.error;
    view.llm = llm;
  }
  view.checker = checkerOf(item);
  if (view.llm?.process !== undefined && item.steps.length > 0) {
    view.agreement = (view.llm.process === 'Yes') === view.checker.correct ? 'agree' : 'disagree';
  }
  return view;
}

/** The checker's result on an item: recorded beside the judge, or from the verdict of the checker as judge, or computed. */
export function checkerOf(item: JudgedItem | RunItem): {
  correct: boolean;
  reasons: string[];
  computed: boolean;
} {
  const judged = item as JudgedItem;
  if (judged.deterministic !== undefined) {
    return { correct: judged.deterministic.correct, reasons: judged.deterministic.reasons, computed: false };
  }
  const own = judged.verdicts?.find((v) => v.responseJudged === false && v.process !== undefined);
  if (own !== undefined)
    return { correct: own.process === 'Yes', reasons: own.reasons ?? [], computed: false };
  if (item.steps.length === 0) return { correct: false, reasons: ['no call was made'], computed: true };
  const result = checkProcess(item);
  return { correct: result.correct, reasons: result.reasons, computed: true };
}
