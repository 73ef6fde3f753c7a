/**
 * One item: its trajectory beside the tool's documentation and the judgments, or its search tree, its
 * training conversation and tokens, and the raw JSON on demand. j/k (or ←/→) move through the filtered
 * list the item was opened from; Esc goes back to it.
 */
import type { JSX } from 'preact';
import { useEffect, useLayoutEffect, useState } from 'preact/hooks';
import type { FileInfo, ItemDetail, PositionResponse, TokensView, TurnView } from '../api.js';
import { getJson, useJson } from './fetch.js';
import { FacetBadges, Fields, Judgments, Muted, Tabs, ToolDoc, Trajectory, Verification } from './parts.js';
import { linkHandler, listParams, navigate, routeUrl, type Route } from './route.js';
import { TreeViewPanel } from './tree-view.js';

export function Conversation(props: { turns: TurnView[] }): JSX.Element {
  return (
    <ol class="turns">
      {props.turns.map((t, i) => (
        <li key={i} class={`turn role-${t.role} ${t.trained === true ? 'trained' : ''}`}>
          <span class="role">
            {t.role}
            {t.trained === true ? ' · trained' : ''}
          </span>
          <pre>{t.content}</pre>
        </li>
      ))}
    </ol>
  );
}

export function Tokens(props: { tokens: TokensView }): JSX.Element {
  const t = props.tokens;
  const [ids, setIds] = useState(false);
  return (
    <div class="tokens-view">
      <p class="tokens-stats">
        <b>{t.total}</b> tokens, <b data-trained={t.trained}>{t.trained}</b> trained (
        {t.total === 0 ? 0 : ((t.trained / t.total) * 100).toFixed(1)}%)
        {t.decoded ? '' : ' · ids only'}
        {!t.perToken && t.decoded
          ? ' · shown as trained and untrained runs (tokens do not decode one by one)'
          : ''}
        <label class="toggle">
          <input type="checkbox" checked={ids} onChange={() => setIds(!ids)} /> ids
        </label>
        <span class="legend">
          <span class="tok trained">trained</span> <span class="tok">not trained (label -100)</span>
        </span>
      </p>
      {t.note !== undefined ? <Muted>{t.note}</Muted> : null}
      <div class="tokens">
        {t.segments.map((s, i) => (
          <span key={i} class={s.trained ? 'tok trained' : 'tok'} title={`id ${s.ids.join(' ')}`}>
            {ids || s.text === undefined ? `${s.ids.join(' ')} ` : s.text}
          </span>
        ))}
      </div>
    </div>
  );
}

function Raw(props: { file: number; n: number }): JSX.Element {
  const raw = useJson<{ raw: unknown }>(`/api/files/${props.file}/items/${props.n}/raw`);
  if (raw.error !== undefined) return <p class="error">{raw.error}</p>;
  if (raw.data === undefined) return <Muted>loading…</Muted>;
  return <pre class="raw">{JSON.stringify(raw.data.raw, null, 2)}</pre>;
}

function tabsOf(detail: ItemDetail): { id: string; label: string }[] {
  const tabs: { id: string; label: string }[] = [];
  if (detail.trajectory !== undefined) {
    tabs.push({ id: 'trajectory', label: detail.tree !== undefined ? 'Chosen path' : 'Trajectory' });
  } else if (detail.judgments !== undefined) tabs.push({ id: 'judgments', label: 'Judgments' });
  if (detail.tree !== undefined) tabs.push({ id: 'tree', label: 'Search tree' });
  if (detail.tokens !== undefined) tabs.push({ id: 'tokens', label: 'Tokens' });
  if (detail.turns !== undefined) tabs.push({ id: 'conversation', label: 'Conversation' });
  if (tabs.length === 0) tabs.push({ id: 'details', label: 'Details' });
  tabs.push({ id: 'raw', label: 'Raw JSON' });
  return tabs;
}

/** The side column: judgments, verification, facts, tool documentation. */
export function SidePanels(props: { detail: ItemDetail; withDoc?: boolean }): JSX.Element {
  const d = props.detail;
  return (
    <div class="side">
      {d.judgments !== undefined ? <Judgments judgments={d.judgments} /> : null}
      {d.verification !== undefined ? <Verification verification={d.verification} /> : null}
      {d.links !== undefined ? (
        <section class="panel links">
          {d.links.map((l) => {
            const href = routeUrl({ file: String(l.file), n: l.n, filters: {}, offset: 0 });
            return (
              <a key={href} href={href} onClick={linkHandler(href)}>
                {l.label}
              </a>
            );
          })}
        </section>
      ) : null}
      <Fields detail={d} />
      {d.toolDoc !== undefined && props.withDoc !== false ? (
        <ToolDoc doc={d.toolDoc} {...(d.tool !== undefined ? { tool: d.tool } : {})} />
      ) : null}
    </div>
  );
}

/** Fetches item `id` (found by its id) or `n` (its position) of a file. */
async function fetchItem(
  file: FileInfo,
  id: string | undefined,
  n: number | undefined,
  signal: AbortSignal,
): Promise<ItemDetail> {
  let position = n;
  if (position === undefined && id !== undefined) {
    const found = `/api/files/${file.id}/find?item=${encodeURIComponent(id)}`;
    position = (await getJson<{ n: number }>(found, signal)).n;
  }
  if (position === undefined) throw new Error('no item named');
  return getJson<ItemDetail>(`/api/files/${file.id}/items/${position}`, signal);
}

/**
 * An item by `route.item` (its id) or `n` (its position), fetched from the server. While the file is
 * still being indexed, an item not read yet is waited for (tried again as the index grows), so a deep
 * link opened at start-up lands on its item.
 */
export function useItem(
  file: FileInfo,
  id: string | undefined,
  n: number | undefined,
): {
  detail?: ItemDetail;
  error?: string;
  waiting?: boolean;
} {
  const [state, setState] = useState<{ detail?: ItemDetail; error?: string; waiting?: boolean }>({});
  const retry = state.waiting === true ? `${file.version}:${file.indexing}` : '';
  useEffect(() => {
    const controller = new AbortController();
    fetchItem(file, id, n, controller.signal).then(
      (detail) => setState({ detail }),
      (error: unknown) => {
        if (controller.signal.aborted) return;
        if (file.indexing) setState({ waiting: true });
        else setState({ error: error instanceof Error ? error.message : String(error) });
      },
    );
    return () => controller.abort();
  }, [file.id, id, n, retry]);
  return state;
}

/** Back to the list, and the item's place in it with previous / next. */
function ItemHead(props: {
  file: FileInfo;
  listUrl: string;
  position: PositionResponse | undefined;
  go: (id: string | undefined) => void;
}): JSX.Element {
  const pos = props.position;
  return (
    <header class="item-head">
      <a class="back" href={props.listUrl} onClick={linkHandler(props.listUrl)}>
        ← {props.file.path}
      </a>
      <span class="nav">
        <button disabled={pos?.prev === undefined} onClick={() => props.go(pos?.prev)} title="previous (k)">
          ← prev
        </button>
        <span class="position">
          {pos !== undefined && pos.index >= 0 ? `${pos.index + 1} of ${pos.total}` : ''}
        </span>
        <button disabled={pos?.next === undefined} onClick={() => props.go(pos?.next)} title="next (j)">
          next →
        </button>
      </span>
    </header>
  );
}

/** The active tab's content: trajectory, judgments or details, tree, tokens, conversation or raw JSON. */
function ItemTab(props: { detail: ItemDetail; active: string; fileId: number }): JSX.Element {
  const { detail, active } = props;
  return (
    <>
      {active === 'trajectory' && detail.trajectory !== undefined ? (
        <div class="columns">
          <Trajectory trajectory={detail.trajectory} />
          <SidePanels detail={detail} />
        </div>
      ) : null}
      {active === 'judgments' || active === 'details' ? (
        <div class="columns">
          <div>
            <p class="item-text">{detail.title}</p>
          </div>
          <SidePanels detail={detail} />
        </div>
      ) : null}
      {active === 'tree' && detail.tree !== undefined ? <TreeViewPanel tree={detail.tree} /> : null}
      {active === 'tokens' && detail.tokens !== undefined ? <Tokens tokens={detail.tokens} /> : null}
      {active === 'conversation' && detail.turns !== undefined ? (
        <div class="columns">
          <Conversation turns={detail.turns} />
          <SidePanels detail={detail} />
        </div>
      ) : null}
      {active === 'raw' ? <Raw file={props.fileId} n={detail.n} /> : null}
    </>
  );
}

export function ItemView(props: { file: FileInfo; route: Route }): JSX.Element {
  const { file, route } = props;
  const { detail, error, waiting } = useItem(
    file,
    route.item,
    route.item === undefined ? route.n : undefined,
  );
  const params = listParams(route);
  if (detail !== undefined) params.set('n', String(detail.n));
  const position = useJson<PositionResponse>(
    detail !== undefined ? `/api/files/${file.id}/position?${params.toString()}` : undefined,
  );
  const listRoute: Route = { ...route };
  delete listRoute.item;
  delete listRoute.n;
  delete listRoute.tab;
  const listUrl = routeUrl(listRoute);
  const go = (id: string | undefined): void => {
    if (id === undefined) return;
    const next: Route = { ...route, item: id };
    delete next.n;
    navigate(next);
  };
  const pos = position.data;

  // A layout effect, so the handler that knows the item's position is attached in the same task that
  // paints it: a key pressed as soon as the position shows never reaches the previous render's handler.
  useLayoutEffect(() => {
    const onKey = (event: KeyboardEvent): void => {
      const target = event.target as HTMLElement | null;
      if (target !== null && (target.tagName === 'INPUT' || target.tagName === 'TEXTAREA')) return;
      if (event.metaKey || event.ctrlKey || event.altKey) return;
      if (event.key === 'Escape' || event.key === 'u') navigate(listUrl);
      else if (event.key === 'j' || event.key === 'ArrowRight' || event.key === 'n') go(pos?.next);
      else if (event.key === 'k' || event.key === 'ArrowLeft' || event.key === 'p') go(pos?.prev);
      else if (event.key === 'r') navigate(routeUrl({ ...route, tab: 'raw' }));
      else if (event.key === 't' && detail?.tree !== undefined) navigate(routeUrl({ ...route, tab: 'tree' }));
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  });

  if (error !== undefined) {
    return (
      <div class="item-view">
        <a href={listUrl} onClick={linkHandler(listUrl)}>
          ← list
        </a>
        <p class="error">{error}</p>
      </div>
    );
  }
  if (detail === undefined) {
    const text =
      waiting === true ? `indexing… ${file.count} items so far; this one is not read yet` : 'loading…';
    return <Muted>{text}</Muted>;
  }
  const tabs = tabsOf(detail);
  const active = tabs.some((t) => t.id === route.tab) ? (route.tab as string) : (tabs[0]?.id ?? 'raw');
  return (
    <div class="item-view" data-item={detail.id}>
      <ItemHead file={file} listUrl={listUrl} position={pos} go={go} />
      <h2 class="item-title">
        <span class="item-id">{detail.id}</span>
        {detail.tool !== undefined ? <span class="item-tool">{detail.tool}</span> : null}
        <FacetBadges facets={detail.facets} />
      </h2>
      <Tabs tabs={tabs} active={active} href={(id) => routeUrl({ ...route, tab: id })} />
      <ItemTab detail={detail} active={active} fileId={file.id} />
    </div>
  );
}
