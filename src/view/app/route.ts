/**
 * The page's state lives in its URL (deep links): which file (by the path given to `view`), which item
 * (by its id), the search, the facet filters, the order, the page, the tab, and for comparisons the
 * second file and the pair shown.
 */
import { FACET_NAMES, type FileInfo } from '../api.js';

export interface Route {
  file?: string;
  item?: string;
  /** An item by position (links between files). */
  n?: number;
  q?: string;
  filters: Record<string, string[]>;
  sort?: 'disagreements';
  offset: number;
  view?: 'compare';
  b?: string;
  only?: 'both' | 'differ';
  /** Compare: positions of the pair's two items. */
  an?: number;
  bn?: number;
  tab?: string;
}

export function parseRoute(search: string): Route {
  const params = new URLSearchParams(search);
  const filters: Record<string, string[]> = {};
  for (const name of FACET_NAMES) {
    const values = params.getAll(name).filter((v) => v !== '');
    if (values.length > 0) filters[name] = values;
  }
  const route: Route = { filters, offset: Math.max(0, Number(params.get('offset') ?? 0) || 0) };
  const text = (name: string): string | undefined => {
    const value = params.get(name);
    return value === null || value === '' ? undefined : value;
  };
  const file = text('file');
  if (file !== undefined) route.file = file;
  const item = text('item');
  if (item !== undefined) route.item = item;
  const n = text('n');
  if (n !== undefined && Number.isInteger(Number(n))) route.n = Number(n);
  const q = text('q');
  if (q !== undefined) route.q = q;
  if (params.get('sort') === 'disagreements') route.sort = 'disagreements';
  if (params.get('view') === 'compare') route.view = 'compare';
  const b = text('b');
  if (b !== undefined) route.b = b;
  const only = params.get('only');
  if (only === 'both' || only === 'differ') route.only = only;
  const an = text('an');
  if (an !== undefined && Number.isInteger(Number(an))) route.an = Number(an);
  const bn = text('bn');
  if (bn !== undefined && Number.isInteger(Number(bn))) route.bn = Number(bn);
  const tab = text('tab');
  if (tab !== undefined) route.tab = tab;
  return route;
}

export function routeUrl(route: Route): string {
  const params = new URLSearchParams();
  if (route.view === 'compare') params.set('view', 'compare');
  if (route.file !== undefined) params.set('file', route.file);
  if (route.b !== undefined) params.set('b', route.b);
  if (route.item !== undefined) params.set('item', route.item);
  if (route.n !== undefined) params.set('n', String(route.n));
  if (route.q !== undefined) params.set('q', route.q);
  for (const [name, values] of Object.entries(route.filters)) for (const v of values) params.append(name, v);
  if (route.sort !== undefined) params.set('sort', route.sort);
  if (route.only !== undefined) params.set('only', route.only);
  if (route.an !== undefined) params.set('an', String(route.an));
  if (route.bn !== undefined) params.set('bn', String(route.bn));
  if (route.tab !== undefined) params.set('tab', route.tab);
  if (route.offset > 0) params.set('offset', String(route.offset));
  const text = params.toString();
  return text === '' ? '/' : `/?${text}`;
}

const listeners = new Set<() => void>();

/** Moves to `route` (a new history entry, or in place with `replace`). */
export function navigate(route: Route | string, replace = false): void {
  const url = typeof route === 'string' ? route : routeUrl(route);
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  for (const listener of listeners) listener();
}

export function onRouteChange(listener: () => void): () => void {
  listeners.add(listener);
  window.addEventListener('popstate', listener);
  return () => {
    listeners.delete(listener);
    window.removeEventListener('popstate', listener);
  };
}

/** The open file a URL's `file` names: its id, the path given to `view`, its absolute path, or a path ending. */
export function resolveFile(files: readonly FileInfo[], name: string | undefined): FileInfo | undefined {
  if (name === undefined) return undefined;
  const bare = name.replace(/^\.\//, '');
  return (
    files.find((f) => f.path === name || f.absPath === name) ??
    files.find((f) => String(f.id) === name) ??
    files.find((f) => f.absPath.endsWith(`/${bare}`) || bare.endsWith(`/${f.path.replace(/^\.\//, '')}`)) ??
    files.find((f) => f.absPath.split('/').pop() === bare.split('/').pop())
  );
}

/** The query string of a list request for `route`. */
export function listParams(route: Route): URLSearchParams {
  const params = new URLSearchParams();
  if (route.q !== undefined) params.set('q', route.q);
  for (const [name, values] of Object.entries(route.filters)) for (const v of values) params.append(name, v);
  if (route.sort !== undefined) params.set('sort', route.sort);
  return params;
}

/** A link that moves within the app (no page load) when clicked. */
export function linkHandler(url: string): (event: MouseEvent) => void {
  return (event) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(url);
  };
}
