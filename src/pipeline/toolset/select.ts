/**
 * Choosing which catalogue entries to build: filters (category, auth, HTTPS), per-category quotas,
 * a limit, and seeded sampling so that the same seed picks the same APIs on every machine. Also the
 * catalogue summary (`toolset catalog`): counts by category, auth and HTTPS.
 */
import type { CatalogEntry } from '../../core/catalog.js';
import { InputError } from '../../core/errors.js';
import { seededShuffle } from '../../core/random.js';

export interface CatalogSelection {
  /** Keep entries in these categories (case-insensitive). */
  categories?: readonly string[];
  /** Keep entries with these auth labels (case-insensitive; "none" or "" means no auth). */
  auth?: readonly string[];
  /** Keep only HTTPS (true) or only plain-HTTP (false) entries. */
  https?: boolean;
  /** At most this many entries per category. */
  perCategory?: number;
  /** At most this many entries in all. */
  limit?: number;
  /**
   * Sampling seed. With a seed, entries are shuffled (deterministically) before quotas and the limit
   * apply; without one the catalogue order is kept and the first entries win.
   */
  seed?: number;
}

function authKey(label: string): string {
  const text = label.trim().toLowerCase();
  return text === '' || text === 'none' || text === 'no' ? '' : text;
}

/**
 * The entries a build should cover, in build order. Throws an InputError naming a requested category
 * that the catalogue does not have (a typo would otherwise silently select nothing).
 */
export function selectEntries(
  entries: readonly CatalogEntry[],
  selection: CatalogSelection = {},
): CatalogEntry[] {
  for (const [flag, value] of [
    ['perCategory', selection.perCategory],
    ['limit', selection.limit],
  ] as const) {
    if (value !== undefined && (!Number.isInteger(value) || value < 1)) {
      throw new InputError(`${flag}: expected a positive integer, got ${value}`);
    }
  }
  let pool = [...entries];
  if (selection.categories !== undefined && selection.categories.length > 0) {
    const known = new Map(entries.map((e) => [e.category.toLowerCase(), e.category]));
    const wanted = new Set<string>();
    for (const category of selection.categories) {
      const key = category.trim().toLowerCase();
      if (!known.has(key)) {
        throw new InputError(`categories: no category "${category}" in the catalogue`, {
          details: { reason: 'unknown-category', category },
        });
      }
      wanted.add(key);
    }
    pool = pool.filter((e) => wanted.has(e.category.toLowerCase()));
  }
  if (selection.auth !== undefined && selection.auth.length > 0) {
    const wanted = new Set(selection.auth.map(authKey));
    pool = pool.filter((e) => wanted.has(authKey(e.auth)));
  }
  if (selection.https !== undefined) pool = pool.filter((e) => e.https === selection.https);
  if (selection.seed !== undefined) pool = seededShuffle(pool, selection.seed);
  if (selection.perCategory !== undefined) {
    const taken = new Map<string, number>();
    pool = pool.filter((e) => {
      const count = taken.get(e.category) ?? 0;
      if (count >= (selection.perCategory as number)) return false;
      taken.set(e.category, count + 1);
      return true;
    });
  }
  if (selection.limit !== undefined) pool = pool.slice(0, selection.limit);
  return pool;
}

export interface CatalogSummary {
  entries: number;
  categories: number;
  byCategory: Record<string, number>;
  /** Auth label → count; "" (no auth) is reported as "none". */
  byAuth: Record<string, number>;
  byHttps: { yes: number; no: number; unknown: number };
  /** Names used by more than one entry. */
  duplicateNames: string[];
}

function countInto(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

/** Counts sorted by count (descending), then name. */
export function sortedCounts(counts: Iterable<[string, number]>): Record<string, number> {
  const rows = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return Object.fromEntries(rows);
}

/** Appends a blank line, `title`, then one aligned `name  count` line per entry. */
export function pushCountBlock(lines: string[], title: string, record: Record<string, number>): void {
  lines.push('', title);
  const width = Math.max(0, ...Object.keys(record).map((k) => k.length));
  for (const [key, count] of Object.entries(record)) lines.push(`  ${key.padEnd(width)}  ${count}`);
}

export function summarizeCatalog(entries: readonly CatalogEntry[]): CatalogSummary {
  const categories = new Map<string, number>();
  const auth = new Map<string, number>();
  const names = new Map<string, number>();
  const byHttps = { yes: 0, no: 0, unknown: 0 };
  for (const entry of entries) {
    countInto(categories, entry.category);
    countInto(auth, entry.auth === '' ? 'none' : entry.auth);
    countInto(names, entry.name);
    if (entry.https === true) byHttps.yes++;
    else if (entry.https === false) byHttps.no++;
    else byHttps.unknown++;
  }
  return {
    entries: entries.length,
    categories: categories.size,
    byCategory: sortedCounts(categories),
    byAuth: sortedCounts(auth),
    byHttps,
    duplicateNames: [...names.entries()]
      .filter(([, n]) => n > 1)
      .map(([name]) => name)
      .sort(),
  };
}

/** The summary as aligned text lines. */
export function formatCatalogSummary(summary: CatalogSummary): string {
  const lines: string[] = [];
  lines.push(`${summary.entries} entries in ${summary.categories} categories`);
  pushCountBlock(lines, 'by category:', summary.byCategory);
  pushCountBlock(lines, 'by auth:', summary.byAuth);
  pushCountBlock(lines, 'by HTTPS:', {
    yes: summary.byHttps.yes,
    no: summary.byHttps.no,
    unknown: summary.byHttps.unknown,
  });
  if (summary.duplicateNames.length > 0) {
    lines.push(
      '',
      `names used more than once (${summary.duplicateNames.length}): ${summary.duplicateNames.join(', ')}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
