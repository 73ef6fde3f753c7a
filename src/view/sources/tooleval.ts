/**
 * ToolEval results (`eval tooleval --json`): per query the pass/fail label with each judge run's reason,
 * and, against a reference, the win/tie/lose outcome. Each query links to its answer file when an answer
 * folder is open too.
 */
import { readFile } from 'node:fs/promises';
import { isRecord } from '../../core/json-text.js';
import type { FileKind, ItemDetail, ToolEvalView } from '../api.js';
import { facetValues, type FileIndex } from '../file-index.js';
import { Source } from './source.js';

interface QueryVerdictLike {
  queryId: string;
  passed: boolean;
  passedVotes?: number;
  failedVotes?: number;
  answerStatus?: string;
  runs?: { label?: string; decision?: string; answerStatus?: string; taskStatus?: string; reason?: string }[];
}

interface WinLike {
  queryId: string;
  outcome: string;
  how?: string;
  rounds?: (string | null)[];
}

/** True for the JSON `eval tooleval --json` prints. */
export function looksLikeToolEval(data: unknown): boolean {
  return isRecord(data) && isRecord(data.passRate) && Array.isArray(data.passRate.perQuery);
}

export class ToolEvalSource extends Source {
  readonly kind: FileKind = 'tooleval';
  override judged = true;
  private verdicts = new Map<string, ToolEvalView>();

  protected async scan(into: FileIndex): Promise<void> {
    const data = JSON.parse(await readFile(this.absPath, 'utf8')) as unknown;
    if (!looksLikeToolEval(data)) throw new Error('not ToolEval results (no passRate.perQuery)');
    const result = data as {
      judge?: string;
      passRate: {
        passRate?: number;
        runs?: number;
        perQuery: QueryVerdictLike[];
        solvablePassRate?: { mean?: number };
      };
      winRate?: { win?: number; tie?: number; lose?: number; perQuery?: WinLike[] };
    };
    const pct = (x: number | undefined): string => (x === undefined ? '–' : `${(x * 100).toFixed(1)}%`);
    if (typeof result.judge === 'string') this.meta.judge = `${result.judge} × ${result.passRate.runs ?? 1}`;
    this.meta['pass rate'] = pct(result.passRate.passRate);
    this.meta['solvable pass rate'] = pct(result.passRate.solvablePassRate?.mean);
    if (result.winRate !== undefined) {
      this.meta['win rate'] =
        `${pct(result.winRate.win)} (tie ${pct(result.winRate.tie)}, lose ${pct(result.winRate.lose)})`;
    }
    const wins = new Map((result.winRate?.perQuery ?? []).map((w) => [String(w.queryId), w]));
    const verdicts = new Map<string, ToolEvalView>();
    for (const verdict of result.passRate.perQuery) {
      const queryId = String(verdict.queryId);
      const win = wins.get(queryId);
      const view: ToolEvalView = {
        passed: verdict.passed === true,
        passedVotes: verdict.passedVotes ?? 0,
        failedVotes: verdict.failedVotes ?? 0,
        runs: (verdict.runs ?? []).map((r) => ({
          label: r.label ?? '',
          decision: r.decision ?? '',
          answerStatus: r.answerStatus ?? '',
          ...(r.taskStatus !== undefined ? { taskStatus: r.taskStatus } : {}),
          reason: r.reason ?? '',
        })),
      };
      if (verdict.answerStatus !== undefined) view.answerStatus = verdict.answerStatus;
      if (win !== undefined)
        view.win = { outcome: win.outcome, how: win.how ?? '', rounds: win.rounds ?? [] };
      verdicts.set(queryId, view);
      const answer = this.host.findItem('toolbench-answers', queryId);
      const title = answer?.title ?? `query ${queryId}`;
      into.add({
        id: queryId,
        title,
        facets: facetValues({
          tooleval: [view.passed ? 'passed' : 'failed'],
          win: [win?.outcome],
          status: [view.answerStatus],
        }),
        search: `${queryId}\n${title}`.toLowerCase(),
        memory: verdict,
      });
    }
    this.verdicts = verdicts;
    this.meta.queries = String(into.size);
    this.host.changed(this);
  }

  verdictOf(queryId: string): ToolEvalView | undefined {
    return this.verdicts.get(queryId);
  }

  async raw(n: number): Promise<unknown> {
    return this.item(n).memory;
  }

  async detail(n: number): Promise<ItemDetail> {
    const item = this.item(n);
    const detail = this.baseDetail(n);
    const view = this.verdicts.get(item.id);
    if (view !== undefined) detail.judgments = { tooleval: view };
    const answer = this.host.findItem('toolbench-answers', item.id);
    if (answer !== undefined)
      detail.links = [{ label: 'answer and search tree', file: answer.file, n: answer.n }];
    detail.fields.query = item.id;
    return detail;
  }
}
