/**
 * A judged evaluation file (ToolAlpaca's published GPT-4 judgments, or this project's) as a ToolAlpaca
 * corpus: each judged solution becomes an instance of its tool (the evaluation set's record, with its
 * `Golden_Answers`), so that verification can be measured against the judge's labels. Used by the
 * measurement in docs/verification.md and by the tests (on the 7-B file).
 */
import type { JudgedFile } from '../core/run.js';
import type { Instance, ToolAlpacaRecord } from '../core/toolalpaca-record.js';

export interface JudgedInstanceLabel {
  tool: string;
  index: number;
  /** The judge's majority process label. */
  process?: string;
  response?: string;
}

/**
 * The corpus (one record per tool of the evaluation set that has judged solutions) and, aligned with
 * every record's `Instances`, the judge's labels. Items without a solution (no step, not judged) are left
 * out, as ToolAlpaca leaves them out of its judging.
 */
export function judgedCorpus(
  judged: JudgedFile,
  evaluationSet: readonly ToolAlpacaRecord[],
): { records: ToolAlpacaRecord[]; labels: JudgedInstanceLabel[][] } {
  const records: ToolAlpacaRecord[] = [];
  const labels: JudgedInstanceLabel[][] = [];
  for (const record of evaluationSet) {
    const items = judged.items
      .filter((item) => item.tool === record.Name && item.status === 'completed')
      .sort((a, b) => a.index - b.index);
    if (items.length === 0) continue;
    const instances: Instance[] = items.map((item) => ({
      input: item.instruction,
      output: item.finalAnswer ?? '',
      'Final Thought': item.finalThought ?? '',
      intermediate_steps: item.steps.map((step) => [
        [step.action, step.actionInput, ` Action: ${step.action}\nAction Input: ${step.actionInput}`],
        step.observation,
      ]),
    }));
    records.push({ ...record, Instances: instances });
    labels.push(
      items.map((item) => ({
        tool: item.tool,
        index: item.index,
        ...(item.majority?.process !== undefined ? { process: item.majority.process } : {}),
        ...(item.majority?.response !== undefined ? { response: item.majority.response } : {}),
      })),
    );
  }
  return { records, labels };
}
