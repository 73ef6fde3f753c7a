/**
 * Progress of long commands (generate, instructions, and later stages): on a terminal one redrawn bar
 * line with count/total, rate per minute, ETA, tokens and cost; when piped (not a TTY, or CI=true)
 * plain lines such as `[12/100] 3.1/min eta 28m tokens 12.3k cost $0.04`, at most every few seconds
 * and once at the end.
 */

export interface ProgressState {
  done: number;
  total: number;
  failed?: number;
  tokensIn?: number;
  tokensOut?: number;
  costUsd?: number;
  /** Some model has no price: the cost shows `?` (or `$x+?` when the priced ones cost something), as the ledger does. */
  costUnknown?: boolean;
}

export interface ProgressReporter {
  /** New absolute figures; drawn now or at the next allowed time. */
  update(state: ProgressState): void;
  /** Draws the last state (or `state`) one final time and ends the line. Idempotent. */
  finish(state?: ProgressState): void;
}

export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  /** Word before the figures, e.g. "generate". */
  label?: string;
  /** Default process.stderr. */
  stream?: ProgressStream;
  /** Environment read for CI (default process.env). */
  env?: Record<string, string | undefined>;
  /** Shortest time between plain lines (default 5000 ms); a bar redraws at most every 100 ms. */
  intervalMs?: number;
  /** Clock (tests). Default Date.now. */
  now?: () => number;
  /** Force plain lines (true) or a bar (false) regardless of the stream. */
  plain?: boolean;
  /** Draw nothing. */
  silent?: boolean;
}

/** 12345 → "12.3k", 2_500_000 → "2.5M". */
export function formatCount(value: number): string {
  if (value < 1000) return String(Math.round(value));
  if (value < 1_000_000) return `${(value / 1000).toFixed(1)}k`;
  return `${(value / 1_000_000).toFixed(1)}M`;
}

/** 95 s → "1m35s", 3 h → "3h0m". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${seconds % 60 > 0 ? `${seconds % 60}s` : ''}`;
  return `${Math.floor(minutes / 60)}h${minutes % 60}m`;
}

/**
 * A run's cost as progress lines and summaries show it: `$0.0400`, `$12.34`; `?` when a model without a
 * price spent nothing priced yet (an unknown price is never shown as a number, $0 included), `$0.0400+?`
 * when priced models spent something and some model has no price.
 */
export function formatRunCost(costUsd: number, unknown: boolean): string {
  if (unknown && costUsd === 0) return '?';
  const text = `$${costUsd < 1 ? costUsd.toFixed(4) : costUsd.toFixed(2)}`;
  return unknown ? `${text}+?` : text;
}

function formatCost(state: ProgressState): string {
  return formatRunCost(state.costUsd ?? 0, state.costUnknown === true);
}

/**
 * The figures after the count: rate per minute (of the work done since `startDone`), ETA, tokens, cost.
 */
export function progressFigures(
  state: ProgressState,
  elapsedMs: number,
  startDone: number,
): { rate: number; etaMs: number; text: string } {
  const doneHere = Math.max(0, state.done - startDone);
  const rate = elapsedMs > 0 ? (doneHere / elapsedMs) * 60_000 : 0;
  const remaining = Math.max(0, state.total - state.done);
  const etaMs = remaining === 0 ? 0 : rate > 0 ? (remaining / rate) * 60_000 : Number.NaN;
  const parts = [`${rate.toFixed(1)}/min`, `eta ${remaining === 0 ? '0s' : formatDuration(etaMs)}`];
  if (state.failed !== undefined && state.failed > 0) parts.push(`failed ${state.failed}`);
  const tokens = (state.tokensIn ?? 0) + (state.tokensOut ?? 0);
  parts.push(`tokens ${formatCount(tokens)}`);
  if (state.costUsd !== undefined || state.costUnknown === true) parts.push(`cost ${formatCost(state)}`);
  return { rate, etaMs, text: parts.join(' ') };
}

export function createProgressReporter(options: ProgressOptions = {}): ProgressReporter {
  const stream = options.stream ?? process.stderr;
  const env = options.env ?? process.env;
  const now = options.now ?? Date.now;
  const ci = env.CI !== undefined && env.CI !== '' && env.CI !== 'false' && env.CI !== '0';
  const plain = options.plain ?? (stream.isTTY !== true || ci);
  const interval = plain ? (options.intervalMs ?? 5000) : 100;
  const label = options.label !== undefined ? `${options.label} ` : '';
  const started = now();
  let startDone: number | undefined;
  let last: ProgressState | undefined;
  let lastDrawn = -Infinity;
  let lastDrawnDone = -1;
  let finished = false;

  const line = (state: ProgressState): string => {
    const { text } = progressFigures(state, now() - started, startDone ?? 0);
    return `${label}[${state.done}/${state.total}] ${text}`;
  };
  const draw = (state: ProgressState, final: boolean): void => {
    if (options.silent === true) return;
    if (plain) {
      stream.write(`${line(state)}\n`);
    } else {
      const width = 24;
      const fraction = state.total > 0 ? Math.min(1, state.done / state.total) : 1;
      const filled = Math.round(fraction * width);
      let text = `${label}[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${line(state).slice(label.length)}`;
      const columns = stream.columns ?? 0;
      if (columns > 10 && text.length > columns - 1) text = text.slice(0, columns - 1);
      stream.write(`\r\x1b[2K${text}${final ? '\n' : ''}`);
    }
    lastDrawn = now();
    lastDrawnDone = state.done;
  };

  return {
    update(state) {
      if (finished) return;
      startDone ??= state.done;
      last = state;
      if (now() - lastDrawn >= interval) draw(state, false);
    },
    finish(state) {
      if (finished) return;
      finished = true;
      const final = state ?? last;
      if (final === undefined) return;
      startDone ??= final.done;
      // A plain line already showing these figures is not repeated; a bar always ends its line.
      if (plain && lastDrawnDone === final.done && now() - lastDrawn < 1) return;
      draw(final, true);
    },
  };
}
