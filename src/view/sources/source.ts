/**
 * One opened file (or folder) of the viewer: it indexes its items into a FileIndex, answers for one item
 * at a time, and re-reads itself when the file changes. Each kind of file is a subclass.
 */
import { basename } from 'node:path';
import { messageOf, oneLine } from '../../core/errors.js';
import type { FileInfo, FileKind, ItemDetail, ToolEvalView } from '../api.js';
import { FileIndex, type IndexedItem } from '../file-index.js';

/** What a source may ask of the other open files. */
export interface SourceHost {
  /** NL documentation of a tool, from any open file that documents it. */
  toolDoc(name: string): Promise<string | undefined>;
  /** The item of an open file of `kind` whose id is `id`. */
  findItem(kind: FileKind, id: string): { file: number; n: number; title: string } | undefined;
  /** The ToolEval verdict of a query, from an open ToolEval results file. */
  toolevalOf(queryId: string): ToolEvalView | undefined;
  /** Called when the source's items or state changed (the server tells the browsers). */
  changed(source: Source): void;
  /** Awaited while a source indexes (after each value read), when the host holds indexing. */
  pause?(source: Source): Promise<void> | undefined;
}

export abstract class Source {
  abstract readonly kind: FileKind;
  index = new FileIndex();
  meta: Record<string, string> = {};
  indexing = false;
  error: string | undefined;
  /** Grows by appended lines (generation logs). */
  live = false;
  comparable = false;
  judged = false;
  private ids: Map<string, number> | undefined;
  private idsVersion = -1;
  private reloading: Promise<void> | undefined;
  private reloadAgain = false;

  constructor(
    readonly id: number,
    readonly path: string,
    readonly absPath: string,
    protected readonly host: SourceHost,
  ) {}

  /** Options of the streaming scans: stop on `signal`, wait where the host holds indexing. */
  protected scanOptions(signal: AbortSignal): {
    signal: AbortSignal;
    pause?: () => Promise<void> | undefined;
  } {
    const host = this.host;
    return host.pause === undefined ? { signal } : { signal, pause: () => host.pause?.(this) };
  }

  /** Reads the file into `into`, calling `host.changed` as items arrive. */
  protected abstract scan(into: FileIndex, signal: AbortSignal): Promise<void>;

  abstract detail(n: number): Promise<ItemDetail>;

  /** The item as stored in the file. */
  abstract raw(n: number): Promise<unknown>;

  /** Paths whose changes make the source re-read (default: its own path). */
  watched(): string[] {
    return [this.absPath];
  }

  /** Tool names this source documents, with a loader for each one's NL documentation. */
  toolDocs(): Map<string, () => Promise<string | undefined>> {
    return new Map();
  }

  info(): FileInfo {
    const info: FileInfo = {
      id: this.id,
      path: this.path,
      absPath: this.absPath,
      kind: this.kind,
      count: this.index.size,
      indexing: this.indexing,
      live: this.live,
      version: this.index.version,
      meta: this.meta,
      comparable: this.comparable,
      judged: this.judged,
    };
    if (this.error !== undefined) info.error = this.error;
    return info;
  }

  get label(): string {
    return basename(this.path);
  }

  /** The first read; the list fills while it runs. */
  async open(signal: AbortSignal): Promise<void> {
    this.indexing = true;
    this.host.changed(this);
    try {
      await this.scan(this.index, signal);
    } catch (error) {
      if (signal.aborted) return;
      this.error = oneLine(`${this.path}: ${messageOf(error)}`);
    } finally {
      this.indexing = false;
      this.host.changed(this);
    }
  }

  /**
   * The file changed: read it again into a fresh index and swap it in when done (the old one serves
   * meanwhile). Changes during a re-read cause one more re-read.
   */
  async refresh(signal: AbortSignal): Promise<void> {
    if (this.reloading !== undefined) {
      this.reloadAgain = true;
      return this.reloading;
    }
    this.reloading = (async () => {
      do {
        this.reloadAgain = false;
        const next = new FileIndex(this.index.version + 1);
        this.indexing = true;
        this.host.changed(this);
        try {
          await this.scan(next, signal);
          this.index = next;
          this.error = undefined;
        } catch (error) {
          if (signal.aborted) return;
          this.error = oneLine(`${this.path}: ${messageOf(error)}`);
        } finally {
          this.indexing = false;
          this.host.changed(this);
        }
      } while (this.reloadAgain && !signal.aborted);
    })();
    try {
      await this.reloading;
    } finally {
      this.reloading = undefined;
    }
  }

  /** Position of the item with id `id`, if any. */
  find(id: string): number | undefined {
    if (this.ids === undefined || this.idsVersion !== this.index.version) {
      this.ids = new Map();
      this.index.items.forEach((item, n) => {
        if (!this.ids?.has(item.id)) this.ids?.set(item.id, n);
      });
      this.idsVersion = this.index.version;
    }
    return this.ids.get(id);
  }

  protected item(n: number): IndexedItem {
    const item = this.index.items[n];
    if (item === undefined) throw new RangeError(`no item ${n} in ${this.path}`);
    return item;
  }

  /** The detail fields every kind shares. */
  protected baseDetail(n: number): ItemDetail {
    const item = this.item(n);
    const detail: ItemDetail = {
      file: this.id,
      n,
      id: item.id,
      title: item.title,
      facets: item.facets,
      fields: {},
    };
    if (item.tool !== undefined) detail.tool = item.tool;
    return detail;
  }
}
