/**
 * Training exports (`toolalpaca export --out DIR`): the records of every layout as conversations, and,
 * when the export has token files (`input_ids` + `labels`), the tokens of each example with the trained
 * ones (label ≠ -100) highlighted. Token ids are decoded with the tokenizer the manifest names, loaded
 * once on the first example shown; without it the ids are shown as they are.
 *
 * Also a single JSONL or JSON file of layout records, or a token file on its own.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { isRecord } from '../../core/json-text.js';
import { messageOf } from '../../core/errors.js';
import type { HfTokenizer } from '../../export/token-masks.js';
import type { FileKind, ItemDetail, TokenSegment, TokensView, TurnView } from '../api.js';
import { facetValues, normalizeText, type FileIndex, type IndexedItem } from '../file-index.js';
import { readSlice, scanJsonFile, scanJsonlFile } from '../scan-json.js';
import { Source, type SourceHost } from './source.js';

/** The label of a token outside the loss (the export's IGNORE_INDEX). */
const IGNORE_INDEX = -100;

interface Part {
  split: string;
  /** Records file. */
  records?: string;
  /** Token file. */
  tokens?: string;
}

interface TokenRange {
  start: number;
  end: number;
  path: string;
}

/** A layout record as turns (role, text, trained). */
export function recordTurns(record: unknown): TurnView[] {
  // ToolAlpaca's layout: [segments, trainable].
  if (Array.isArray(record) && Array.isArray(record[0]) && Array.isArray(record[1])) {
    const segments = record[0] as unknown[];
    const trainable = record[1] as unknown[];
    return segments.map((segment, i) => ({
      role: trainable[i] === true ? 'assistant' : i === 0 ? 'prompt' : 'observation',
      content: typeof segment === 'string' ? segment : JSON.stringify(segment),
      trained: trainable[i] === true,
    }));
  }
  if (!isRecord(record)) return [];
  const turns: TurnView[] = [];
  if (typeof record.system === 'string' && record.system !== '')
    turns.push({ role: 'system', content: record.system });
  if (typeof record.tools === 'string' && record.tools !== '')
    turns.push({ role: 'tools', content: record.tools });
  const list = Array.isArray(record.conversations)
    ? record.conversations
    : Array.isArray(record.messages)
      ? record.messages
      : [];
  for (const message of list) {
    if (!isRecord(message)) continue;
    const role =
      typeof message.from === 'string' ? message.from : typeof message.role === 'string' ? message.role : '?';
    let content =
      typeof message.value === 'string'
        ? message.value
        : typeof message.content === 'string'
          ? message.content
          : '';
    if (Array.isArray(message.tool_calls)) {
      const calls = message.tool_calls
        .filter(isRecord)
        .map((c) =>
          isRecord(c.function) ? `${String(c.function.name)}(${String(c.function.arguments)})` : '',
        );
      content = [content, ...calls].filter((t) => t !== '').join('\n');
    }
    const trained = ['gpt', 'assistant', 'function_call'].includes(role);
    turns.push({ role, content, trained });
  }
  return turns;
}

function titleOf(turns: readonly TurnView[]): string {
  const user = turns.find((t) => t.role === 'human' || t.role === 'user');
  if (user !== undefined) return user.content.replace(/\s+/g, ' ').trim();
  const prompt = turns[0]?.content ?? '';
  // ToolAlpaca's prompt ends with the instruction after its last "Input:".
  const at = prompt.lastIndexOf('Input:');
  return (at >= 0 ? prompt.slice(at + 'Input:'.length) : prompt).replace(/\s+/g, ' ').trim().slice(0, 500);
}

/** The tool named by an example id (`toolalpaca/Weather/3`, `toolbench/G1/10_...`). */
function toolOfId(id: string | undefined): string | undefined {
  if (id === undefined) return undefined;
  const parts = id.split('/');
  return parts[0] === 'toolalpaca' && parts.length >= 3 ? parts.slice(1, -1).join('/') : undefined;
}

export class ExportSource extends Source {
  kind: FileKind;
  private parts: Part[] = [];
  private tokenizerDir: string | undefined;
  private tokenizer: Promise<HfTokenizer> | undefined;
  /** Token records by split: by example id, and in file order. */
  private tokenIndex = new Map<string, { byId: Map<string, TokenRange>; list: TokenRange[] }>();
  private pieces = new Map<number, string>();

  constructor(
    id: number,
    path: string,
    absPath: string,
    host: SourceHost,
    kind: FileKind,
    private readonly single?: string,
  ) {
    super(id, path, absPath, host);
    this.kind = kind;
  }

  override watched(): string[] {
    return this.single !== undefined ? [this.single] : [join(this.absPath, 'export.json')];
  }

  protected async scan(into: FileIndex, signal: AbortSignal): Promise<void> {
    this.tokenIndex = new Map();
    if (this.single !== undefined) {
      this.parts =
        this.kind === 'tokens'
          ? [{ split: 'train', tokens: this.single }]
          : [{ split: 'train', records: this.single }];
      this.tokenizerDir = undefined;
    } else {
      const manifest = JSON.parse(readFileSync(join(this.absPath, 'export.json'), 'utf8')) as Record<
        string,
        unknown
      >;
      const files = isRecord(manifest.files) ? manifest.files : {};
      const tokens = isRecord(manifest.tokens) ? manifest.tokens : {};
      const at = (name: unknown): string | undefined =>
        typeof name === 'string' ? resolve(this.absPath, name) : undefined;
      this.parts = ['train', 'validation']
        .map((split) => ({ split, records: at(files[split]), tokens: at(tokens[split]) }))
        .filter((p) => p.records !== undefined || p.tokens !== undefined)
        .map((p) => ({
          split: p.split,
          ...(p.records !== undefined ? { records: p.records } : {}),
          ...(p.tokens !== undefined ? { tokens: p.tokens } : {}),
        }));
      const dir = typeof tokens.tokenizer === 'string' ? resolve(this.absPath, tokens.tokenizer) : undefined;
      this.tokenizerDir = dir;
      this.meta.layout = String(manifest.layout ?? '');
      if (typeof manifest.source === 'string') this.meta.source = manifest.source;
      if (typeof tokens.template === 'string') this.meta.template = tokens.template;
      if (dir !== undefined) this.meta.tokenizer = dir;
      if (isRecord(manifest.counts)) {
        this.meta.examples = `train ${String(manifest.counts.train ?? '?')}, validation ${String(manifest.counts.validation ?? '?')}`;
      }
    }
    for (const part of this.parts) {
      if (part.tokens !== undefined && existsSync(part.tokens)) {
        const byId = new Map<string, TokenRange>();
        const list: TokenRange[] = [];
        const file = part.tokens;
        await scanJsonlFile(
          file,
          (text, start, end) => {
            const range = { start, end, path: file };
            list.push(range);
            const id = /^\{"id":("(?:[^"\\]|\\.)*")/.exec(text)?.[1];
            if (id !== undefined) byId.set(JSON.parse(id) as string, range);
          },
          this.scanOptions(signal),
        );
        this.tokenIndex.set(part.split, { byId, list });
      }
    }
    for (const part of this.parts) {
      if (part.records !== undefined && existsSync(part.records)) {
        await this.scanRecords(into, part, signal);
      } else if (part.tokens !== undefined) {
        // Token files alone: one item per tokenised example.
        this.tokenIndex.get(part.split)?.list.forEach((range, i) => {
          into.add({
            id: `${part.split}/${i}`,
            title: `example ${i + 1}`,
            facets: facetValues({ split: [part.split] }),
            search: '',
            ctx: i,
            ...range,
          });
        });
      }
    }
    this.host.changed(this);
  }

  private async scanRecords(into: FileIndex, part: Part, signal: AbortSignal): Promise<void> {
    const file = part.records as string;
    let ordinal = 0;
    const add = (text: string, start: number, end: number): void => {
      let record: unknown;
      try {
        record = JSON.parse(text);
      } catch {
        return;
      }
      const turns = recordTurns(record);
      const id = isRecord(record) && typeof record.id === 'string' ? record.id : undefined;
      const tool = toolOfId(id);
      const title = titleOf(turns);
      const item: IndexedItem = {
        id: id ?? `${part.split}/${ordinal}`,
        title,
        facets: facetValues({ split: [part.split], tool: [tool] }),
        search: `${id ?? ''}\n${title}`.toLowerCase(),
        match: normalizeText(title),
        start,
        end,
        path: file,
        ctx: ordinal,
      };
      if (tool !== undefined) item.tool = tool;
      into.add(item);
      ordinal++;
      this.host.changed(this);
    };
    if (file.endsWith('.jsonl')) {
      await scanJsonlFile(file, add, this.scanOptions(signal));
      return;
    }
    await scanJsonFile(
      file,
      {
        decide: (path, kind) =>
          path.length === 0
            ? kind === 'array'
              ? 'descend'
              : 'capture'
            : path.length === 1
              ? 'capture'
              : 'skip',
        capture: (path, text, start, end) => {
          if (path.length === 1) add(text, start, end);
        },
      },
      this.scanOptions(signal),
    );
  }

  async raw(n: number): Promise<unknown> {
    const item = this.item(n);
    return JSON.parse(readSlice(item.path ?? this.single ?? '', item.start ?? 0, item.end ?? 0)) as unknown;
  }

  private tokenRangeOf(item: IndexedItem): { range: TokenRange; self: boolean } | undefined {
    const tokens = this.tokenIndex.get(item.facets.split?.[0] ?? 'train');
    if (tokens === undefined) return undefined;
    if (item.path !== undefined && item.path === tokens.list[0]?.path) {
      return { range: { start: item.start ?? 0, end: item.end ?? 0, path: item.path }, self: true };
    }
    const range = tokens.byId.get(item.id) ?? tokens.list[item.ctx ?? -1];
    return range === undefined ? undefined : { range, self: false };
  }

  async detail(n: number): Promise<ItemDetail> {
    const item = this.item(n);
    const detail = this.baseDetail(n);
    const tokens = this.tokenRangeOf(item);
    if (tokens?.self !== true) detail.turns = recordTurns(await this.raw(n));
    if (tokens !== undefined) {
      const { path, start, end } = tokens.range;
      detail.tokens = await this.tokensView(
        JSON.parse(readSlice(path, start, end)) as Record<string, unknown>,
      );
    }
    if (item.tool !== undefined) {
      const doc = await this.host.toolDoc(item.tool);
      if (doc !== undefined) detail.toolDoc = doc;
    }
    return detail;
  }

  private loadTokenizer(): Promise<HfTokenizer> | undefined {
    let dir = this.tokenizerDir;
    if (dir === undefined && this.single !== undefined) {
      // A token file beside its export's manifest still finds the tokenizer.
      const manifest = join(dirname(this.single), 'export.json');
      try {
        const tokens = (JSON.parse(readFileSync(manifest, 'utf8')) as { tokens?: { tokenizer?: string } })
          .tokens;
        if (typeof tokens?.tokenizer === 'string') dir = resolve(dirname(this.single), tokens.tokenizer);
      } catch {
        dir = undefined;
      }
    }
    if (dir === undefined || !existsSync(join(dir, 'tokenizer.json'))) return undefined;
    const tokenizerDir = dir;
    // The tokenizer libraries load only when an export with masks is opened.
    this.tokenizer ??= import('../../export/token-masks.js').then((m) => m.loadHfTokenizer(tokenizerDir));
    return this.tokenizer;
  }

  private async tokensView(record: Record<string, unknown>): Promise<TokensView> {
    const ids = Array.isArray(record.input_ids) ? (record.input_ids as number[]) : [];
    const labels = Array.isArray(record.labels) ? (record.labels as number[]) : [];
    const trainedAt = (i: number): boolean => labels[i] !== undefined && labels[i] !== IGNORE_INDEX;
    const trained = ids.filter((_, i) => trainedAt(i)).length;
    const base = { trained, total: ids.length };
    let tok: HfTokenizer | undefined;
    let note: string | undefined;
    try {
      tok = await this.loadTokenizer();
      if (tok === undefined) note = 'tokenizer not found: token ids shown';
    } catch (error) {
      note = `tokenizer not loaded (${messageOf(error)}): token ids shown`;
    }
    if (tok === undefined) {
      const segments: TokenSegment[] = ids.map((id, i) => ({ ids: [id], trained: trainedAt(i) }));
      return { ...base, segments, decoded: false, perToken: true, ...(note !== undefined ? { note } : {}) };
    }
    const decoder = tok.tokenizer;
    const decode = (list: number[]): string =>
      list.length === 0
        ? ''
        : decoder.decode(list, { skip_special_tokens: false, clean_up_tokenization_spaces: false });
    const pieces = ids.map((id) => {
      let piece = this.pieces.get(id);
      if (piece === undefined) {
        piece = decode([id]);
        if (this.pieces.size < 500_000) this.pieces.set(id, piece);
      }
      return piece;
    });
    if (pieces.join('') === decode(ids)) {
      const segments = ids.map((id, i) => ({ ids: [id], text: pieces[i] as string, trained: trainedAt(i) }));
      return { ...base, segments, decoded: true, perToken: true };
    }
    // Pieces do not add up (a character split across tokens): decode each trained/untrained run whole.
    const segments: TokenSegment[] = [];
    let start = 0;
    for (let i = 1; i <= ids.length; i++) {
      if (i === ids.length || trainedAt(i) !== trainedAt(start)) {
        const run = ids.slice(start, i);
        segments.push({ ids: run, text: decode(run), trained: trainedAt(start) });
        start = i;
      }
    }
    return { ...base, segments, decoded: true, perToken: false };
  }
}
