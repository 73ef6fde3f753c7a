/**
 * The viewer's model: the open sources, the links between them (tool documentation from any file, a
 * ToolEval verdict beside its answer), file watching, and the queries the HTTP API answers (lists with
 * facets, positions, comparisons, summaries).
 */
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type {
  CompareResponse,
  ComparePair,
  FacetName,
  FileKind,
  ItemDetail,
  ItemRow,
  ListResponse,
  PositionResponse,
  SummaryResponse,
  ToolEvalView,
} from './api.js';
import type { Detected } from './detect.js';
import type { ListQuery } from './file-index.js';
import type { Source, SourceHost } from './sources/source.js';
import type { ToolBenchAnswersSource } from './sources/toolbench.js';
import type { ToolEvalSource } from './sources/tooleval.js';

export interface ViewerOptions {
  /** Watch files and re-read them when they change (default true). */
  watch?: boolean;
  /** Called (throttled) when any source changed: the server pushes it to the browsers. */
  onChange?: () => void;
  /** Minimum milliseconds between two onChange calls (default 250). */
  changeIntervalMs?: number;
  /**
   * Awaited by a source while it indexes, after each value read: lets a caller (a test) hold indexing
   * part-way, so the partial state — list and facet counts of the items read so far — can be seen.
   */
  pauseIndexing?: (source: Source) => Promise<void> | undefined;
}

/**
 * The source of one detected path. Each reader's module is loaded only when a path needs it (the
 * ToolBench reader pulls in the OpenAPI parser, the run reader zod and the checker): start-up, and so the
 * first page, pays only for the kinds that are open.
 */
async function createSource(detected: Detected, id: number, host: SourceHost): Promise<Source> {
  const { path, absPath } = detected;
  switch (detected.reader) {
    case 'toolalpaca': {
      const { ToolAlpacaSource } = await import('./sources/toolalpaca.js');
      return new ToolAlpacaSource(id, path, absPath, host, detected.toolsOnly === true ? 'tools' : 'corpus');
    }
    case 'generation-log': {
      const { GenerationLogSource } = await import('./sources/generation-log.js');
      return new GenerationLogSource(id, path, absPath, host);
    }
    case 'run':
    case 'judged': {
      const { RunSource } = await import('./sources/run.js');
      return new RunSource(id, path, absPath, host, detected.reader);
    }
    case 'toolalpaca-judged': {
      const { ToolAlpacaJudgedSource } = await import('./sources/run.js');
      return new ToolAlpacaJudgedSource(id, path, absPath, host);
    }
    case 'toolbench-answers': {
      const { ToolBenchAnswersSource } = await import('./sources/toolbench.js');
      return new ToolBenchAnswersSource(id, path, absPath, host, detected.files ?? [absPath]);
    }
    case 'tooleval': {
      const { ToolEvalSource } = await import('./sources/tooleval.js');
      return new ToolEvalSource(id, path, absPath, host);
    }
    case 'export':
    case 'sft-records':
    case 'tokens': {
      const { ExportSource } = await import('./sources/export.js');
      const file = detected.reader === 'export' ? undefined : absPath;
      return new ExportSource(id, path, absPath, host, detected.reader, file);
    }
  }
}

/** Which reader is read first: documentation and answers before the files that refer to them. */
const OPEN_ORDER: Record<string, number> = { tools: 0, corpus: 1, 'toolbench-answers': 1, tooleval: 3 };

export class Viewer implements SourceHost {
  readonly sources: Source[] = [];
  private readonly abort = new AbortController();
  private readonly watchers: FSWatcher[] = [];
  private readonly options: ViewerOptions;
  private lastChange = 0;
  private changeTimer: NodeJS.Timeout | undefined;
  private opened: Promise<void> | undefined;

  private constructor(options: ViewerOptions) {
    this.options = options;
    const pause = options.pauseIndexing;
    if (pause !== undefined) this.pause = (source) => pause(source);
  }

  pause?: (source: Source) => Promise<void> | undefined;

  /** A viewer over the detected paths (nothing is read until `open`). */
  static async create(detected: readonly Detected[], options: ViewerOptions = {}): Promise<Viewer> {
    const viewer = new Viewer(options);
    viewer.sources.push(...(await Promise.all(detected.map((d, id) => createSource(d, id, viewer)))));
    return viewer;
  }

  /** Starts reading every source (documentation files first); resolves when all are read. */
  open(): Promise<void> {
    this.opened ??= (async () => {
      const ordered = [...this.sources].sort((a, b) => (OPEN_ORDER[a.kind] ?? 2) - (OPEN_ORDER[b.kind] ?? 2));
      const first = ordered.filter((s) => (OPEN_ORDER[s.kind] ?? 2) < 3);
      const last = ordered.filter((s) => (OPEN_ORDER[s.kind] ?? 2) >= 3);
      // Sources are read side by side (each yields while it reads); ToolEval results wait for answers.
      await Promise.all(first.map((s) => s.open(this.abort.signal)));
      await Promise.all(last.map((s) => s.open(this.abort.signal)));
      if (this.options.watch !== false) this.startWatching();
    })();
    return this.opened;
  }

  private startWatching(): void {
    const byDir = new Map<string, Map<string, Source[]>>();
    for (const source of this.sources) {
      for (const path of source.watched()) {
        const dir = dirname(path);
        const names = byDir.get(dir) ?? new Map<string, Source[]>();
        const list = names.get(basename(path)) ?? [];
        list.push(source);
        names.set(basename(path), list);
        byDir.set(dir, names);
      }
    }
    // Folders are watched rather than files: an atomic rewrite replaces the file (a new inode).
    for (const [dir, names] of byDir) {
      try {
        const watcher = watch(dir, { persistent: false }, (_event, name) => {
          const hit = name === null ? [...names.values()].flat() : (names.get(name.toString()) ?? []);
          for (const source of hit) void source.refresh(this.abort.signal);
        });
        watcher.on('error', () => watcher.close());
        this.watchers.push(watcher);
      } catch {
        // A folder that cannot be watched: its files are read once.
      }
    }
  }

  async close(): Promise<void> {
    this.abort.abort();
    for (const watcher of this.watchers) watcher.close();
    if (this.changeTimer !== undefined) clearTimeout(this.changeTimer);
  }

  // --- SourceHost ---------------------------------------------------------------------------------

  async toolDoc(name: string): Promise<string | undefined> {
    for (const source of this.sources) {
      const load = source.toolDocs().get(name);
      if (load !== undefined) {
        const doc = await load();
        if (doc !== undefined) return doc;
      }
    }
    return undefined;
  }

  findItem(kind: FileKind, id: string): { file: number; n: number; title: string } | undefined {
    for (const source of this.sources) {
      if (source.kind !== kind) continue;
      const n =
        source.kind === 'toolbench-answers'
          ? (source as ToolBenchAnswersSource).findQuery(id)
          : source.find(id);
      if (n !== undefined && n >= 0) return { file: source.id, n, title: source.index.items[n]?.title ?? id };
    }
    return undefined;
  }

  toolevalOf(queryId: string): ToolEvalView | undefined {
    for (const source of this.sources) {
      if (source.kind === 'tooleval') {
        const verdict = (source as ToolEvalSource).verdictOf(queryId);
        if (verdict !== undefined) return verdict;
      }
    }
    return undefined;
  }

  changed(): void {
    const notify = this.options.onChange;
    if (notify === undefined || this.changeTimer !== undefined) return;
    const wait = Math.max(0, (this.options.changeIntervalMs ?? 250) - (Date.now() - this.lastChange));
    this.changeTimer = setTimeout(() => {
      this.changeTimer = undefined;
      this.lastChange = Date.now();
      notify();
    }, wait);
    this.changeTimer.unref?.();
  }

  // --- queries ------------------------------------------------------------------------------------

  source(id: number): Source | undefined {
    return this.sources[id];
  }

  list(source: Source, query: ListQuery, offset: number, limit: number): ListResponse {
    const { indices, facets } = source.index.filter(query);
    return {
      file: source.info(),
      partial: source.indexing,
      total: indices.length,
      offset,
      rows: indices.slice(offset, offset + limit).map((n) => source.index.row(n)),
      facets,
    };
  }

  position(source: Source, query: ListQuery, n: number): PositionResponse {
    const { indices } = source.index.filter(query);
    const index = indices.indexOf(n);
    const out: PositionResponse = { index, total: indices.length };
    const idOf = (at: number): string | undefined => source.index.items[indices[at] ?? -1]?.id;
    if (index > 0) out.prev = idOf(index - 1);
    if (index >= 0 && index + 1 < indices.length) out.next = idOf(index + 1);
    return out;
  }

  detail(source: Source, n: number): Promise<ItemDetail> {
    return source.detail(n);
  }

  /**
   * Two files' items paired by task (tool + instruction, or query text): pairs that differ (status,
   * judge labels) first when `differ` is set, else in the first file's order then the second's leftovers.
   */
  compare(
    a: Source,
    b: Source,
    options: { q?: string; only?: 'differ' | 'both' | 'all'; offset: number; limit: number },
  ): CompareResponse {
    const byKey = new Map<string, number>();
    b.index.items.forEach((item, n) => {
      const key = item.match ?? item.title;
      if (!byKey.has(key)) byKey.set(key, n);
    });
    const usedB = new Set<number>();
    const pairs: ComparePair[] = [];
    a.index.items.forEach((item, n) => {
      const key = item.match ?? item.title;
      const m = byKey.get(key);
      if (m !== undefined) usedB.add(m);
      const row = a.index.row(n);
      const pair: ComparePair = { key, title: item.title, a: row, differs: false };
      if (item.tool !== undefined) pair.tool = item.tool;
      if (m !== undefined) {
        pair.b = b.index.row(m);
        pair.differs = outcomesDiffer(row, pair.b);
      }
      pairs.push(pair);
    });
    b.index.items.forEach((item, n) => {
      if (usedB.has(n)) return;
      const pair: ComparePair = {
        key: item.match ?? item.title,
        title: item.title,
        b: b.index.row(n),
        differs: false,
      };
      if (item.tool !== undefined) pair.tool = item.tool;
      pairs.push(pair);
    });
    const counts = {
      both: pairs.filter((p) => p.a !== undefined && p.b !== undefined).length,
      onlyA: pairs.filter((p) => p.b === undefined).length,
      onlyB: pairs.filter((p) => p.a === undefined).length,
      differ: pairs.filter((p) => p.differs).length,
    };
    const q = (options.q ?? '').trim().toLowerCase();
    let shown = pairs.filter(
      (p) => q === '' || p.title.toLowerCase().includes(q) || (p.tool ?? '').toLowerCase().includes(q),
    );
    if (options.only === 'both') shown = shown.filter((p) => p.a !== undefined && p.b !== undefined);
    if (options.only === 'differ') shown = shown.filter((p) => p.differs);
    return {
      a: a.info(),
      b: b.info(),
      total: shown.length,
      offset: options.offset,
      pairs: shown.slice(options.offset, options.offset + options.limit),
      counts,
    };
  }

  /** Per-tool bar chart data of a file: success shares by tool, with the facet value each bar lists. */
  summary(source: Source): SummaryResponse | undefined {
    const tools = new Map<string, Map<string, number>>();
    const totals = new Map<string, number>();
    const series = source.judged
      ? ([
          ['process Yes', 'process', 'Yes'],
          ['response Yes', 'response', 'Yes'],
          ['checker pass', 'checker', 'pass'],
          ['ToolEval passed', 'tooleval', 'passed'],
        ] as const)
      : ([
          ['completed', 'status', 'completed'],
          ['checker pass', 'checker', 'pass'],
          ['verified', 'verification', 'passed'],
          ['answered', 'finish', 'give_answer'],
        ] as const);
    for (const item of source.index.items) {
      const names = item.facets.tool ?? [];
      for (const tool of names.length > 0 ? names : ['(all)']) {
        totals.set(tool, (totals.get(tool) ?? 0) + 1);
        const counts = tools.get(tool) ?? new Map<string, number>();
        for (const [name, facet, value] of series) {
          if (item.facets[facet as FacetName]?.includes(value) === true)
            counts.set(name, (counts.get(name) ?? 0) + 1);
        }
        tools.set(tool, counts);
      }
    }
    const present = series.filter(([, facet]) =>
      source.index.items.some((item) => item.facets[facet as FacetName] !== undefined),
    );
    if (present.length === 0 || tools.size === 0) return undefined;
    const categories = [...totals.entries()]
      .sort((x, y) => y[1] - x[1])
      .slice(0, 40)
      .map(([tool]) => tool);
    return {
      title: `Per tool (${categories.length < tools.size ? `top ${categories.length} of ${tools.size}` : `${tools.size}`} tools)`,
      categories,
      series: present.map(([name, facet, value]) => ({
        name,
        facet: facet as FacetName,
        value,
        values: categories.map((tool) => ((tools.get(tool)?.get(name) ?? 0) / (totals.get(tool) ?? 1)) * 100),
      })),
    };
  }
}

/** Status, judge labels or finish differ, among the facets both sides have. */
function outcomesDiffer(a: ItemRow, b: ItemRow): boolean {
  const keys: FacetName[] = ['status', 'process', 'response', 'checker', 'finish', 'tooleval'];
  return keys.some((key) => {
    const x = a.facets[key];
    const y = b.facets[key];
    return x !== undefined && y !== undefined && x.join() !== y.join();
  });
}
