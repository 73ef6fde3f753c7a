/**
 * The list of one file's items: search, facet filters with counts, a per-tool chart, one page of rows,
 * keyboard navigation (j/k or arrows to move, Enter to open, / to search, [ and ] for pages). For judged
 * files a second tab lists the judge/checker disagreements first.
 */
import type { JSX } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import {
  FILE_KIND_LABELS,
  type FileInfo,
  type ItemRow,
  type ListResponse,
  type SummaryResponse,
} from '../api.js';
import { useJson } from './fetch.js';
import { FacetBadges, FacetSidebar, SummaryChart, Tabs } from './parts.js';
import { linkHandler, listParams, navigate, routeUrl, type Route } from './route.js';

export const PAGE_SIZE = 50;

export function FileMeta(props: { file: FileInfo }): JSX.Element {
  const f = props.file;
  return (
    <div class="file-meta">
      <span class="kind">{FILE_KIND_LABELS[f.kind]}</span>
      {f.live ? (
        <span class="live" title="new lines appear as they are written">
          live
        </span>
      ) : null}
      {f.indexing ? <span class="indexing">indexing… {f.count} so far</span> : null}
      {Object.entries(f.meta).map(([k, v]) => (
        <span key={k} class="meta-item">
          <span class="k">{k}</span> {v}
        </span>
      ))}
      {f.error !== undefined ? <p class="error">{f.error}</p> : null}
    </div>
  );
}

function SearchBox(props: { route: Route; inputRef: { current: HTMLInputElement | null } }): JSX.Element {
  const [text, setText] = useState(props.route.q ?? '');
  useEffect(() => setText(props.route.q ?? ''), [props.route.q]);
  useEffect(() => {
    if (text === (props.route.q ?? '')) return undefined;
    const timer = setTimeout(() => {
      const route: Route = { ...props.route, offset: 0 };
      if (text.trim() === '') delete route.q;
      else route.q = text;
      navigate(route, true);
    }, 250);
    return () => clearTimeout(timer);
  }, [text]);
  return (
    <input
      ref={props.inputRef}
      class="search"
      type="search"
      placeholder="search instructions, answers, tools (/)"
      value={text}
      onInput={(e) => setText((e.target as HTMLInputElement).value)}
      aria-label="search"
    />
  );
}

/** j/k or arrows move the selection, Enter opens, / searches, [ and ] turn pages. */
function useListKeys(opts: {
  rows: readonly ItemRow[];
  total: number;
  route: Route;
  selected: number;
  setSelected: (update: (s: number) => number) => void;
  search: { current: HTMLInputElement | null };
  itemUrl: (id: string) => string;
  pageUrl: (offset: number) => string;
}): void {
  const { rows, total, route, selected, setSelected } = opts;
  // A layout effect, so the handler for the rows on screen is attached in the task that paints them:
  // a key pressed as soon as the list shows never lands before it or on a stale one.
  useLayoutEffect(() => {
    const onKey = (event: KeyboardEvent): void => {
      const target = event.target as HTMLElement | null;
      const typing = target !== null && (target.tagName === 'INPUT' || target.tagName === 'TEXTAREA');
      if (typing) {
        if (event.key === 'Escape' || event.key === 'Enter') target.blur();
        return;
      }
      if (event.metaKey || event.ctrlKey || event.altKey) return;
      if (event.key === 'j' || event.key === 'ArrowDown') {
        setSelected((s) => Math.min(s + 1, Math.max(0, rows.length - 1)));
        event.preventDefault();
      } else if (event.key === 'k' || event.key === 'ArrowUp') {
        setSelected((s) => Math.max(s - 1, 0));
        event.preventDefault();
      } else if (event.key === 'Enter' || event.key === 'o') {
        const row = rows[selected];
        if (row !== undefined) navigate(opts.itemUrl(row.id));
      } else if (event.key === '/') {
        opts.search.current?.focus();
        event.preventDefault();
      } else if (event.key === ']' && route.offset + PAGE_SIZE < total) {
        navigate(opts.pageUrl(route.offset + PAGE_SIZE));
      } else if (event.key === '[' && route.offset > 0) {
        navigate(opts.pageUrl(Math.max(0, route.offset - PAGE_SIZE)));
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  });
  useEffect(() => {
    document.querySelector('tr.selected')?.scrollIntoView({ block: 'nearest' });
  }, [selected]);
}

/** Search box, "1–50 of N" (N so far while the file is indexed) and the pager. */
function ListToolbar(props: {
  route: Route;
  /** Items in the file when the list was answered (the same snapshot as `total`). */
  count: number;
  total: number;
  partial: boolean;
  search: { current: HTMLInputElement | null };
  pageUrl: (offset: number) => string;
}): JSX.Element {
  const { route, count, total } = props;
  const prev = props.pageUrl(Math.max(0, route.offset - PAGE_SIZE));
  const next = props.pageUrl(route.offset + PAGE_SIZE);
  return (
    <div class="toolbar">
      <SearchBox route={route} inputRef={props.search} />
      <span class="count" data-total={total} data-partial={props.partial ? 'true' : undefined}>
        {total === 0
          ? 'no item'
          : `${route.offset + 1}–${Math.min(route.offset + PAGE_SIZE, total)} of ${total}`}
        {props.partial ? ' so far' : ''}
        {total !== count ? ` (${count} in the file)` : ''}
      </span>
      <span class="pager">
        <a class={route.offset > 0 ? '' : 'disabled'} href={prev} onClick={linkHandler(prev)}>
          ← prev
        </a>
        <a class={route.offset + PAGE_SIZE < total ? '' : 'disabled'} href={next} onClick={linkHandler(next)}>
          next →
        </a>
      </span>
    </div>
  );
}

/** One page of rows; the selected one (keyboard or mouse) is marked. */
function ItemsTable(props: {
  file: FileInfo;
  rows: readonly ItemRow[];
  selected: number;
  setSelected: (n: number) => void;
  itemUrl: (id: string) => string;
}): JSX.Element {
  const { file, itemUrl } = props;
  const answers = file.kind === 'toolbench-answers';
  return (
    <table class="items">
      <thead>
        <tr>
          <th>#</th>
          <th>tool</th>
          <th>{answers || file.kind === 'tooleval' ? 'query' : 'instruction'}</th>
          <th>outcome</th>
          <th title={answers ? 'model calls' : 'steps'}>{answers ? 'calls' : 'steps'}</th>
        </tr>
      </thead>
      <tbody>
        {props.rows.map((row, i) => (
          <tr
            key={row.n}
            class={`${i === props.selected ? 'selected' : ''}${row.disagree === true ? ' disagree' : ''}`}
            data-id={row.id}
            onClick={() => navigate(itemUrl(row.id))}
            onMouseEnter={() => props.setSelected(i)}
          >
            <td class="id">{row.id}</td>
            <td class="tool">{row.tool ?? ''}</td>
            <td class="title">
              <a href={itemUrl(row.id)} onClick={linkHandler(itemUrl(row.id))}>
                {row.title === '' ? '(no text)' : row.title}
              </a>
            </td>
            <td class="outcome">
              <FacetBadges facets={row.facets} />
            </td>
            <td class="steps">{row.steps ?? ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Judged files: all items, or the judge/checker disagreements first. */
function JudgedTabs(props: { route: Route }): JSX.Element {
  const { route } = props;
  return (
    <Tabs
      tabs={[
        { id: 'items', label: 'All items' },
        { id: 'disagreements', label: 'Judgments: disagreements first' },
      ]}
      active={route.sort === 'disagreements' ? 'disagreements' : 'items'}
      href={(id) => {
        const next: Route = { ...route, offset: 0 };
        if (id === 'disagreements') next.sort = 'disagreements';
        else delete next.sort;
        return routeUrl(next);
      }}
    />
  );
}

export function ListView(props: { file: FileInfo; route: Route }): JSX.Element {
  const { file, route } = props;
  const params = listParams(route);
  params.set('offset', String(route.offset));
  params.set('limit', String(PAGE_SIZE));
  // A growing file (a live log, a file still being indexed) refreshes the page as its version moves,
  // and once more when indexing ends (the counts stop being partial).
  const list = useJson<ListResponse>(
    `/api/files/${file.id}/list?${params.toString()}`,
    `${file.version}:${file.indexing}`,
  );
  const summary = useJson<SummaryResponse | null>(
    `/api/files/${file.id}/summary`,
    file.indexing ? 0 : file.version,
  );
  const [selected, setSelected] = useState(0);
  const search = useRef<HTMLInputElement | null>(null);
  const rows = list.data?.rows ?? [];
  const total = list.data?.total ?? 0;
  const partial = list.data?.partial === true;
  useEffect(() => setSelected(0), [route.offset, route.q, JSON.stringify(route.filters), route.sort]);
  const itemUrl = (id: string): string => routeUrl({ ...route, item: id });
  const pageUrl = (offset: number): string => routeUrl({ ...route, offset });
  useListKeys({ rows, total, route, selected, setSelected, search, itemUrl, pageUrl });
  return (
    <div class="list-view">
      <FacetSidebar facets={list.data?.facets ?? {}} route={route} partial={partial} />
      <main class="list-main">
        <header class="file-head">
          <h2 class="file-path">{file.path}</h2>
          <FileMeta file={file} />
        </header>
        {file.judged ? <JudgedTabs route={route} /> : null}
        {summary.data !== undefined && summary.data !== null ? (
          <details class="summary" open={summary.data.categories.length > 1}>
            <summary>Chart</summary>
            <SummaryChart summary={summary.data} route={route} />
          </details>
        ) : null}
        <ListToolbar
          route={route}
          count={list.data?.file.count ?? file.count}
          total={total}
          partial={partial}
          search={search}
          pageUrl={pageUrl}
        />
        {list.error !== undefined ? <p class="error">{list.error}</p> : null}
        <ItemsTable file={file} rows={rows} selected={selected} setSelected={setSelected} itemUrl={itemUrl} />
        {rows.length === 0 && !list.loading ? <p class="muted">Nothing matches.</p> : null}
        <p class="keys muted">
          keys: j/k or ↑/↓ move · Enter open · / search · [ ] pages · in an item: j/k next/previous · Esc back
        </p>
      </main>
    </div>
  );
}
