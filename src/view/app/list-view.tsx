/**
 * The list of one file's items: search, facet filters with counts, a per-tool chart, one page of rows,
 * keyboard navigation (j/k or arrows to move, Enter to open, / to search, [ and ] for pages). For judged
 * files a second tab lists the judge/checker disagreements first.
 */
import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { FILE_KIND_LABELS, type FileInfo, type ListResponse, type SummaryResponse } from '../api.js';
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
      {f.indexing ? <span class="indexing">reading… {f.count} so far</span> : null}
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

export function ListView(props: { file: FileInfo; route: Route }): JSX.Element {
  const { file, route } = props;
  const params = listParams(route);
  params.set('offset', String(route.offset));
  params.set('limit', String(PAGE_SIZE));
  // A growing file (a live log, a file still being read) refreshes the page as its version moves.
  const list = useJson<ListResponse>(`/api/files/${file.id}/list?${params.toString()}`, file.version);
  const summary = useJson<SummaryResponse | null>(
    `/api/files/${file.id}/summary`,
    file.indexing ? 0 : file.version,
  );
  const [selected, setSelected] = useState(0);
  const search = useRef<HTMLInputElement | null>(null);
  const rows = list.data?.rows ?? [];

  useEffect(() => setSelected(0), [route.offset, route.q, JSON.stringify(route.filters), route.sort]);

  const itemUrl = (id: string): string => routeUrl({ ...route, item: id });
  const pageUrl = (offset: number): string => routeUrl({ ...route, offset });

  useEffect(() => {
    const onKey = (event: KeyboardEvent): void => {
      const target = event.target as HTMLElement | null;
      const typing = target !== null && (target.tagName === 'INPUT' || target.tagName === 'TEXTAREA');
      if (typing) {
        if (event.key === 'Escape' || event.key === 'Enter') target.blur();
        return;
      }
      if (event.metaKey || event.ctrlKey || event.altKey) return;
      const total = list.data?.total ?? 0;
      if (event.key === 'j' || event.key === 'ArrowDown') {
        setSelected((s) => Math.min(s + 1, Math.max(0, rows.length - 1)));
        event.preventDefault();
      } else if (event.key === 'k' || event.key === 'ArrowUp') {
        setSelected((s) => Math.max(s - 1, 0));
        event.preventDefault();
      } else if (event.key === 'Enter' || event.key === 'o') {
        const row = rows[selected];
        if (row !== undefined) navigate(itemUrl(row.id));
      } else if (event.key === '/') {
        search.current?.focus();
        event.preventDefault();
      } else if (event.key === ']' && route.offset + PAGE_SIZE < total) {
        navigate(pageUrl(route.offset + PAGE_SIZE));
      } else if (event.key === '[' && route.offset > 0) {
        navigate(pageUrl(Math.max(0, route.offset - PAGE_SIZE)));
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  });

  useEffect(() => {
    document.querySelector('tr.selected')?.scrollIntoView({ block: 'nearest' });
  }, [selected]);

  const total = list.data?.total ?? 0;
  const judgedTabs = file.judged
    ? [
        { id: 'items', label: 'All items' },
        { id: 'disagreements', label: 'Judgments: disagreements first' },
      ]
    : undefined;
  return (
    <div class="list-view">
      <FacetSidebar facets={list.data?.facets ?? {}} route={route} />
      <main class="list-main">
        <header class="file-head">
          <h2 class="file-path">{file.path}</h2>
          <FileMeta file={file} />
        </header>
        {judgedTabs !== undefined ? (
          <Tabs
            tabs={judgedTabs}
            active={route.sort === 'disagreements' ? 'disagreements' : 'items'}
            href={(id) => {
              const next: Route = { ...route, offset: 0 };
              if (id === 'disagreements') next.sort = 'disagreements';
              else delete next.sort;
              return routeUrl(next);
            }}
          />
        ) : null}
        {summary.data !== undefined && summary.data !== null ? (
          <details class="summary" open={summary.data.categories.length > 1}>
            <summary>Chart</summary>
            <SummaryChart summary={summary.data} route={route} />
          </details>
        ) : null}
        <div class="toolbar">
          <SearchBox route={route} inputRef={search} />
          <span class="count" data-total={total}>
            {total === 0
              ? 'no item'
              : `${route.offset + 1}–${Math.min(route.offset + PAGE_SIZE, total)} of ${total}`}
            {total !== file.count ? ` (${file.count} in the file)` : ''}
          </span>
          <span class="pager">
            <a
              class={route.offset > 0 ? '' : 'disabled'}
              href={pageUrl(Math.max(0, route.offset - PAGE_SIZE))}
              onClick={linkHandler(pageUrl(Math.max(0, route.offset - PAGE_SIZE)))}
            >
              ← prev
            </a>
            <a
              class={route.offset + PAGE_SIZE < total ? '' : 'disabled'}
              href={pageUrl(route.offset + PAGE_SIZE)}
              onClick={linkHandler(pageUrl(route.offset + PAGE_SIZE))}
            >
              next →
            </a>
          </span>
        </div>
        {list.error !== undefined ? <p class="error">{list.error}</p> : null}
        <table class="items">
          <thead>
            <tr>
              <th>#</th>
              <th>tool</th>
              <th>
                {file.kind === 'toolbench-answers' || file.kind === 'tooleval' ? 'query' : 'instruction'}
              </th>
              <th>outcome</th>
              <th title={file.kind === 'toolbench-answers' ? 'model calls' : 'steps'}>
                {file.kind === 'toolbench-answers' ? 'calls' : 'steps'}
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row, i) => (
              <tr
                key={row.n}
                class={`${i === selected ? 'selected' : ''}${row.disagree === true ? ' disagree' : ''}`}
                data-id={row.id}
                onClick={() => navigate(itemUrl(row.id))}
                onMouseEnter={() => setSelected(i)}
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
        {rows.length === 0 && !list.loading ? <p class="muted">Nothing matches.</p> : null}
        <p class="keys muted">
          keys: j/k or ↑/↓ move · Enter open · / search · [ ] pages · in an item: j/k next/previous · Esc back
        </p>
      </main>
    </div>
  );
}
