/**
 * Cost ledger: calls, tokens and USD per pipeline stage and per model. Printed at the end of every run
 * (`format()`) and stored with the run's metadata (`toJSON()`).
 *
 * Token columns count what was spent: a cached call (or a replay) costs nothing and its tokens are kept
 * apart in `cachedPromptTokens` / `cachedCompletionTokens`. A model missing from the price table has
 * `costUsd: null` (shown as "?") and is listed in `totals().unpricedModels`, so an unknown price is
 * never silently counted as free.
 */
import {
  identityOf,
  type ChatCallOptions,
  type ChatModel,
  type ChatRequest,
  type ChatResponse,
  type TokenUsage,
} from './chat-model.js';
import { AsyncLocalStorage } from 'node:async_hooks';
import { DEFAULT_PRICES, costOf, priceOf, type PriceTable } from './prices.js';

/** Stage used when a call does not name one. */
export const DEFAULT_STAGE = 'default';

export interface LedgerRow {
  stage: string;
  model: string;
  calls: number;
  cachedCalls: number;
  /** Tokens of calls that reached a backend. */
  promptTokens: number;
  completionTokens: number;
  /** Tokens of calls answered from the cache (not paid). */
  cachedPromptTokens: number;
  cachedCompletionTokens: number;
  /** USD for the non-cached tokens; null when the model has no price. */
  costUsd: number | null;
}

export interface LedgerTotals {
  calls: number;
  cachedCalls: number;
  promptTokens: number;
  completionTokens: number;
  cachedPromptTokens: number;
  cachedCompletionTokens: number;
  /** Sum of the known costs. */
  costUsd: number;
  /** Models that spent tokens but have no price (their cost is not in `costUsd`). */
  unpricedModels: string[];
}

export interface LedgerJson {
  rows: LedgerRow[];
  totals: LedgerTotals;
}

interface Counts {
  calls: number;
  cachedCalls: number;
  promptTokens: number;
  completionTokens: number;
  cachedPromptTokens: number;
  cachedCompletionTokens: number;
}

function tokenCount(value: number): number {
  return Number.isFinite(value) && value > 0 ? Math.round(value) : 0;
}

/** One call as a ledger row (a row's counts for that call alone). */
function callRow(
  stage: string,
  model: string,
  usage: TokenUsage,
  cached: boolean,
): Omit<LedgerRow, 'costUsd'> {
  const prompt = tokenCount(usage.promptTokens);
  const completion = tokenCount(usage.completionTokens);
  return {
    stage,
    model,
    calls: 1,
    cachedCalls: cached ? 1 : 0,
    promptTokens: cached ? 0 : prompt,
    completionTokens: cached ? 0 : completion,
    cachedPromptTokens: cached ? prompt : 0,
    cachedCompletionTokens: cached ? completion : 0,
  };
}

/**
 * A second ledger for the calls made inside `ledgerScope.run(ledger, fn)`: a queue worker counts each
 * task's calls apart (tasks run concurrently) and sends them with the task's result to the collector.
 */
export const ledgerScope = new AsyncLocalStorage<CostLedger>();

export class CostLedger {
  private readonly prices: PriceTable;
  /** stage -> model -> counts, in first-seen order. */
  private readonly entries = new Map<string, Map<string, Counts>>();
  /** Models the run will call (see `declare`), counted or not yet. */
  private readonly declared = new Set<string>();

  /** Told of each call as it is counted (a queue worker passes each one on at once; see queue-worker.ts). */
  private readonly onCall: ((call: Omit<LedgerRow, 'costUsd'>) => void) | undefined;

  constructor(options: { prices?: PriceTable; onCall?: (call: Omit<LedgerRow, 'costUsd'>) => void } = {}) {
    this.prices = options.prices ?? DEFAULT_PRICES;
    this.onCall = options.onCall;
  }

  private countsOf(stage: string, modelId: string): Counts {
    let byModel = this.entries.get(stage);
    if (byModel === undefined) {
      byModel = new Map();
      this.entries.set(stage, byModel);
    }
    let counts = byModel.get(modelId);
    if (counts === undefined) {
      counts = {
        calls: 0,
        cachedCalls: 0,
        promptTokens: 0,
        completionTokens: 0,
        cachedPromptTokens: 0,
        cachedCompletionTokens: 0,
      };
      byModel.set(modelId, counts);
    }
    return counts;
  }

  /**
   * Names a model the run will call before it makes any call (`withLedger` does), so that an unpriced
   * model's cost shows as unknown from the first progress line, not as $0 until its first reply.
   */
  declare(modelId: string): void {
    this.declared.add(modelId);
  }

  /** True when a model of the run has no price: its cost is unknown and never shown as a number. */
  costUnknown(): boolean {
    if (this.totals().unpricedModels.length > 0) return true;
    for (const model of this.declared) if (priceOf(this.prices, model) === undefined) return true;
    return false;
  }

  /** Counts one finished call (and, inside `ledgerScope.run(other, ...)`, in `other` too). */
  record(stage: string, modelId: string, usage: TokenUsage, cached: boolean): void {
    const row = callRow(stage, modelId, usage, cached);
    this.merge([row]);
    this.onCall?.(row);
    const scoped = ledgerScope.getStore();
    if (scoped !== undefined && scoped !== this) scoped.record(stage, modelId, usage, cached);
  }

  /**
   * Adds rows of another ledger (a queue worker's calls for one task): counts are summed, costs are
   * priced with this ledger's prices.
   */
  merge(rows: readonly Omit<LedgerRow, 'costUsd'>[]): void {
    for (const row of rows) {
      const counts = this.countsOf(row.stage, row.model);
      counts.calls += tokenCount(row.calls);
      counts.cachedCalls += tokenCount(row.cachedCalls);
      counts.promptTokens += tokenCount(row.promptTokens);
      counts.completionTokens += tokenCount(row.completionTokens);
      counts.cachedPromptTokens += tokenCount(row.cachedPromptTokens);
      counts.cachedCompletionTokens += tokenCount(row.cachedCompletionTokens);
    }
  }

  /** One row per (stage, model), stages and models in the order first seen. */
  rows(): LedgerRow[] {
    const rows: LedgerRow[] = [];
    for (const [stage, byModel] of this.entries) {
      for (const [model, counts] of byModel) {
        const price = priceOf(this.prices, model);
        const spent = counts.promptTokens + counts.completionTokens;
        const costUsd =
          price !== undefined
            ? costOf(price, counts.promptTokens, counts.completionTokens)
            : spent > 0
              ? null
              : 0;
        rows.push({ stage, model, ...counts, costUsd });
      }
    }
    return rows;
  }

  totals(): LedgerTotals {
    const totals: LedgerTotals = {
      calls: 0,
      cachedCalls: 0,
      promptTokens: 0,
      completionTokens: 0,
      cachedPromptTokens: 0,
      cachedCompletionTokens: 0,
      costUsd: 0,
      unpricedModels: [],
    };
    for (const row of this.rows()) {
      totals.calls += row.calls;
      totals.cachedCalls += row.cachedCalls;
      totals.promptTokens += row.promptTokens;
      totals.completionTokens += row.completionTokens;
      totals.cachedPromptTokens += row.cachedPromptTokens;
      totals.cachedCompletionTokens += row.cachedCompletionTokens;
      if (row.costUsd === null) {
        if (!totals.unpricedModels.includes(row.model)) totals.unpricedModels.push(row.model);
      } else totals.costUsd += row.costUsd;
    }
    return totals;
  }

  /**
   * A compact table: one line per stage and model, then a total line; a note for unpriced models,
   * ending with `addPrice` (how to give a price; the CLI names its flag).
   */
  format(options: { addPrice?: string } = {}): string {
    const rows = this.rows();
    if (rows.length === 0) return 'no model calls\n';
    const totals = this.totals();
    const header = ['stage', 'model', 'calls', 'cached', 'tokens in', 'tokens out', 'cost USD'];
    const body = rows.map((row) => [
      row.stage,
      row.model,
      String(row.calls),
      String(row.cachedCalls),
      String(row.promptTokens),
      String(row.completionTokens),
      formatUsd(row.costUsd),
    ]);
    const total = [
      'total',
      '',
      String(totals.calls),
      String(totals.cachedCalls),
      String(totals.promptTokens),
      String(totals.completionTokens),
      formatTotalUsd(totals),
    ];
    const all = [header, ...body, total];
    const widths = header.map((_, column) => Math.max(...all.map((row) => (row[column] ?? '').length)));
    // Text columns left-aligned, numbers right-aligned.
    const line = (cells: string[]): string =>
      cells
        .map((cell, column) =>
          column < 2 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0),
        )
        .join('  ')
        .trimEnd();
    let text = `${all.map(line).join('\n')}\n`;
    if (totals.unpricedModels.length > 0) {
      const addPrice = options.addPrice ?? 'add it to the price table (`prices`)';
      text += `no price for ${totals.unpricedModels.join(', ')} (${addPrice})\n`;
    }
    return text;
  }

  /**
   * The total cost for summaries and progress lines (see `formatTotalUsd`), e.g. "0.0123", "?",
   * "0.0123+?"; "?" as soon as an unpriced model is declared, before it spent anything.
   */
  formatCost(): string {
    const totals = this.totals();
    if (totals.unpricedModels.length === 0 && this.costUnknown()) {
      return formatTotalUsd({ costUsd: totals.costUsd, unpricedModels: [...this.declared] });
    }
    return formatTotalUsd(totals);
  }

  toJSON(): LedgerJson {
    return { rows: this.rows(), totals: this.totals() };
  }
}

/** A USD amount as the ledger prints it; "?" for an unknown (unpriced) cost. */
export function formatUsd(value: number | null): string {
  if (value === null) return '?';
  if (value === 0) return '0';
  return value < 0.01 ? value.toFixed(6) : value.toFixed(4);
}

/**
 * The total cost of a run as every summary and progress line should show it: the known amount, "?"
 * when only unpriced models spent tokens, "AMOUNT+?" when some did (an unknown price is never shown as
 * free).
 */
export function formatTotalUsd(totals: Pick<LedgerTotals, 'costUsd' | 'unpricedModels'>): string {
  if (totals.unpricedModels.length === 0) return formatUsd(totals.costUsd);
  return totals.costUsd === 0 ? '?' : `${formatUsd(totals.costUsd)}+?`;
}

/**
 * Wraps a model so that every successful call is recorded in the ledger under `options.stage`
 * (default "default") and the model's id. Failed calls are not recorded (they report no usage).
 */
export function withLedger(model: ChatModel, ledger: CostLedger): ChatModel {
  ledger.declare(model.id);
  return {
    ...identityOf(model),
    async chat(request: ChatRequest, options?: ChatCallOptions): Promise<ChatResponse> {
      const response = await model.chat(request, options);
      ledger.record(options?.stage ?? DEFAULT_STAGE, model.id, response.usage, response.cached);
      return response;
    },
    async close() {
      await model.close?.();
    },
  };
}
