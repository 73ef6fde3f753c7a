/**
 * Readers of API catalogues, all producing `CatalogEntry`: ToolAlpaca's `public_apis.json`
 * (`{count, entries: [{API, Description, Auth, HTTPS, Cors, Link, Category}]}`), the public-apis
 * README (markdown tables under `### Category` headings), CSV with a header row, and a user's own JSON
 * list (an array of objects, or `{entries: [...]}`, with keys such as name/API, description, category,
 * link/url, auth, https, cors in any letter case).
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { describeFsError, parseJsonText } from '../../core/atomic-write.js';
import { CatalogEntrySchema, type CatalogEntry } from '../../core/catalog.js';
import { InputError, oneLine } from '../../core/errors.js';
import { isRecord } from '../../core/json-text.js';

export type CatalogFormat = 'json' | 'markdown' | 'csv';

/** Key aliases (lowercase, without spaces/underscores/dashes) for each entry field. */
const FIELD_ALIASES: Record<keyof CatalogEntry, readonly string[]> = {
  name: ['name', 'api', 'title', 'apiname', 'tool', 'toolname'],
  description: ['description', 'desc', 'summary'],
  category: ['category', 'categories', 'group'],
  link: ['link', 'url', 'homepage', 'docs', 'documentation', 'documentationurl'],
  auth: ['auth', 'authentication', 'authtype'],
  https: ['https', 'ssl'],
  cors: ['cors'],
};

function normalizeKey(key: string): string {
  return key.toLowerCase().replace(/[\s_-]+/g, '');
}

/** "yes"/"true"/true → true, "no"/"false"/false → false, anything else undefined. */
export function parseYesNo(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value !== 0;
  if (typeof value !== 'string') return undefined;
  const text = value.trim().toLowerCase();
  if (['yes', 'true', 'y', '1'].includes(text)) return true;
  if (['no', 'false', 'n', '0'].includes(text)) return false;
  return undefined;
}

/** public-apis writes "No" (or nothing) for "no auth" and wraps labels in backticks: `apiKey`. */
export function normalizeAuth(value: unknown): string {
  if (value === null || value === undefined || value === false) return '';
  const text = String(value).replace(/`/g, '').trim();
  return /^(no|none|false)$/i.test(text) ? '' : text;
}

function textOf(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value.trim();
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return '';
}

/**
 * A catalogue entry from an object with aliased keys. `where` names the entry in errors
 * ("catalog.json: entry 3").
 */
export function entryFromObject(
  value: unknown,
  where: string,
  defaults: { category?: string } = {},
): CatalogEntry {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InputError(`${where}: expected an object with at least a name`);
  }
  const byKey = new Map<string, unknown>();
  for (const [key, item] of Object.entries(value)) {
    const normal = normalizeKey(key);
    if (!byKey.has(normal)) byKey.set(normal, item);
  }
  const pick = (field: keyof CatalogEntry): unknown => {
    for (const alias of FIELD_ALIASES[field]) if (byKey.has(alias)) return byKey.get(alias);
    return undefined;
  };
  const name = textOf(pick('name'));
  if (name === '') throw new InputError(`${where}: no name (expected a "name" or "API" field)`);
  const https = parseYesNo(pick('https'));
  const cors = textOf(pick('cors'));
  const category = pick('category');
  const entry: CatalogEntry = {
    name,
    description: textOf(pick('description')),
    category:
      (Array.isArray(category) ? textOf(category[0]) : textOf(category)) ||
      defaults.category ||
      'Uncategorized',
    link: textOf(pick('link')),
    auth: normalizeAuth(pick('auth')),
    ...(https !== undefined ? { https } : {}),
    ...(cors !== '' ? { cors: cors.toLowerCase() } : {}),
  };
  return CatalogEntrySchema.parse(entry);
}

/** Entries of parsed JSON: an array of objects, or an object holding one under `entries`/`apis`/`tools`. */
export function parseCatalogJson(data: unknown, label: string): CatalogEntry[] {
  let list: unknown = data;
  if (isRecord(data)) {
    list = data.entries ?? data.apis ?? data.tools ?? data.items;
    if (list === undefined) {
      throw new InputError(
        `${label}: expected a JSON array of API entries or an object with an "entries" array`,
      );
    }
  }
  if (!Array.isArray(list)) throw new InputError(`${label}: "entries" is not an array`);
  return list.map((item, index) => entryFromObject(item, `${label}: entry ${index}`));
}

/** Cells of one markdown table row; `\|` stays a literal pipe. */
function tableCells(line: string): string[] {
  let body = line.trim();
  if (body.startsWith('|')) body = body.slice(1);
  if (body.endsWith('|') && !body.endsWith('\\|')) body = body.slice(0, -1);
  const cells: string[] = [];
  let current = '';
  for (let i = 0; i < body.length; i++) {
    const char = body[i];
    if (char === '\\' && body[i + 1] === '|') {
      current += '|';
      i++;
    } else if (char === '|') {
      cells.push(current.trim());
      current = '';
    } else current += char;
  }
  cells.push(current.trim());
  return cells;
}

const SEPARATOR_ROW = /^\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$/;

/** `[Name](link)` → name and link; plain text → name only. */
function linkCell(cell: string): { name: string; link: string } {
  const match = /^\[([^\]]+)\]\(([^)\s]*)\)/.exec(cell.trim());
  if (match !== null) return { name: (match[1] as string).trim(), link: (match[2] as string).trim() };
  return { name: cell.replace(/[*_`]/g, '').trim(), link: '' };
}

/**
 * Entries of a public-apis style README: every markdown table whose header has an API (or Name) column,
 * the category being the nearest `##`/`###` heading above the table.
 */
export function parseCatalogMarkdown(text: string, label: string): CatalogEntry[] {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const entries: CatalogEntry[] = [];
  let heading = '';
  let columns: string[] | undefined;
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index] as string;
    const headingMatch = /^#{1,6}\s+(.+?)\s*#*\s*$/.exec(line);
    if (headingMatch !== null) {
      heading = (headingMatch[1] as string).replace(/[*_`]/g, '').trim();
      columns = undefined;
      continue;
    }
    if (!line.includes('|')) {
      columns = undefined;
      continue;
    }
    if (SEPARATOR_ROW.test(line.trim())) continue;
    const cells = tableCells(line);
    const next = lines[index + 1] ?? '';
    if (columns === undefined) {
      // A header row is followed by a separator row.
      if (SEPARATOR_ROW.test(next.trim())) {
        const names = cells.map(normalizeKey);
        columns = names.some((n) => FIELD_ALIASES.name.includes(n)) ? names : undefined;
      }
      continue;
    }
    const row: Record<string, unknown> = {};
    columns.forEach((column, i) => {
      row[column] = cells[i] ?? '';
    });
    const nameColumn = columns.find((c) => FIELD_ALIASES.name.includes(c)) as string;
    const { name, link } = linkCell(String(row[nameColumn] ?? ''));
    if (name === '') continue;
    row[nameColumn] = name;
    if (link !== '' && !columns.some((c) => FIELD_ALIASES.link.includes(c))) row.link = link;
    entries.push(
      entryFromObject(row, `${label}: line ${index + 1}`, heading !== '' ? { category: heading } : {}),
    );
  }
  if (entries.length === 0) {
    throw new InputError(`${label}: no API tables found (expected markdown tables with an "API" column)`);
  }
  return entries;
}

/** RFC 4180 CSV: quoted fields may hold commas, quotes ("") and newlines. Returns rows of cells. */
export function parseCsvRows(text: string, label: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  let line = 1;
  let quoteLine = 0;
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  for (let i = 0; i < body.length; i++) {
    const char = body[i] as string;
    if (quoted) {
      if (char === '"') {
        if (body[i + 1] === '"') {
          cell += '"';
          i++;
        } else quoted = false;
      } else {
        if (char === '\n') line++;
        cell += char;
      }
      continue;
    }
    if (char === '"' && cell.trim() === '') {
      quoted = true;
      quoteLine = line;
      cell = '';
    } else if (char === ',') {
      row.push(cell);
      cell = '';
    } else if (char === '\n' || char === '\r') {
      if (char === '\r' && body[i + 1] === '\n') i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      line++;
    } else cell += char;
  }
  if (quoted) throw new InputError(`${label}: line ${quoteLine}: a quoted field is never closed`);
  if (cell !== '' || row.length > 0) {
    row.push(cell);
    rows.push(row);
  }
  return rows.filter((r) => r.some((c) => c.trim() !== ''));
}

/** Entries of a CSV file whose first row names the columns (name/API, description, category, link...). */
export function parseCatalogCsv(text: string, label: string): CatalogEntry[] {
  const rows = parseCsvRows(text, label);
  const header = rows[0];
  if (header === undefined) throw new InputError(`${label}: empty CSV file`);
  const columns = header.map((c) => normalizeKey(c.trim()));
  if (!columns.some((c) => FIELD_ALIASES.name.includes(c))) {
    throw new InputError(
      oneLine(
        `${label}: the header row has no name column (expected "name" or "API"; got ${header.join(', ')})`,
      ),
    );
  }
  return rows.slice(1).map((cells, index) => {
    const row: Record<string, unknown> = {};
    columns.forEach((column, i) => {
      row[column] = (cells[i] ?? '').trim();
    });
    return entryFromObject(row, `${label}: row ${index + 2}`);
  });
}

/** The format of a catalogue file, from its extension, else from its first characters. */
export function detectCatalogFormat(path: string, text: string): CatalogFormat {
  const ext = extname(path).toLowerCase();
  if (ext === '.json') return 'json';
  if (ext === '.md' || ext === '.markdown') return 'markdown';
  if (ext === '.csv') return 'csv';
  const start = text.replace(/^\uFEFF/, '').trimStart();
  if (start.startsWith('[') || start.startsWith('{')) return 'json';
  if (/^#|^\|/m.test(start) && start.includes('|')) return 'markdown';
  return 'csv';
}

/** Parses catalogue text of a known or detected format. */
export function parseCatalogText(text: string, label: string, format?: CatalogFormat): CatalogEntry[] {
  switch (format ?? detectCatalogFormat(label, text)) {
    case 'json':
      return parseCatalogJson(parseJsonText(text, label), label);
    case 'markdown':
      return parseCatalogMarkdown(text, label);
    case 'csv':
      return parseCatalogCsv(text, label);
  }
}

/** Reads a catalogue file (JSON, README markdown or CSV). Unreadable input is a one-line InputError. */
export async function readCatalog(path: string, format?: CatalogFormat): Promise<CatalogEntry[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new InputError(`${path}: ${describeFsError(error)}`, { cause: error });
  }
  if (text.trim() === '') throw new InputError(`${path}: empty file`);
  return parseCatalogText(text, path, format);
}
