/**
 * The in-memory index of one file's items: per item a title, facet values, a lower-case search text and
 * where to read the item again (byte range, file, or the object itself for small files). Lists are
 * filtered, counted per facet and paged here, so the browser only ever receives one page.
 */
import type { FacetCount, FacetName, FacetValues, ItemRow } from './api.js';

export interface IndexedItem {
  id: string;
  title: string;
  tool?: string;
  steps?: number;
  facets: FacetValues;
  /** Lower-case text searched by `q`. */
  search: string;
  /** Items of two files with the same key are the same task (tool + instruction, or query). */
  match?: string;
  disagree?: boolean;
  /** Byte range of the item in the source file. */
  start?: number;
  end?: number;
  /** The file holding the item, when a source spans several files. */
  path?: string;
  /** The item itself, for sources small enough to keep. */
  memory?: unknown;
  /** Source-specific context (the record a ToolAlpaca instance belongs to, a line number...). */
  ctx?: number;
}

export interface ListQuery {
  q?: string;
  filters?: Partial<Record<string, string[]>>;
  sort?: 'file' | 'disagreements';
}

const MAX_FACET_VALUES = 300;

// Many items share the same facet values: keep one array per distinct list.
const internedLists = new Map<string, string[]>();
const internedStrings = new Map<string, string>();

/** One shared string per distinct value (facet values repeat across thousands of items). */
export function intern(value: string): string {
  const known = internedStrings.get(value);
  if (known !== undefined) return known;
  if (internedStrings.size < 200_000) internedStrings.set(value, value);
  return value;
}

/** Facet values with duplicates removed, empty ones dropped and shared arrays reused. */
export function facetValues(values: Partial<Record<FacetName, (string | undefined)[]>>): FacetValues {
  const out: FacetValues = {};
  for (const [name, list] of Object.entries(values) as [FacetName, (string | undefined)[]][]) {
    const clean = [...new Set(list.filter((v): v is string => typeof v === 'string' && v !== ''))];
    if (clean.length === 0) continue;
    const key = `${name}\u0001${clean.join('\u0001')}`;
    let shared = internedLists.get(key);
    if (shared === undefined) {
      shared = clean.map(intern);
      if (internedLists.size < 100_000) internedLists.set(key, shared);
    }
    out[name] = shared;
  }
  return out;
}

/** Lower-case whitespace-collapsed text for comparing instructions across files. */
export function normalizeText(text: string): string {
  return text.toLowerCase().replace(/\s+/g, ' ').trim();
}

interface Filtered {
  indices: number[];
  facets: Partial<Record<FacetName, FacetCount[]>>;
}

export class FileIndex {
  readonly items: IndexedItem[] = [];
  private cache = new Map<string, Filtered>();
  private cacheVersion: number;

  constructor(public version = 0) {
    this.cacheVersion = version;
  }

  add(item: IndexedItem): void {
    this.items.push(item);
    this.version++;
  }

  /** Replaces item `n` (a source learned more about it, e.g. its tool's name). */
  replace(n: number, item: IndexedItem): void {
    this.items[n] = item;
    this.version++;
  }

  get size(): number {
    return this.items.length;
  }

  row(n: number): ItemRow {
    const item = this.items[n] as IndexedItem;
    const row: ItemRow = { n, id: item.id, title: item.title, facets: item.facets };
    if (item.tool !== undefined) row.tool = item.tool;
    if (item.steps !== undefined) row.steps = item.steps;
    if (item.disagree !== undefined) row.disagree = item.disagree;
    return row;
  }

  /** Items matching the query, in list order, with facet counts. */
  filter(query: ListQuery): Filtered {
    if (this.cacheVersion !== this.version) {
      this.cache.clear();
      this.cacheVersion = this.version;
    }
    const key = JSON.stringify([query.q ?? '', query.filters ?? {}, query.sort ?? 'file']);
    const cached = this.cache.get(key);
    if (cached !== undefined) return cached;
    const result = this.compute(query);
    if (this.cache.size > 32) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(key, result);
    return result;
  }

  private compute(query: ListQuery): Filtered {
    const q = (query.q ?? '').trim().toLowerCase();
    const terms = q === '' ? [] : q.split(/\s+/);
    const filters = Object.entries(query.filters ?? {}).filter(
      (entry): entry is [string, string[]] => Array.isArray(entry[1]) && entry[1].length > 0,
    );
    const counts = new Map<string, Map<string, number>>();
    const count = (name: string, values: readonly string[] | undefined): void => {
      if (values === undefined) return;
      let map = counts.get(name);
      if (map === undefined) {
        map = new Map();
        counts.set(name, map);
      }
      for (const value of values) map.set(value, (map.get(value) ?? 0) + 1);
    };
    const indices: number[] = [];
    this.items.forEach((item, n) => {
      if (terms.length > 0 && !terms.every((term) => item.search.includes(term))) return;
      // The one facet filter the item fails, if exactly one: it still counts for that facet.
      let failed: string | undefined;
      let failures = 0;
      for (const [name, wanted] of filters) {
        const values = item.facets[name as FacetName];
        if (values === undefined || !values.some((v) => wanted.includes(v))) {
          failures++;
          failed = name;
          if (failures > 1) return;
        }
      }
      if (failures === 1) {
        count(failed as string, item.facets[failed as FacetName]);
        return;
      }
      indices.push(n);
      for (const [name, values] of Object.entries(item.facets)) count(name, values);
    });
    if (query.sort === 'disagreements') {
      const rank = (n: number): number => (this.items[n]?.disagree === true ? 0 : 1);
      indices.sort((a, b) => rank(a) - rank(b) || a - b);
    }
    const facets: Partial<Record<FacetName, FacetCount[]>> = {};
    for (const [name, map] of counts) {
      facets[name as FacetName] = [...map.entries()]
        .map(([value, n]) => ({ value, count: n }))
        .sort((a, b) => b.count - a.count || a.value.localeCompare(b.value))
        .slice(0, MAX_FACET_VALUES);
    }
    return { indices, facets };
  }
}
