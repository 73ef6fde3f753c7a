/**
 * What a command runs with: its streams (`CommandIo`) and the models it created (`ModelPool`, closed
 * at the end). Every command file imports these from here, so that command files do not import each
 * other for plumbing.
 */
import { CostLedger } from '../models/ledger.js';
import { createChatModel, type CreatedChatModel, type ModelOptions } from '../models/create-model.js';
import { endpointOf, probeModel } from '../models/preflight.js';
import { loadPriceTable } from '../models/prices.js';
import { downloadProgressPrinter, type ResolvedModelOptions } from './model-options.js';
import type { ProgressStream } from './progress.js';

export interface CommandIo {
  stdout: { write(text: string): unknown };
  /** Progress, warnings and the cost ledger; `isTTY` decides between a progress bar and plain lines. */
  stderr: ProgressStream;
  /** Folder holding toolalpaca.config.json (default: the working directory). */
  cwd?: string;
  /** Aborted to stop the run (the CLI wires SIGINT to it). */
  signal?: AbortSignal;
  env?: Record<string, string | undefined>;
  /** Print results as JSON (set by `--json`). */
  json?: boolean;
}

/** How long a pre-flight probe may take per endpoint. */
export const PROBE_TIMEOUT_MS = 10_000;

/** Models by spec: the same spec used for several roles is built (and loaded) once. */
export class ModelPool {
  private readonly models = new Map<string, CreatedChatModel>();

  constructor(private readonly options: ModelOptions) {}

  async get(spec: string): Promise<CreatedChatModel> {
    let model = this.models.get(spec);
    if (model === undefined) {
      model = await createChatModel(spec, this.options);
      this.models.set(spec, model);
    }
    return model;
  }

  /** The distinct endpoints of the models created so far. */
  endpoints(): string[] {
    return [...new Set([...this.models.values()].map((model) => endpointOf(model)))];
  }

  /**
   * Pre-flight: one cheap call to each distinct endpoint, so that a dead server is one line and exit 3
   * before the run starts (a ServiceError from `probeModel`).
   */
  async probe(signal?: AbortSignal): Promise<void> {
    const probed = new Set<string>();
    for (const model of this.models.values()) {
      const endpoint = endpointOf(model);
      if (probed.has(endpoint)) continue;
      probed.add(endpoint);
      await probeModel(model, { timeoutMs: PROBE_TIMEOUT_MS, ...(signal !== undefined ? { signal } : {}) });
    }
  }

  cacheHits(): number {
    let hits = 0;
    for (const model of this.models.values()) hits += model.cacheStats()?.hits ?? 0;
    return hits;
  }

  async close(): Promise<void> {
    for (const model of this.models.values()) await model.close();
    this.models.clear();
  }
}

/**
 * The cost ledger (priced from the resolved prices file) and a model pool recording into it, with
 * download progress on `io.stderr`.
 */
export async function createModelPool(
  resolved: ResolvedModelOptions,
  io: Pick<CommandIo, 'stderr'>,
): Promise<{ ledger: CostLedger; pool: ModelPool }> {
  const ledger = new CostLedger({ prices: await loadPriceTable(resolved.pricesFile) });
  const pool = new ModelPool({
    ...resolved.options,
    ledger,
    onDownloadProgress: downloadProgressPrinter(io.stderr),
  });
  return { ledger, pool };
}
